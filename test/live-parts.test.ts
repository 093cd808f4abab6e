// The live playlist's partial segments (LL-HLS, transcoder/live-parts.ts) with
// the real ffmpeg: a 1 kHz sine (AAC 44.1 kHz in MPEG-TS) cut into 2 s chunks
// as the recorder cuts them, fed to the job processor one chunk at a time.
// While live, the segment at the edge is listed part by part before it is
// whole, with the LL-HLS tags a player needs; any way a player goes through
// parts and segments decodes as one gapless tone; at the end the playlist is
// the classic VOD one and the parts are gone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCatalog } from '../shared/catalog/events.ts';
import { loadConfig } from '../shared/config.ts';
import { decodeToPcm, probeAudio } from '../shared/ffmpeg.ts';
import { createLogger } from '../shared/log.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { f32 } from '../transcoder/decode.ts';
import { readMediaSegment } from '../transcoder/fmp4.ts';
import { FRAME, PART_FRAMES, PARTS_PER_SEGMENT, RATE, SEGMENT_FRAMES } from '../transcoder/grid.ts';
import { finalizeRendition, processChunkArchived } from '../transcoder/process-chunk.ts';
import { transcoderKeys, type TranscoderDeps } from '../transcoder/rendition.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { maxStep, residualsAt, scanTone } from '../transcoder/verify.ts';
import { testDatabase, type TestDatabase } from './helpers/db.ts';
import { cutIntoChunks, encodeToneTs } from './helpers/tone.ts';

const EVENT = 'ev_parts1';
const SOURCE_SEC = 27;
const CHUNK_SEC = 2;
const AMP = 0.125;

let tmp: string;
let database: TestDatabase;
let storage: FsStorage;
let st: TranscoderState;
let deps: TranscoderDeps;
const jobs: { data: { eventId: string; seq: number; sessionNo: number; key: string; startSec: number; durationSec: number; sha256: string } }[] = [];
/** Every live playlist uploaded, in order, with whether each part it listed existed in storage then. */
const playlists: { text: string; missing: string[] }[] = [];
/** The bytes of every part and segment as first listed (parts are deleted later). */
const media = new Map<string, Buffer>();
let finalText = '';

const file = (key: string) => path.join(storage.root, ...key.split('/'));
const hlsDir = () => path.dirname(file(transcoderKeys.playlist(EVENT)));
const partUris = (text: string) =>
  [...text.matchAll(/^#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)",INDEPENDENT=YES$/gm)].map((m) => ({ dur: Number(m[1]), uri: m[2] }));
const segmentUris = (text: string) => text.match(/^seg-\d+\.m4s$/gm) ?? [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-live-parts-'));
  database = await testDatabase('sqlite');
  const catalog = new EventCatalog(database.db);
  st = new TranscoderState(database.db);
  storage = new FsStorage(path.join(tmp, 'storage'), 'http://127.0.0.1/files');
  deps = { catalog, state: st, storage, config: loadConfig({ REPLAY_DATA_DIR: tmp }), log: createLogger('test') };
  await catalog.createEvent({ id: EVENT, slug: 'parts-test', title: 'Parts test', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 60 });
  const src = path.join(tmp, 'tone.ts');
  await encodeToneTs(src, { seconds: SOURCE_SEC, sampleRate: 44100 });
  let t = 0;
  for (const [seq, f] of (await cutIntoChunks(src, path.join(tmp, 'chunks'), CHUNK_SEC)).entries()) {
    const d = (await probeAudio(f)).durationSec;
    const bytes = fs.readFileSync(f);
    const key = `private/events/${EVENT}/source/s1-${path.basename(f)}`;
    await storage.put(key, bytes);
    jobs.push({
      data: { eventId: EVENT, seq, sessionNo: 1, key, startSec: t, durationSec: d, sha256: crypto.createHash('sha256').update(bytes).digest('hex') },
    });
    t += d;
  }
});

afterAll(async () => {
  await database?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('live partial segments', () => {
  it('lists the live edge part by part before its segment is whole, then closes as the classic playlist', async () => {
    expect(jobs.length).toBeGreaterThanOrEqual(12);
    for (const job of jobs) {
      await processChunkArchived(job, deps);
      const pl = file(transcoderKeys.playlist(EVENT));
      if (!fs.existsSync(pl)) continue;
      const text = fs.readFileSync(pl, 'utf8');
      if (playlists.length && playlists[playlists.length - 1].text === text) continue;
      const missing: string[] = [];
      for (const uri of [...partUris(text).map((p) => p.uri), ...segmentUris(text)]) {
        const f = path.join(hlsDir(), uri);
        if (!fs.existsSync(f)) missing.push(uri);
        else if (!media.has(uri)) media.set(uri, fs.readFileSync(f));
      }
      playlists.push({ text, missing });
    }
    const target = (FRAME * PART_FRAMES) / RATE;
    let partsBeforeSegment = 0;
    for (const [i, { text, missing }] of playlists.entries()) {
      expect(missing, `playlist ${i} lists objects that do not exist`).toEqual([]);
      expect(text).not.toContain('#EXT-X-ENDLIST');
      const parts = partUris(text);
      if (!parts.length) continue;
      // LL-HLS tags: a part target no part exceeds, and a hold-back of at least 3 part targets.
      const partTarget = Number(/^#EXT-X-PART-INF:PART-TARGET=([\d.]+)$/m.exec(text)![1]);
      const holdBack = Number(/^#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=([\d.]+)$/m.exec(text)![1]);
      expect(partTarget).toBeCloseTo(target, 5);
      for (const p of parts) expect(p.dur).toBeLessThanOrEqual(partTarget);
      expect(holdBack).toBeGreaterThanOrEqual(3 * partTarget);
      // ...and past one reload: a player that cannot block on a static playlist reloads it every target duration.
      expect(holdBack).toBeGreaterThan(Number(/^#EXT-X-TARGETDURATION:(\d+)$/m.exec(text)![1]));
      // Parts come right before their parent's EXTINF, all of them, in order;
      // after the last segment, the parts of the one being made, from part 0.
      const lines = text.trim().split('\n');
      const segs = segmentUris(text).map((u) => Number(u.slice(4, -4)));
      const lastSeg = segs[segs.length - 1];
      const byParent = new Map<number, number[]>();
      for (const p of parts) {
        const [, k, n] = /^seg-(\d+)\.(\d+)\.m4s$/.exec(p.uri)!.map(Number);
        byParent.set(k, [...(byParent.get(k) ?? []), n]);
      }
      for (const [k, ns] of byParent) {
        expect(ns).toEqual([...Array(ns.length).keys()]);
        if (k <= lastSeg) {
          expect(ns.length).toBe(PARTS_PER_SEGMENT);
          const at = lines.indexOf(`seg-${k}.m4s`);
          expect(lines[at - 2]).toContain(`URI="seg-${k}.${PARTS_PER_SEGMENT - 1}.m4s"`);
        } else {
          expect(k).toBe(lastSeg + 1);
          partsBeforeSegment++;
        }
      }
    }
    // Every segment after the first showed up as parts before it was listed whole.
    const segmentsLive = segmentUris(playlists[playlists.length - 1].text).length;
    expect(segmentsLive).toBeGreaterThanOrEqual(3);
    for (let k = 1; k < segmentsLive; k++) expect(media.has(`seg-${k}.0.m4s`), `segment ${k} had no part listed`).toBe(true);
    expect(partsBeforeSegment).toBeGreaterThanOrEqual(segmentsLive);
    // Parts that fell out of the playlist are deleted while live.
    const left = fs.readdirSync(hlsDir()).filter((f) => /^seg-\d+\.\d+\.m4s$/.test(f));
    expect(left.length).toBeLessThan([...media.keys()].filter((u) => /\.\d+\.m4s$/.test(u)).length);

    await finalizeRendition(EVENT, jobs.length, deps);
    finalText = fs.readFileSync(file(transcoderKeys.playlist(EVENT)), 'utf8');
    expect(finalText).toContain('#EXT-X-ENDLIST');
    expect(finalText).not.toMatch(/#EXT-X-PART|#EXT-X-SERVER-CONTROL/);
    expect(fs.readdirSync(hlsDir()).filter((f) => /^seg-\d+\.\d+\.m4s$/.test(f))).toEqual([]);
    expect(await st.parts.parts(EVENT)).toEqual([]);
    for (const uri of segmentUris(finalText)) if (!media.has(uri)) media.set(uri, fs.readFileSync(path.join(hlsDir(), uri)));
  });

  it('plays gapless through parts, segments and any mix of them', async () => {
    const segs = segmentUris(finalText);
    const init = fs.readFileSync(path.join(hlsDir(), 'init.mp4'));
    const withParts = (k: number) => [...Array(PARTS_PER_SEGMENT).keys()].every((p) => media.has(`seg-${k}.${p}.m4s`));
    const asParts = (k: number) => [...Array(PARTS_PER_SEGMENT).keys()].map((p) => `seg-${k}.${p}.m4s`);
    const ways: Record<string, string[]> = {
      'parts wherever made': segs.flatMap((u, k) => (withParts(k) ? asParts(k) : [u])),
      'parts and segments alternating': segs.flatMap((u, k) => (k % 2 === 0 && withParts(k) ? asParts(k) : [u])),
      'segments and parts alternating': segs.flatMap((u, k) => (k % 2 === 1 && withParts(k) ? asParts(k) : [u])),
    };
    expect(ways['parts wherever made'].length).toBeGreaterThan(segs.length + 2 * PARTS_PER_SEGMENT);
    const reference = f32(await decodeToPcm(file(transcoderKeys.playlist(EVENT)), { format: 'f32le' }));
    for (const [way, uris] of Object.entries(ways)) {
      // Decode times run on without a hole, unit after unit.
      let t = 0;
      const bounds: number[] = [];
      for (const uri of uris) {
        const info = readMediaSegment(media.get(uri)!);
        expect(info.baseDecodeTime, `${way}: ${uri}`).toBe(t);
        t += info.durationSamples;
        bounds.push(t / RATE);
      }
      const mp4 = path.join(tmp, `${way.replace(/\W+/g, '-')}.mp4`);
      fs.writeFileSync(mp4, Buffer.concat([init, ...uris.map((u) => media.get(u)!)]));
      const pcm = f32(await decodeToPcm(mp4, { format: 'f32le' }));
      expect(pcm.length, way).toBe(reference.length);
      const inside = bounds.filter((b) => b > 0.06 && b < SOURCE_SEC - 0.1);
      const worstJoin = Math.max(...residualsAt(pcm, inside, { freq: 1000 }).map((r) => r.residualDb));
      const scan = scanTone(pcm, { freq: 1000, fromSec: 0.06, toSec: SOURCE_SEC - 0.1 });
      const step = maxStep(pcm, Math.round(0.06 * RATE), Math.round((SOURCE_SEC - 0.1) * RATE));
      console.log(
        `${way}: ${uris.length} units, ${inside.length} joins, worst join ${worstJoin.toFixed(1)} dB, worst window ${scan.worstDb.toFixed(1)} dB, max step ${step.toFixed(4)}`,
      );
      expect(inside.length).toBeGreaterThan(SEGMENT_FRAMES / PART_FRAMES);
      expect(worstJoin).toBeLessThan(-30);
      expect(scan.worstDb).toBeLessThan(-27);
      expect(step).toBeLessThan(((AMP * 2 * Math.PI * 1000) / RATE) * 1.15);
    }
  });
});
