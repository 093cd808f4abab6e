// audio.m4a written during the event (transcoder/progressive-m4a.ts), on both
// storage drivers (fs, and S3 against s3rver): parts uploaded as segments are
// made, the header and the join at the end. The file must be a faststart MP4
// that ffprobe times exactly, that decodes to the same samples as the HLS
// rendition it comes from, and that Chromium plays and seeks; the end must
// read only the segments after the last part; every step must survive being
// repeated.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../shared/layout.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { probeInsertRange } from '../shared/storage/fs-join.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { silentLoudness, silentPeaks } from '../transcoder/analysis.ts';
import { encodeSegment, renditionInit } from '../transcoder/encode.ts';
import { FRAME, POST_ROLL, PRE_ROLL, RATE, SEGMENT_FRAMES } from '../transcoder/grid.ts';
import { chirpPcm } from './helpers/audio.ts';
import { finishM4a, packM4aParts } from '../transcoder/progressive-m4a.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { audioPlaysAndSeeks, launchChromium } from './helpers/browser.ts';
import { testDatabase, type TestDatabase } from './helpers/db.ts';
import { s3rverProcess, s3rverStorage, type S3rverProcess } from './helpers/s3rver.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-m4a-'));
/** 7 full segments and a short last one: 42.6 s. */
const SEGMENTS = 8;
const LAST_FRAMES = 101;
const TOTAL_FRAMES = (SEGMENTS - 1) * SEGMENT_FRAMES + LAST_FRAMES;
/** Small parts (s3rver and fs take any size), so the test has several: about two segments each. */
const PART_BYTES = 90_000;

const ffprobe = (args: string[]) =>
  execFileSync('ffprobe', ['-v', 'error', ...args])
    .toString()
    .trim();
const decode = (file: string) => execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', 'pipe:1'], { maxBuffer: 64 << 20 });

/** Top-level boxes of an MP4 file, in order. */
function topBoxes(buf: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    let size = buf.readUInt32BE(i);
    if (size === 1) size = Number(buf.readBigUInt64BE(i + 8));
    out.push(buf.toString('latin1', i + 4, i + 8));
    if (size < 8) break;
    i += size;
  }
  return out;
}

let encoded: Buffer[];
const fmp4File = path.join(tmp, 'rendition.mp4');

beforeAll(async () => {
  encoded = [];
  for (let k = 0; k < SEGMENTS; k++) {
    const frames = k === SEGMENTS - 1 ? LAST_FRAMES : SEGMENT_FRAMES;
    const start = k * SEGMENT_FRAMES * FRAME;
    const pcm = chirpPcm(start - PRE_ROLL, PRE_ROLL + frames * FRAME + POST_ROLL);
    encoded.push(await encodeSegment({ pcm, startFrame: k * SEGMENT_FRAMES, frames, sequence: k + 1 }));
  }
  fs.writeFileSync(fmp4File, Buffer.concat([renditionInit(), ...encoded]));
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(['fs', 's3'] as const)('audio.m4a written during the event (%s)', (driver) => {
  let storage: Storage;
  let s3: S3rverProcess | undefined;
  let tdb: TestDatabase;
  let st: TranscoderState;
  const eventId = `ev_m4a${driver}`;
  const deps = () => ({ state: st, storage, m4aPartBytes: PART_BYTES });
  const reads: string[] = [];

  /** Stores and records the rendition's segments one by one, as the transcoder makes them, calling `made` after each. */
  async function makeSegments(id: string, made: () => Promise<void>): Promise<void> {
    await st.ensureState(id);
    for (let k = 0; k < SEGMENTS; k++) {
      const key = keys.hlsSegment(id, k);
      await storage.put(key, encoded[k], { contentType: 'audio/mp4' });
      const frames = k === SEGMENTS - 1 ? LAST_FRAMES : SEGMENT_FRAMES;
      const span = [k * SEGMENT_FRAMES * FRAME, (k * SEGMENT_FRAMES + frames) * FRAME] as const;
      const sha256 = crypto.createHash('sha256').update(encoded[k]).digest('hex');
      const row = { k, startFrame: k * SEGMENT_FRAMES, frames, key, bytes: encoded[k].length, pcm16Key: '', sha256 };
      await st.addSegment({ eventId: id, ...row, peaks: silentPeaks(...span), loudness: silentLoudness(...span) });
      await made();
    }
  }

  beforeAll(async () => {
    if (driver === 's3') {
      s3 = await s3rverProcess('replay-m4a');
      storage = s3rverStorage(s3.endpoint, s3.bucket);
    } else {
      storage = new FsStorage(path.join(tmp, 'fs'), 'http://127.0.0.1/files');
    }
    // Count the segments read back, to see what the end costs.
    const get = storage.get.bind(storage);
    storage.get = (key: string) => {
      reads.push(key);
      return get(key);
    };
    // Both catalogs: fs with SQLite, S3 with PostgreSQL (as the two deployments run).
    tdb = await testDatabase(driver === 's3' ? 'postgres' : 'sqlite');
    st = new TranscoderState(tdb.db);
  });

  afterAll(async () => {
    await tdb?.close();
    await s3?.close();
  });

  it('sends parts as segments are made, and at the end reads only the segments after the last part', async () => {
    await makeSegments(eventId, async () => {
      await packM4aParts(deps(), eventId);
      // A repeated job makes no part twice.
      await packM4aParts(deps(), eventId);
    });
    const parts = await st.m4a.parts(eventId);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    // Contiguous, in order, each over the part size; part 1 waits for the header.
    parts.forEach((p, i) => {
      expect(p.partNo).toBe(i + 1);
      expect(p.fromK).toBe(i ? parts[i - 1].toK : 0);
      expect(p.etag === null).toBe(i === 0);
    });
    expect(await storage.head(keys.audio(eventId))).toBeUndefined();

    reads.length = 0;
    const audio = await finishM4a(deps(), eventId, TOTAL_FRAMES);
    const tailSegments = reads.filter((k) => k.includes('/hls/seg-'));
    expect(tailSegments.length).toBe(SEGMENTS - parts[parts.length - 1].toK);
    expect(audio.durationSec).toBe((TOTAL_FRAMES * FRAME) / RATE);
    const file = await storage.get(keys.audio(eventId));
    expect(audio.size).toBe(file.length);
    // Joined by the store (S3), or by fs without the bytes passing through (a block-aligned first part): the
    // publisher reads the file for the hash. An fs store that had to copy the parts hashed them on the way.
    if (audio.sha256 !== null) expect(audio.sha256).toBe(crypto.createHash('sha256').update(file).digest('hex'));
    if (driver === 's3') expect(audio.sha256).toBeNull();
    // Where the filesystem inserts ranges, fs joined the parts in place (no hash: nothing was copied).
    if (driver === 'fs' && storage instanceof FsStorage && (await probeInsertRange(tmp, storage.joinAlignment))) expect(audio.sha256).toBeNull();
    expect(await storage.head(keys.work(eventId, 'm4a/part-1.bin'))).toBeUndefined();
    // Done once: asked again, the same answer and nothing rewritten.
    const before = (await storage.head(keys.audio(eventId)))!.lastModified;
    expect(await finishM4a(deps(), eventId, TOTAL_FRAMES)).toEqual(audio);
    expect((await storage.head(keys.audio(eventId)))!.lastModified).toEqual(before);
    fs.writeFileSync(path.join(tmp, `${driver}.m4a`), file);
  });

  it.runIf(driver === 'fs')('writes the file again from the segments when its upload is gone', async () => {
    const again = `${eventId}-lost`;
    await makeSegments(again, () => packM4aParts(deps(), again).then(() => undefined));
    // A store that dropped the upload (a lifecycle rule for incomplete uploads, say).
    fs.rmSync(path.join(tmp, 'fs', '.uploads'), { recursive: true, force: true });
    const audio = await finishM4a(deps(), again, TOTAL_FRAMES);
    expect((await storage.get(keys.audio(again))).equals(await storage.get(keys.audio(eventId)))).toBe(true);
    expect(audio.size).toBe((await storage.head(keys.audio(eventId)))!.size);
  });

  it('is a faststart MP4 timed exactly, decoding to the same samples as the HLS rendition', () => {
    const file = path.join(tmp, `${driver}.m4a`);
    const bytes = fs.readFileSync(file);
    // On fs a free box pads the header so that part 1 ends on a filesystem block (the parts then join without a copy).
    expect(topBoxes(bytes)).toEqual(driver === 'fs' ? ['ftyp', 'moov', 'free', 'mdat'] : ['ftyp', 'moov', 'mdat']);
    const stream = Object.fromEntries(
      ffprobe([
        '-select_streams',
        'a:0',
        '-count_packets',
        '-show_entries',
        'stream=codec_name,sample_rate,channels,nb_read_packets,duration',
        '-of',
        'default=nw=1',
        file,
      ])
        .split('\n')
        .map((l) => l.split('=')),
    ) as Record<string, string>;
    const { codec_name: codec, sample_rate: rate, channels, nb_read_packets: frames, duration } = stream;
    expect([codec, rate, channels]).toEqual(['aac', '48000', '1']);
    expect(Number(frames)).toBe(TOTAL_FRAMES);
    expect(Number(duration)).toBeCloseTo((TOTAL_FRAMES * FRAME) / RATE, 6);
    expect(Number(ffprobe(['-show_entries', 'format=duration', '-of', 'csv=p=0', file]))).toBeCloseTo((TOTAL_FRAMES * FRAME) / RATE, 6);
    expect(decode(file).equals(decode(fmp4File))).toBe(true);
  });
});

describe('audio.m4a in Chromium', () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const file = fs.readFileSync(path.join(tmp, 'fs.m4a'));
    // Byte ranges, as a CDN or the app's /files serve them: the player seeks with them.
    server = http.createServer((req, res) => {
      if (req.url === '/') return res.end('<!doctype html><title>player</title>');
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m && m[2] ? Math.min(Number(m[2]), file.length - 1) : file.length - 1;
      res.writeHead(m ? 206 : 200, {
        'content-type': 'audio/mp4',
        'accept-ranges': 'bytes',
        'content-length': end - start + 1,
        ...(m ? { 'content-range': `bytes ${start}-${end}/${file.length}` } : {}),
      });
      res.end(file.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('plays from the start, and from a second it is sought to', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      const played = await audioPlaysAndSeeks(page, `${base}/a.m4a`, 30);
      expect(played.duration).toBeCloseTo((TOTAL_FRAMES * FRAME) / RATE, 2);
      expect(played.error).toBeNull();
      expect(played.paused).toBe(false);
      expect(played.fromStart).toBeGreaterThan(0.2);
      expect(played.afterSeek).toBeGreaterThan(30.2);
      expect(played.afterSeek).toBeLessThan(33);
    } finally {
      await browser.close();
    }
  });
});
