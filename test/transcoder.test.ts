// The transcoder library end to end with the real ffmpeg: a 1 kHz sine source
// (AAC 44.1 kHz in MPEG-TS, two capture sessions with a gap between them) is
// cut into chunks exactly as the recorder cuts them, fed to the job processor
// one chunk at a time, and the resulting HLS playlist is decoded back and
// checked for clicks, length, the gap's silence, and loudness.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCatalog } from '../shared/catalog/events.ts';
import { loadConfig } from '../shared/config.ts';
import { decodeToPcm, ffmpegBuffers, measureEbur128, probeAudio } from '../shared/ffmpeg.ts';
import { createLogger } from '../shared/log.ts';
import type { PcmReadyJob } from '../shared/queues.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import type { PutOptions, Storage } from '../shared/storage/storage.ts';
import { combineLoudness, loudnessOf, mergeLoudnessParts, mergePeaks, mergePeaksParts, peaksOf } from '../transcoder/analysis.ts';
import { f32 } from '../transcoder/decode.ts';
import { readMediaSegment } from '../transcoder/fmp4.ts';
import { FRAME, POST_ROLL, PRE_ROLL, RATE, SEGMENT_FRAMES, SEGMENT_SAMPLES } from '../transcoder/grid.ts';
import { finalizeRendition, InvalidJobError, processChunkArchived } from '../transcoder/process-chunk.ts';
import { assemble, ingestChunk, knownThrough, packMeasureRuns, transcoderKeys, type TranscoderDeps } from '../transcoder/rendition.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { testDatabase, type TestDatabase } from './helpers/db.ts';
import { fitTone, maxStep, residualsAt, rms, scanTone } from '../transcoder/verify.ts';
import { cutIntoChunks, encodeToneTs } from './helpers/tone.ts';

const EVENT = 'ev_tx1';
const GAP_SEC = 4.321;
const SRC_RATE = 44100;
const AMP = 0.125; // lavfi sine's amplitude
const TONE_A_SEC = 37;
const TONE_B_SEC = 28;
/** The source encoder's priming: the first decoded AAC frame of each session precedes the tone. */
const PRIMING_SEC = 1024 / SRC_RATE;

interface SrcChunk {
  file: string;
  session: number;
  startSec: number;
  durationSec: number;
}

let tmp: string;
let database: TestDatabase;
let catalog: EventCatalog;
let st: TranscoderState;
/** The archived chunks as their chunk-archived messages describe them. */
const sources = new Map<string, { seq: number; sessionNo: number; key: string; startSec: number; durationSec: number; sha256: string }[]>();
let storage: FsStorage;
/** Makes the next put of a matching key fail, like a worker killed (or storage failing) at that point. */
let failPut: RegExp | null = null;
let deps: TranscoderDeps;
const chunks: SrcChunk[] = [];
const pcmJobs: PcmReadyJob[] = [];
let sessionAEnd = 0;
let sessionBStart = 0;
let timelineEnd = 0;

/** One capture session: a fresh AAC encode of a 1 kHz sine, cut like the recorder cuts. */
async function makeSession(name: string, seconds: number): Promise<string[]> {
  const src = path.join(tmp, `${name}.ts`);
  await encodeToneTs(src, { seconds, sampleRate: SRC_RATE });
  return cutIntoChunks(src, path.join(tmp, name), 6);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-transcoder-'));
  database = await testDatabase('sqlite');
  catalog = new EventCatalog(database.db);
  st = new TranscoderState(database.db);
  storage = new FsStorage(path.join(tmp, 'storage'), 'http://127.0.0.1/files');
  const flaky: Storage = Object.assign(Object.create(storage), {
    put: (key: string, body: Buffer | string, opts?: PutOptions) => {
      if (failPut?.test(key)) {
        failPut = null;
        return Promise.reject(new Error(`injected failure writing ${key}`));
      }
      return storage.put(key, body, opts);
    },
  });
  deps = {
    catalog,
    state: st,
    storage: flaky,
    config: loadConfig({ REPLAY_DATA_DIR: tmp }),
    log: createLogger('test'),
    onPcmReady: (j) => {
      pcmJobs.push(j);
      return Promise.resolve();
    },
  };
  await catalog.createEvent({ id: EVENT, slug: 'tx-test', title: 'Transcoder test', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 60 });

  const [a, b] = await Promise.all([makeSession('a', TONE_A_SEC), makeSession('b', TONE_B_SEC)]);
  let t = 0;
  for (const file of a) {
    const d = (await probeAudio(file)).durationSec;
    if (d > 0) chunks.push({ file, session: 1, startSec: t, durationSec: d });
    t += d;
  }
  sessionAEnd = t;
  sessionBStart = t + GAP_SEC;
  await catalog.addGap({ eventId: EVENT, startSec: sessionAEnd, endSec: sessionBStart, reason: 'source dropped' });
  t = sessionBStart;
  for (const file of b) {
    const d = (await probeAudio(file)).durationSec;
    if (d > 0) chunks.push({ file, session: 2, startSec: t, durationSec: d });
    t += d;
  }
  timelineEnd = t;
  const list = [];
  for (const [seq, c] of chunks.entries()) {
    const bytes = fs.readFileSync(c.file);
    const key = `private/events/${EVENT}/source/s${c.session}-${path.basename(c.file)}`;
    await storage.put(key, bytes);
    list.push({
      seq,
      sessionNo: c.session,
      key,
      startSec: c.startSec,
      durationSec: c.durationSec,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    });
  }
  sources.set(EVENT, list);
});

afterAll(async () => {
  await database?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The chunk-archived message of chunk `seq`, as the recorder sends it. */
const jobFor = (seq: number, eventId = EVENT) => {
  const c = sources.get(eventId)!.find((x) => x.seq === seq)!;
  return { data: { eventId, ...c } };
};
const segRows = async () => (await st.segments(EVENT)).length;
const file = (key: string) => path.join(storage.root, ...key.split('/'));

describe('transcoder', () => {
  let decoded: Float32Array;
  let finalResult: Awaited<ReturnType<typeof finalizeRendition>>;

  it('builds the rendition chunk by chunk while live, then finalizes it', async () => {
    const rows = sources.get(EVENT)!;
    expect(rows.length).toBeGreaterThanOrEqual(11);
    // Jobs arrive one by one; two of them out of order, and one twice (a retry).
    const order = rows.map((r) => r.seq);
    [order[2], order[3]] = [order[3], order[2]];
    order.splice(6, 0, order[5]);
    let lastPlaylistSegments = 0;
    let lastTranscoded = 0;
    for (const [i, seq] of order.entries()) {
      if (i === 7) {
        // The worker dies after uploading a segment but before recording it...
        failPut = /\/work\/pcm16\//;
        const rows = await segRows();
        await expect(processChunkArchived(jobFor(seq), deps)).rejects.toThrow(/injected/);
        expect(await segRows()).toBe(rows);
        const orphan = fs.readFileSync(file(transcoderKeys.segment(EVENT, rows)));
        // ...then after recording it but before the playlist: the playlist still lists only what it listed.
        failPut = /index\.m3u8$/;
        await expect(processChunkArchived(jobFor(seq), deps)).rejects.toThrow(/injected/);
        expect(await segRows()).toBe(rows + 1);
        // the rebuilt segment is byte for byte the one uploaded by the killed attempt
        expect(fs.readFileSync(file(transcoderKeys.segment(EVENT, rows))).equals(orphan)).toBe(true);
        expect((await storage.get(transcoderKeys.playlist(EVENT))).toString().match(/^seg-\d+\.m4s$/gm)!.length).toBe(rows);
      }
      const r = await processChunkArchived(jobFor(seq), deps);
      expect(r.status).toBe('done');
      expect(r.transcodedSec).toBeGreaterThanOrEqual(lastTranscoded);
      lastTranscoded = r.transcodedSec;
      const info = await storage.head(transcoderKeys.playlist(EVENT));
      if (!info) continue;
      const text = (await storage.get(transcoderKeys.playlist(EVENT))).toString();
      expect(text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
      expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
      expect(text).not.toContain('#EXT-X-ENDLIST');
      expect(info.cacheControl).toBe('public, max-age=2');
      const listed = text.match(/^seg-\d+\.m4s$/gm) ?? [];
      expect(listed.length).toBeGreaterThanOrEqual(lastPlaylistSegments);
      lastPlaylistSegments = listed.length;
      // every listed segment exists in storage, and the playlist matches transcodedSec
      for (const s of listed) expect(fs.existsSync(file(`events/${EVENT}/hls/${s}`))).toBe(true);
      expect((listed.length * SEGMENT_FRAMES * FRAME) / RATE).toBeCloseTo(r.transcodedSec, 6);
    }
    // While live, every full segment whose timeline is known through end + 2 frames exists:
    // about all but the last one or two of the 69 s.
    expect(lastTranscoded).toBeGreaterThan(timelineEnd - (2 * SEGMENT_SAMPLES) / RATE - 0.1);
    // A retried or repeated job changes nothing.
    const before = await segRows();
    const again = await processChunkArchived(jobFor(order[order.length - 1]), deps);
    expect(again.decoded).toBe(false);
    expect(again.segments).toEqual([]);
    expect(await segRows()).toBe(before);

    // A segment lost after its work PCM was dropped is rebuilt, byte for byte, by decoding its chunks again.
    const seg1 = fs.readFileSync(file(transcoderKeys.segment(EVENT, 1)));
    expect((await st.chunk(EVENT, 0))!.pcmDeleted).toBe(true);
    await database.db
      .as<{ rendition_segments: { event_id: string; k: number } }>()
      .deleteFrom('rendition_segments')
      .where('event_id', '=', EVENT)
      .where('k', '=', 1)
      .execute();
    expect((await processChunkArchived(jobFor(order[order.length - 1]), deps)).segments).toEqual([1]);
    expect(fs.readFileSync(file(transcoderKeys.segment(EVENT, 1))).equals(seg1)).toBe(true);
    expect((await st.chunk(EVENT, 0))!.pcmDeleted).toBe(true); // dropped again
    // its row was lost, so its PCM is handed over again (the pcm-ready job id dedupes it downstream)
    expect(pcmJobs.pop()!.key).toBe(transcoderKeys.pcm16(EVENT, 1));

    // The end's message counts the chunks: one fewer than were archived, and finalizing waits for the missing message.
    await expect(finalizeRendition(EVENT, rows.length + 1, deps)).rejects.toThrow(/waiting for chunk messages: \d+ of \d+ arrived/);
    // The publisher is told the length as soon as the waveform and loudness are stored, before the rendition is closed.
    const measured: { durationSec: number; peaks: boolean; loudness: boolean }[] = [];
    finalResult = await finalizeRendition(EVENT, rows.length, deps, {
      measured: async (durationSec) => {
        const [peaks, loudness] = await Promise.all([storage.head(transcoderKeys.peaks(EVENT)), storage.head(transcoderKeys.loudness(EVENT))]);
        measured.push({ durationSec, peaks: !!peaks, loudness: !!loudness });
      },
    });
    expect(finalResult.status).toBe('done');
    // the same length the publication reads from the closed rendition, to the bit: the images drawn from it are reused
    expect(measured).toEqual([{ durationSec: finalResult.durationSec, peaks: true, loudness: true }]);
    expect(measured[0].durationSec).toBe(finalResult.audio!.durationSec);
    expect(finalResult.chunksDecoded).toBe(0); // every chunk was decoded live, once
    expect(finalResult.segmentsBuilt).toBeLessThanOrEqual(2);
    const text = (await storage.get(transcoderKeys.playlist(EVENT))).toString();
    expect(text).toContain('#EXT-X-ENDLIST');
    const segs = text.match(/^seg-\d+\.m4s$/gm)!;
    expect(segs.length).toBe(Math.ceil(Math.round((timelineEnd * RATE) / FRAME) / SEGMENT_FRAMES));
    expect((await storage.head(transcoderKeys.segment(EVENT, 0)))!.cacheControl).toContain('immutable');
    // work PCM is gone, the transcriber's PCM is there
    expect(await storage.list(`private/events/${EVENT}/work/pcm48/`)).toEqual([]);
    expect(pcmJobs.map((j) => j.key)).toEqual(segs.map((s) => transcoderKeys.pcm16(EVENT, Number(s.slice(4, -4)))));

    // Finalizing again is a no-op that produces the same playlist; late jobs are ignored.
    const again2 = await finalizeRendition(EVENT, rows.length, deps);
    expect(again2.segments).toBe(finalResult.segments);
    expect((await storage.get(transcoderKeys.playlist(EVENT))).toString()).toBe(text);
    expect((await processChunkArchived(jobFor(0), deps)).reason).toBe('finalized');
    expect(pcmJobs.length).toBe(segs.length);
  });

  it('after the end a chunk is only recorded: the end decodes it and makes the last segments', async () => {
    const id = 'ev_after_end';
    await catalog.createEvent({ id, slug: 'tx-after-end', title: 'After the end', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 60 });
    const list = [];
    for (const c of sources.get(EVENT)!) {
      const key = c.key.replace(`/events/${EVENT}/`, `/events/${id}/`);
      await storage.put(key, await storage.get(c.key));
      list.push({ ...c, key });
    }
    sources.set(id, list);
    const last = list[list.length - 1].seq;
    for (const c of list.slice(0, -1)) expect((await processChunkArchived(jobFor(c.seq, id), deps)).status).toBe('done');
    await catalog.transition(id, 'ended', { reason: 'ended by request' });
    // Runs of 4 segments merged while live (measure-runs.ts), as every 100 are in service.
    expect(await packMeasureRuns(st, id, 4)).toBeGreaterThanOrEqual(2);
    expect(await packMeasureRuns(st, id, 4)).toBe(0); // a repeated job merges nothing twice
    const late = await processChunkArchived(jobFor(last, id), deps);
    expect(late).toMatchObject({ status: 'skipped', reason: 'ended', decoded: false });
    expect((await st.inputs(id)).length).toBe(list.length); // recorded: the end's count is met at once
    expect(await st.hasInputsThrough(id, list.length)).toBe(true);
    expect(await st.hasInputsThrough(id, list.length + 1)).toBe(false);
    const done = await finalizeRendition(id, list.length, deps);
    expect(done.chunksDecoded).toBe(1);
    expect(done.segments).toBe(finalResult.segments);
    expect(done.durationSec).toBeCloseTo(finalResult.durationSec, 9);
    // The whole event's waveform and loudness from the runs and the last segments: the first event's, from every segment.
    expect((await st.runs.runs(id)).length).toBeGreaterThanOrEqual(2);
    expect(done.loudness).toEqual(finalResult.loudness);
    expect((await storage.get(transcoderKeys.peaks(id))).equals(await storage.get(transcoderKeys.peaks(EVENT)))).toBe(true);
    // The tests below read the first event's PCM messages.
    const mine = pcmJobs.filter((j) => j.eventId !== EVENT);
    expect(mine.length).toBe(done.segments);
    pcmJobs.splice(0, pcmJobs.length, ...pcmJobs.filter((j) => j.eventId === EVENT));
  });

  it('segments carry continuous decode times', async () => {
    let t = 0;
    for (const s of await st.segments(EVENT)) {
      const info = readMediaSegment(fs.readFileSync(file(s.key)));
      expect(info.sequence).toBe(s.k + 1);
      expect(info.baseDecodeTime).toBe(t);
      expect(info.sampleCount).toBe(s.frames);
      t += info.durationSamples;
    }
    expect(t).toBe(finalResult.durationSec * RATE);
    const probe = await probeAudio(file(transcoderKeys.playlist(EVENT)));
    expect(probe.codec).toBe('aac');
    expect(probe.sampleRate).toBe(48000);
    expect(probe.channels).toBe(1);
    // packet timestamps from the playlist run without a hole from 0 to the end
    expect(Math.abs(probe.durationSec - finalResult.durationSec)).toBeLessThan(1e-3);
  });

  it('decodes back as one gapless stream of the right length', async () => {
    decoded = f32(await decodeToPcm(file(transcoderKeys.playlist(EVENT)), { format: 'f32le' }));
    const durErr = decoded.length / RATE - timelineEnd;
    console.log(`duration: rendition ${(decoded.length / RATE).toFixed(4)} s, timeline ${timelineEnd.toFixed(4)} s, error ${(durErr * 1000).toFixed(2)} ms`);
    expect(Math.abs(durErr)).toBeLessThan(0.02);
    expect(Math.abs(finalResult.lengthErrorSec)).toBeLessThanOrEqual(FRAME / 2 / RATE + 1e-9);

    // Windows centred on every rendition segment boundary and every source chunk boundary, inside the sessions.
    const inside = (t: number) => (t > 0.06 && t < sessionAEnd - 0.03) || (t > sessionBStart + 0.06 && t < timelineEnd - 0.03);
    const segBounds = Array.from({ length: finalResult.segments }, (_, k) => (k * SEGMENT_SAMPLES) / RATE).filter(inside);
    const chunkBounds = chunks.map((c) => c.startSec).filter(inside);
    const atSeg = residualsAt(decoded, segBounds, { freq: 1000 });
    const atChunk = residualsAt(decoded, chunkBounds, { freq: 1000 });
    const worstSeg = Math.max(...atSeg.map((r) => r.residualDb));
    const worstChunk = Math.max(...atChunk.map((r) => r.residualDb));
    // And every 20 ms window of both sessions (10 ms hop).
    const scanA = scanTone(decoded, { freq: 1000, fromSec: 0.06, toSec: sessionAEnd - 0.03 });
    const scanB = scanTone(decoded, { freq: 1000, fromSec: sessionBStart + 0.06, toSec: timelineEnd - 0.03 });
    const stepA = maxStep(decoded, Math.round(0.06 * RATE), Math.round((sessionAEnd - 0.03) * RATE));
    const stepB = maxStep(decoded, Math.round((sessionBStart + 0.06) * RATE), Math.round((timelineEnd - 0.03) * RATE));
    console.log(
      `residual vs fitted 1 kHz tone (20 ms windows): segment boundaries worst ${worstSeg.toFixed(1)} dB (${segBounds.length}), ` +
        `chunk boundaries worst ${worstChunk.toFixed(1)} dB (${chunkBounds.length}), ` +
        `whole scan worst ${Math.max(scanA.worstDb, scanB.worstDb).toFixed(1)} dB at ${(scanA.worstDb > scanB.worstDb ? scanA : scanB).worstAtSec.toFixed(3)} s, ` +
        `median ${scanA.medianDb.toFixed(1)} dB; max sample step ${Math.max(stepA, stepB).toFixed(4)} (ideal ${((AMP * 2 * Math.PI * 1000) / RATE).toFixed(4)})`,
    );
    expect(segBounds.length).toBeGreaterThanOrEqual(9);
    expect(worstSeg).toBeLessThan(-30);
    expect(worstChunk).toBeLessThan(-30);
    // Away from the boundaries, the native AAC encoder's own noise on a pure tone
    // reaches about -30 dB in places; a click or phase step would stand well above it.
    expect(Math.max(scanA.worstDb, scanB.worstDb)).toBeLessThan(-27);
    expect(Math.max(stepA, stepB)).toBeLessThan(((AMP * 2 * Math.PI * 1000) / RATE) * 1.15);
    expect(fitTone(decoded, RATE * 10, RATE * 11, 1000).amplitude).toBeGreaterThan(AMP * 0.95);
  });

  it('fills the gap between the sessions with silence of the right length', () => {
    const gapRms = rms(decoded, Math.round((sessionAEnd + 0.03) * RATE), Math.round((sessionBStart - 0.005) * RATE));
    // The tone stops where session A's tone ends (the rest of its last AAC frame is
    // the source encoder's padding) and starts again where session B's tone starts
    // (its first AAC frame, 1024 samples at 44.1 kHz, is the source encoder's priming).
    let off = Math.round((sessionAEnd + 0.5) * RATE);
    while (Math.abs(decoded[off]) < AMP / 2) off--;
    let on = Math.round((sessionBStart - 0.5) * RATE);
    while (Math.abs(decoded[on]) < AMP / 2) on++;
    const offErr = off / RATE - (PRIMING_SEC + TONE_A_SEC);
    const onErr = on / RATE - (sessionBStart + PRIMING_SEC);
    console.log(
      `gap: rms ${(20 * Math.log10(gapRms + 1e-12)).toFixed(1)} dBFS, tone stops ${(offErr * 1000).toFixed(2)} ms from where session A's tone ends, resumes ${(onErr * 1000).toFixed(2)} ms from where session B's tone starts`,
    );
    expect(gapRms).toBeLessThan(1e-4);
    expect(Math.abs(offErr)).toBeLessThan(0.003);
    expect(Math.abs(onErr)).toBeLessThan(0.003);
  });

  it('measures loudness like ffmpeg ebur128 over the whole rendition, and writes peaks', async () => {
    const ff = await measureEbur128(file(transcoderKeys.playlist(EVENT)));
    const ours = finalResult.loudness!;
    console.log(
      `loudness: ours I ${ours.integratedLufs.toFixed(2)} LUFS LRA ${ours.lraLu.toFixed(2)} LU TP ${ours.truePeakDbtp.toFixed(2)} dBTP; ffmpeg I ${ff.integratedLufs} LRA ${ff.lraLu} TP ${ff.truePeakDbtp}`,
    );
    expect(Math.abs(ours.integratedLufs - ff.integratedLufs)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(ours.lraLu - ff.lraLu)).toBeLessThanOrEqual(0.15);
    expect(Math.abs(ours.truePeakDbtp - ff.truePeakDbtp!)).toBeLessThanOrEqual(0.5);
    const stored = JSON.parse((await storage.get(transcoderKeys.loudness(EVENT))).toString());
    expect(stored.integratedLufs).toBeCloseTo(ours.integratedLufs, 9);

    const peaks = JSON.parse((await storage.get(transcoderKeys.peaks(EVENT))).toString());
    expect(peaks).toMatchObject({ version: 2, channels: 1, sample_rate: 48000, samples_per_pixel: 2400, bits: 8 });
    expect(peaks.length).toBe(Math.ceil((finalResult.durationSec * RATE) / 2400));
    expect(peaks.data.length).toBe(2 * peaks.length);
    const px = (sec: number) => [peaks.data[2 * Math.floor(sec * 20)], peaks.data[2 * Math.floor(sec * 20) + 1]];
    // +-0.125 full scale is +-16 in 8 bits
    expect(Math.abs(px(10)[0] + 16)).toBeLessThanOrEqual(1);
    expect(Math.abs(px(10)[1] - 16)).toBeLessThanOrEqual(1);
    expect(px((sessionAEnd + sessionBStart) / 2)).toEqual([0, 0]);
  });

  it('hands the transcriber 16 kHz PCM per segment', async () => {
    expect(pcmJobs[0]).toMatchObject({ eventId: EVENT, startSec: 0 });
    let t = 0;
    for (const j of pcmJobs) {
      expect(j.startSec).toBeCloseTo(t, 9);
      const buf = await storage.get(j.key);
      expect(buf.length).toBe(Math.round(j.durationSec * 16000) * 2);
      t += j.durationSec;
    }
    expect(Math.abs(t - finalResult.durationSec)).toBeLessThan(1 / 16000 + 1e-9);
    const pcm = await storage.get(pcmJobs[1].key);
    let s = 0;
    for (let i = 0; i < pcm.length; i += 2) s += (pcm.readInt16LE(i) / 32768) ** 2;
    expect(Math.sqrt(s / (pcm.length / 2))).toBeCloseTo(AMP / Math.SQRT2, 2);
  });

  it('combines per-segment loudness and peaks exactly (against ffmpeg on the same PCM)', async () => {
    // A signal with a loudness range: a tone swelling over 13 s, plus a quieter high tone.
    const raw = path.join(tmp, 'var.f32');
    await ffmpegBuffers([
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      "aevalsrc='0.25*sin(2*PI*440*t)*(0.55+0.45*sin(2*PI*t/13))+0.05*sin(2*PI*3000*t)':s=48000:d=40",
      '-f',
      'f32le',
      '-c:a',
      'pcm_f32le',
      raw,
    ]);
    const x = f32(fs.readFileSync(raw));
    const parts = [];
    const peakParts = [];
    for (let s = 0; s < x.length; s += SEGMENT_SAMPLES) {
      const e = Math.min(x.length, s + SEGMENT_SAMPLES);
      const pcm = new Float32Array(PRE_ROLL + (e - s) + POST_ROLL);
      for (let i = 0; i < pcm.length; i++) {
        const n = s - PRE_ROLL + i;
        pcm[i] = n >= 0 && n < x.length ? x[n] : 0;
      }
      parts.push(loudnessOf({ pcm, pcmStart: s - PRE_ROLL }, s, e));
      peakParts.push(peaksOf({ pcm, pcmStart: s - PRE_ROLL }, s, e));
    }
    const ours = combineLoudness(parts, x.length);
    const ff = await measureEbur128(raw, { inputOptions: ['-f', 'f32le', '-ar', '48000', '-ac', '1'] });
    console.log(
      `loudness (varying signal): ours I ${ours.integratedLufs.toFixed(2)} LRA ${ours.lraLu.toFixed(2)} TP ${ours.truePeakDbtp.toFixed(2)}; ffmpeg I ${ff.integratedLufs} LRA ${ff.lraLu} TP ${ff.truePeakDbtp}`,
    );
    expect(Math.abs(ours.integratedLufs - ff.integratedLufs)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(ours.lraLu - ff.lraLu)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(ours.truePeakDbtp - ff.truePeakDbtp!)).toBeLessThanOrEqual(0.1);
    // peaks merged from segments equal peaks of the whole signal at once
    const whole = mergePeaks([peaksOf({ pcm: x, pcmStart: 0 }, 0, x.length)], x.length);
    expect(mergePeaks(peakParts, x.length)).toEqual(whole);
    // merged run by run while live (measure-runs.ts): the same figures, to the last bit
    const inRuns = <T>(all: T[], n: number, merge: (p: T[]) => T) => {
      const out: T[] = [];
      for (let i = 0; i < all.length; i += n) out.push(merge(all.slice(i, i + n)));
      return out;
    };
    for (const n of [2, 3, 100]) {
      expect(combineLoudness(inRuns(parts, n, mergeLoudnessParts), x.length)).toEqual(ours);
      expect(mergePeaks(inRuns(peakParts, n, mergePeaksParts), x.length)).toEqual(whole);
    }
  });

  it.each([
    // AAC may code bands as noise (PNS), which the decoder fills from a running
    // random generator: restarting the decoder changes that noise, ~-80 dB here.
    ['AAC 48 kHz stereo', ['-ar', '48000', '-ac', '2', '-c:a', 'aac', '-b:a', '96k'], 1e-3],
    ['MP3 44.1 kHz mono', ['-ar', '44100', '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '96k'], 1e-6],
  ] as const)('decodes %s chunks onto the timeline exactly as one continuous decode', async (name, codec, tolerance) => {
    const id = `ev_codec_${name.slice(0, 3).toLowerCase()}`;
    const src = path.join(tmp, `${id}.ts`);
    await ffmpegBuffers([
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=1000:sample_rate=48000:duration=13',
      '-af',
      'volume=0.8',
      ...codec,
      '-f',
      'mpegts',
      src,
    ]);
    const files = await cutIntoChunks(src, path.join(tmp, id), 4);
    await catalog.createEvent({ id, slug: id, title: name, source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 60 });
    let t = 0;
    const list = [];
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      const d = (await probeAudio(file)).durationSec;
      if (!d) continue;
      const key = `private/events/${id}/source/s1-${path.basename(file)}`;
      await storage.put(key, bytes);
      list.push({ seq: list.length, sessionNo: 1, key, startSec: t, durationSec: d, sha256: '0'.repeat(64) });
      t += d;
    }
    sources.set(id, list);
    for (const c of list) await st.addInput(id, c);
    for (const c of list) await ingestChunk(deps, id, c.seq);
    const end = await knownThrough(st, id, true);
    expect(Math.abs(end / RATE - t)).toBeLessThan(1e-3);
    const timeline = await assemble(deps, id, 0, end);
    const stereo = name.includes('stereo');
    const whole = f32(await decodeToPcm(src, { format: 'f32le', channels: 1, filter: `${stereo ? 'pan=mono|c0=0.5*c0+0.5*c1,' : ''}aresample=48000` }));
    let worst = 0;
    for (let n = 0; n < Math.min(whole.length, timeline.length) - 64; n++) worst = Math.max(worst, Math.abs(whole[n] - timeline[n]));
    console.log(`${name}: ${list.length} chunks, timeline ${(end / RATE).toFixed(4)} s, max |timeline - continuous decode| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(tolerance);
  });

  it('validates jobs and skips events that are gone', async () => {
    await expect(processChunkArchived({ data: { eventId: EVENT, seq: -1 } }, deps)).rejects.toBeInstanceOf(InvalidJobError);
    await expect(processChunkArchived({ data: { ...jobFor(0).data, key: '../etc/passwd' } }, deps)).rejects.toBeInstanceOf(InvalidJobError);
    // Another event's archive is not a key this event's message may name.
    await expect(processChunkArchived({ data: { ...jobFor(0).data, key: 'private/events/ev_other/source/s1-c000000.ts' } }, deps)).rejects.toBeInstanceOf(
      InvalidJobError,
    );
    const gone = jobFor(0).data;
    const r = await processChunkArchived({ data: { ...gone, eventId: 'ev_gone', key: gone.key.replace(EVENT, 'ev_gone') } }, deps);
    expect(r).toMatchObject({ status: 'skipped', reason: 'event-gone' });
    expect((await finalizeRendition('ev_gone', 3, deps)).status).toBe('skipped');
  });
});
