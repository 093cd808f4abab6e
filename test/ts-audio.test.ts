// The in-process MPEG-TS audio reader and writer (recorder/ts-audio.ts,
// recorder/ts-mux.ts) against ffmpeg on real ffmpeg-made segments: what they
// archive must be what ffmpeg's stream-copy remux archived (same duration and
// first timestamp, every packet's PTS, the same decoded PCM), and what they do
// not take on (other codecs, lost packets, a timestamp jump, garbage) must be
// refused cleanly so the recorder falls back to ffmpeg.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeToPcm, ffmpegBuffers, probeAudio } from '../shared/ffmpeg.ts';
import { HlsCapture } from '../recorder/hls-capture.ts';
import type { Archiver, SpooledSegment } from '../recorder/archiver.ts';
import { looksLikeTs, readTsAudio, TS_PACKET, TsAudioUnsupported } from '../recorder/ts-audio.ts';
import { FFMPEG_MUX_OFFSET_TICKS, muxAdtsToTs } from '../recorder/ts-mux.ts';
import { createLogger } from '../shared/log.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-ts-audio-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sine = (rate: number, seconds: number, freq = 440) => ['-f', 'lavfi', '-i', `sine=f=${freq}:r=${rate}:d=${seconds}`];

/** Runs ffmpeg to make a fixture; returns the path. */
async function make(name: string, args: string[]): Promise<string> {
  const out = path.join(dir, name);
  await ffmpegBuffers(['-loglevel', 'error', ...args, '-y', out]);
  return out;
}

/** HLS segments of a tone, as ffmpeg's HLS muxer cuts them (what live sources serve). */
async function hlsSegments(prefix: string, rate: number, channels: number, seconds: number): Promise<string[]> {
  await make(`${prefix}.m3u8`, [
    ...sine(rate, seconds),
    '-ac',
    String(channels),
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_playlist_type',
    'event',
    '-hls_segment_filename',
    path.join(dir, `${prefix}-%03d.ts`),
  ]);
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** What the recorder archived before: ffmpeg's stream-copy remux of the segment's first audio stream. */
async function ffmpegRemux(file: string): Promise<Buffer> {
  return (await ffmpegBuffers(['-loglevel', 'error', '-i', file, '-map', '0:a:0', '-c', 'copy', '-copyts', '-f', 'mpegts', 'pipe:1'])).stdout;
}

/** Every audio packet's PTS and duration as ffprobe lists them. */
async function packetTimes(ts: Buffer): Promise<string[]> {
  const f = path.join(dir, `probe-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(f, ts);
  try {
    const { stdout } = await ffprobeCsv(f);
    return stdout
      .split('\n')
      .map((l) => l.split(',').slice(0, 2).join(','))
      .filter(Boolean);
  } finally {
    fs.rmSync(f, { force: true });
  }
}

const execFileP = promisify(execFile);

function ffprobeCsv(file: string): Promise<{ stdout: string }> {
  return execFileP('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts,duration', '-of', 'csv=p=0', file]);
}

async function probeBuffer(ts: Buffer) {
  const f = path.join(dir, `p-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(f, ts);
  try {
    return await probeAudio(f);
  } finally {
    fs.rmSync(f, { force: true });
  }
}

const pcm = (ts: Buffer) => decodeToPcm(ts, { format: 's16le' });

/** Asserts the in-process chunk of a segment is ffmpeg's in every way the pipeline can see. */
async function expectSameAsFfmpeg(file: string): Promise<ReturnType<typeof readTsAudio>> {
  const src = fs.readFileSync(file);
  const audio = readTsAudio(src);
  const ours = muxAdtsToTs(audio.frames);
  const theirs = await ffmpegRemux(file);
  const [pOurs, pTheirs] = await Promise.all([probeBuffer(ours), probeBuffer(theirs)]);
  expect(Math.abs(audio.durationSec - pTheirs.durationSec), 'duration vs ffprobe').toBeLessThan(0.0005);
  expect(Math.abs(pOurs.durationSec - pTheirs.durationSec)).toBeLessThan(0.0005);
  expect([pOurs.codec, pOurs.sampleRate, pOurs.channels, pOurs.packets]).toEqual([pTheirs.codec, pTheirs.sampleRate, pTheirs.channels, pTheirs.packets]);
  // First PTS: the source's (ffmpeg's remux writes it 1.4 s later, and so do we).
  const srcFirst = (await packetTimes(src))[0].split(',')[0];
  expect(audio.firstPts).toBe(Number(srcFirst));
  expect(await packetTimes(ours)).toEqual(await packetTimes(theirs));
  expect(Number((await packetTimes(ours))[0].split(',')[0])).toBe((audio.firstPts + FFMPEG_MUX_OFFSET_TICKS) % 2 ** 33);
  expect((await pcm(ours)).equals(await pcm(theirs)), 'decoded PCM').toBe(true);
  return audio;
}

/** The PES packets of a PID that span more than one TS packet (payload_unit_start to the next). */
function pesSpans(ts: Buffer, pid: number): number[] {
  const spans: number[] = [];
  for (let off = 0; off + TS_PACKET <= ts.length; off += TS_PACKET) {
    if ((((ts[off + 1] & 0x1f) << 8) | ts[off + 2]) !== pid) continue;
    if (ts[off + 1] & 0x40) spans.push(1);
    else if (spans.length) spans[spans.length - 1]++;
  }
  return spans;
}

describe('MPEG-TS audio read in-process, as ffmpeg reads it', () => {
  it('AAC 44.1 kHz mono HLS segments: duration, first PTS, packet times and PCM equal to ffmpeg’s; a run decodes the same', async () => {
    const segs = await hlsSegments('m44', 44100, 1, 7);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    for (const f of segs) {
      const a = await expectSameAsFfmpeg(f);
      expect([a.sampleRate, a.channels]).toEqual([44100, 1]);
    }
    // Chunks of one run are concatenated for the transcoder: the whole run decodes to the same PCM.
    const ours = Buffer.concat(segs.map((f) => muxAdtsToTs(readTsAudio(fs.readFileSync(f)).frames)));
    const theirs = Buffer.concat(await Promise.all(segs.map(ffmpegRemux)));
    expect((await pcm(ours)).equals(await pcm(theirs))).toBe(true);
    expect(Math.abs((await probeBuffer(ours)).durationSec - (await probeBuffer(theirs)).durationSec)).toBeLessThan(0.0005);
  });

  it('AAC 48 kHz stereo HLS segments', async () => {
    for (const f of await hlsSegments('s48', 48000, 2, 5)) {
      const a = await expectSameAsFfmpeg(f);
      expect([a.sampleRate, a.channels]).toEqual([48000, 2]);
    }
  });

  it('keeps only the audio of a segment that also carries video (PCR on the video PID), PES spanning many packets', async () => {
    const f = await make('av.ts', [
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=25:d=3',
      ...sine(48000, 3),
      '-c:v',
      'mpeg2video',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-ac',
      '2',
      '-pes_payload_size',
      '3000',
      '-f',
      'mpegts',
    ]);
    const src = fs.readFileSync(f);
    // ffmpeg's default PIDs: video 0x100, audio 0x101.
    expect(Math.max(...pesSpans(src, 0x101))).toBeGreaterThan(2);
    await expectSameAsFfmpeg(f);
    const ours = muxAdtsToTs(readTsAudio(src).frames);
    const streams = (await ffmpegBuffers(['-loglevel', 'error', '-i', 'pipe:0', '-map', '0', '-c', 'copy', '-f', 'null', '-'], { stdin: ours })).stderr;
    expect(streams).toBe('');
    expect((await probeBuffer(ours)).codec).toBe('aac');
  });

  it('unwraps a 33-bit PTS that wraps inside the segment', async () => {
    // 2^33 ticks is 95443.7 s: a source that started 95442 s in wraps 1.7 s into this segment.
    const f = await make('wrap.ts', [...sine(44100, 4), '-ac', '1', '-c:a', 'aac', '-output_ts_offset', '95442', '-f', 'mpegts']);
    const a = readTsAudio(fs.readFileSync(f));
    expect(a.durationSec).toBeCloseTo((a.frames.length * 1024) / 44100, 3);
    const pOurs = await probeBuffer(muxAdtsToTs(a.frames));
    expect(Math.abs(pOurs.durationSec - a.durationSec)).toBeLessThan(0.0005);
    expect((await pcm(muxAdtsToTs(a.frames))).equals(await pcm(await ffmpegRemux(f)))).toBe(true);
  });
});

describe('what the reader refuses (the recorder remuxes those with ffmpeg)', () => {
  it('a timestamp jump inside the segment (two streams spliced without a discontinuity tag)', async () => {
    const a = await make('jump-a.ts', [...sine(44100, 2), '-ac', '1', '-c:a', 'aac', '-f', 'mpegts']);
    const b = await make('jump-b.ts', [...sine(44100, 2), '-ac', '1', '-c:a', 'aac', '-output_ts_offset', '100', '-f', 'mpegts']);
    const spliced = Buffer.concat([fs.readFileSync(a), fs.readFileSync(b)]);
    expect(() => readTsAudio(spliced)).toThrow(TsAudioUnsupported);
    expect(() => readTsAudio(spliced)).toThrow(/timestamp jump|continuity/);
  });

  it('a lost audio packet (continuity counter jump)', async () => {
    const f = await make('cc.ts', [...sine(44100, 2), '-ac', '1', '-c:a', 'aac', '-f', 'mpegts']);
    const src = fs.readFileSync(f);
    // Drop the third audio packet (PID 0x100).
    let seen = 0;
    const kept: Buffer[] = [];
    for (let off = 0; off < src.length; off += TS_PACKET) {
      const pkt = src.subarray(off, off + TS_PACKET);
      if ((((pkt[1] & 0x1f) << 8) | pkt[2]) === 0x100 && ++seen === 3) continue;
      kept.push(pkt);
    }
    expect(() => readTsAudio(Buffer.concat(kept))).toThrow(/continuity counter/);
  });

  it('MPEG audio (MP2 and MP3) in MPEG-TS', async () => {
    for (const codec of ['mp2', 'libmp3lame']) {
      const f = await make(`${codec}.ts`, [...sine(44100, 1), '-c:a', codec, '-f', 'mpegts']);
      expect(() => readTsAudio(fs.readFileSync(f))).toThrow(/stream type 0x(3|4) is not AAC/);
    }
  });

  it('video only, fMP4, garbage, torn packets', async () => {
    const v = await make('v.ts', ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:d=1', '-c:v', 'mpeg2video', '-f', 'mpegts']);
    expect(() => readTsAudio(fs.readFileSync(v))).toThrow(/no audio stream/);
    const mp4 = await make('a.mp4', [...sine(44100, 1), '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4']);
    expect(looksLikeTs(fs.readFileSync(mp4))).toBe(false);
    expect(() => readTsAudio(fs.readFileSync(mp4))).toThrow(TsAudioUnsupported);
    expect(() => readTsAudio(Buffer.alloc(0))).toThrow(TsAudioUnsupported);
    expect(() => readTsAudio(Buffer.from('#EXTM3U\n'))).toThrow(TsAudioUnsupported);
    const good = fs.readFileSync(await make('torn.ts', [...sine(44100, 1), '-c:a', 'aac', '-f', 'mpegts']));
    expect(() => readTsAudio(good.subarray(0, good.length - 100))).toThrow(/whole number/);
    // Sync bytes in the right places, nothing else meaningful.
    const fake = Buffer.alloc(TS_PACKET * 50, 0xab);
    for (let i = 0; i < 50; i++) fake[i * TS_PACKET] = 0x47;
    expect(() => readTsAudio(fake)).toThrow(TsAudioUnsupported);
  });

  it('hostile bytes: thousands of random mutations of a real segment only ever end in TsAudioUnsupported, quickly', async () => {
    const good = fs.readFileSync(await make('fuzz.ts', [...sine(48000, 2), '-ac', '2', '-c:a', 'aac', '-f', 'mpegts']));
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const t0 = Date.now();
    let refused = 0;
    for (let k = 0; k < 3000; k++) {
      const b = Buffer.from(good);
      const n = 1 + Math.floor(rnd() * 8);
      // Mutate headers more than payload: the first bytes of packets.
      for (let j = 0; j < n; j++) b[Math.floor(rnd() * (b.length / TS_PACKET)) * TS_PACKET + Math.floor(rnd() * 24)] = Math.floor(rnd() * 256);
      try {
        const a = readTsAudio(b);
        expect(a.durationSec).toBeGreaterThan(0);
        expect(a.durationSec).toBeLessThan(10);
        muxAdtsToTs(a.frames);
      } catch (err) {
        expect(err).toBeInstanceOf(TsAudioUnsupported);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});

describe('HlsCapture', () => {
  /** An archiver that only collects what it is given. */
  function collector(): { archiver: Archiver; got: SpooledSegment[] } {
    const got: SpooledSegment[] = [];
    const archiver = { submit: (item: SpooledSegment) => got.push(item) } as unknown as Archiver;
    return { archiver, got };
  }

  it('archives AAC TS segments in-process and the rest through ffmpeg, with the durations ffprobe measures', async () => {
    const { archiver, got } = collector();
    const spool = path.join(dir, 'spool');
    const cap = new HlsCapture({ eventId: 'ev_0123456789abcdef', dir: spool, archiver, boundLost: (x) => x, log: createLogger('test') });
    const [seg] = await hlsSegments('cap', 44100, 1, 3);
    const mp3 = fs.readFileSync(await make('cap-mp3.ts', [...sine(44100, 2), '-c:a', 'libmp3lame', '-f', 'mpegts']));
    expect(await cap.take({ type: 'data', data: fs.readFileSync(seg), seq: 7, durationSec: 2 })).toBe(true);
    expect(await cap.take({ type: 'data', data: mp3, seq: 8, durationSec: 2 })).toBe(true);
    expect(await cap.take({ type: 'data', data: Buffer.from('not audio at all'), seq: 9, durationSec: 2 })).toBe(false);
    expect(got.map((g) => g.mediaSeq)).toEqual([7, 8]);
    for (const g of got) {
      const p = await probeAudio(path.join(spool, g.name));
      expect(Math.abs(p.durationSec - g.durationSec)).toBeLessThan(0.0005);
    }
    expect((await probeAudio(path.join(spool, got[1].name))).codec).toBe('mp3');
    expect(fs.readFileSync(path.join(spool, got[0].name)).equals(muxAdtsToTs(readTsAudio(fs.readFileSync(seg)).frames))).toBe(true);
  });
});
