// Cutting a clip's audio from the rendition (transcoder/clip-cut.ts), the
// clip's job (transcoder/process-clip.ts) and its catalog rows
// (shared/catalog/clips.ts), on both catalogs and both storage drivers (SQLite
// with fs, PostgreSQL with S3 on s3rver, as the two deployments run). The rendition here is made as the transcoder makes it: segments
// of a chirp under a tremolo (every frame differs, so a misplaced one shows)
// encoded with pre- and post-roll. A clip must last its span within one AAC
// frame, hold the rendition's frames byte for byte, and its first and last
// 50 ms must decode like the same span of the whole recording (no click).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipCatalog } from '../shared/catalog/clips.ts';
import { keys } from '../shared/layout.ts';
import { createLogger } from '../shared/log.ts';
import type { ClipRequestedJob, Queues } from '../shared/queues.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { silentLoudness, silentPeaks } from '../transcoder/analysis.ts';
import { cutClip, SpanNotTranscodedError } from '../transcoder/clip-cut.ts';
import { encodeSegment, RENDITION_TRACK } from '../transcoder/encode.ts';
import { segmentPayload } from '../transcoder/fmp4.ts';
import { FRAME, POST_ROLL, PRE_ROLL, RATE, SEGMENT_FRAMES } from '../transcoder/grid.ts';
import { chirpPcm } from './helpers/audio.ts';
import { m4aHeader } from '../transcoder/m4a-header.ts';
import { processClipRequested } from '../transcoder/process-clip.ts';
import { requeueUnfinishedClips } from '../cli/requeue-clips.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { testDatabase, type TestDatabase } from './helpers/db.ts';
import { decodeF32, m4aFrames, maxDiff, probeDuration } from './helpers/m4a.ts';
import { s3rverProcess, s3rverStorage, type S3rverProcess } from './helpers/s3rver.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-clip-cut-'));
const SEGMENTS = 4;
const TOTAL_FRAMES = SEGMENTS * SEGMENT_FRAMES;
/** 50 ms at 48 kHz. */
const EDGE = 2400;

/** Queues that only record what is added to them, as `name {payload}`. */
function recordingQueues(): { queues: Pick<Queues, 'add'>; queued: string[] } {
  const queued: string[] = [];
  const add: Queues['add'] = (name, data) => {
    queued.push(`${name} ${JSON.stringify(data)}`);
    return Promise.resolve();
  };
  return { queues: { add }, queued };
}

let segments: Buffer[];
let renditionFrames: Buffer[];
let fullDecoded: Float32Array;

beforeAll(async () => {
  segments = [];
  for (let k = 0; k < SEGMENTS; k++) {
    const pcm = chirpPcm(k * SEGMENT_FRAMES * FRAME - PRE_ROLL, PRE_ROLL + SEGMENT_FRAMES * FRAME + POST_ROLL);
    segments.push(await encodeSegment({ pcm, startFrame: k * SEGMENT_FRAMES, frames: SEGMENT_FRAMES, sequence: k + 1 }));
  }
  renditionFrames = segments.flatMap((s) => {
    const { payload, sizes } = segmentPayload(s);
    let at = 0;
    return sizes.map((n) => payload.subarray(at, (at += n)));
  });
  // The whole recording, as audio.m4a holds it: every frame, no priming.
  const full = path.join(tmp, 'full.m4a');
  const header = m4aHeader({ track: RENDITION_TRACK, chunkFrames: [TOTAL_FRAMES], frameSizes: renditionFrames.map((f) => f.length) });
  fs.writeFileSync(full, Buffer.concat([header, ...renditionFrames]));
  fullDecoded = decodeF32(full);
  expect(fullDecoded.length).toBe(TOTAL_FRAMES * FRAME);
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each([
  ['sqlite', 'fs'],
  ['postgres', 's3'],
] as const)('clips on %s with %s storage', (dialect, driver) => {
  let tdb: TestDatabase;
  let state: TranscoderState;
  let storage: Storage;
  let s3: S3rverProcess | undefined;
  const eventId = 'ev_c11bc07000000001';

  beforeAll(async () => {
    tdb = await testDatabase(dialect);
    state = new TranscoderState(tdb.db);
    if (driver === 's3') {
      s3 = await s3rverProcess('replay-clips');
      storage = s3rverStorage(s3.endpoint, s3.bucket);
    } else {
      storage = new FsStorage(path.join(tmp, 'fs'), 'http://127.0.0.1/files');
    }
    await state.ensureState(eventId);
    // The first three segments are transcoded; the fourth is not yet (a live event).
    for (let k = 0; k < SEGMENTS - 1; k++) {
      const key = keys.hlsSegment(eventId, k);
      await storage.put(key, segments[k]);
      const span = [k * SEGMENT_FRAMES * FRAME, (k + 1) * SEGMENT_FRAMES * FRAME] as const;
      await state.addSegment({
        eventId,
        k,
        startFrame: k * SEGMENT_FRAMES,
        frames: SEGMENT_FRAMES,
        key,
        bytes: segments[k].length,
        pcm16Key: '',
        sha256: null,
        peaks: silentPeaks(...span),
        loudness: silentLoudness(...span),
      });
    }
  });

  afterAll(async () => {
    await tdb?.close();
    await s3?.close();
  });

  const spans: [string, number, number][] = [
    ['across two segment boundaries', 200, 700],
    ['from the very first frame', 0, 120],
    ['one second inside one segment', 300, 347],
  ];

  it.each(spans)('cuts a clip %s without re-encoding, decoding like the whole recording', async (_what, startFrame, endFrame) => {
    const clipId = `cl_${String(startFrame).padStart(8, '0')}${String(endFrame).padStart(8, '0')}`;
    const cut = await cutClip({ state, storage }, { eventId, clipId, startFrame, endFrame });
    const bytes = await storage.get(keys.clipAudio(eventId, clipId));
    expect(cut.bytes).toBe(bytes.length);
    const file = path.join(tmp, `${dialect}-${clipId}.m4a`);
    fs.writeFileSync(file, bytes);

    // Its span, within one AAC frame (ffprobe applies the edit list that skips the priming frame).
    const span = ((endFrame - startFrame) * FRAME) / RATE;
    expect(Math.abs(probeDuration(file) - span)).toBeLessThanOrEqual(FRAME / RATE);
    expect(cut.durationSec).toBeCloseTo(span, 9);

    // Every frame, the middle ones included, is the rendition's own, byte for byte.
    const frames = m4aFrames(bytes);
    const from = startFrame - cut.primingFrames;
    expect(frames.length).toBe(endFrame - from);
    frames.forEach((f, i) => expect(f.equals(renditionFrames[from + i])).toBe(true));

    // The first and last 50 ms decode like the same span of the whole recording.
    const clip = decodeF32(file);
    expect(Math.abs(clip.length - (endFrame - startFrame) * FRAME)).toBeLessThanOrEqual(FRAME);
    const same = fullDecoded.subarray(startFrame * FRAME, endFrame * FRAME);
    expect(maxDiff(clip.subarray(0, EDGE), same.subarray(0, EDGE))).toBeLessThan(1e-3);
    expect(maxDiff(clip.subarray(clip.length - EDGE), same.subarray(same.length - EDGE))).toBeLessThan(1e-3);

    // Cut again (a retried job): the same bytes.
    await cutClip({ state, storage }, { eventId, clipId, startFrame, endFrame });
    expect((await storage.get(keys.clipAudio(eventId, clipId))).equals(bytes)).toBe(true);
  });

  it('refuses a span the rendition does not hold yet', async () => {
    const end = (SEGMENTS - 1) * SEGMENT_FRAMES;
    await expect(cutClip({ state, storage }, { eventId, clipId: 'cl_0000000000000099', startFrame: end - 50, endFrame: end + 10 })).rejects.toBeInstanceOf(
      SpanNotTranscodedError,
    );
    expect(await storage.head(keys.clipAudio(eventId, 'cl_0000000000000099'))).toBeUndefined();
  });

  it('keeps clips in the catalog: pending, audio, ready or failed, per event, deleted', async () => {
    const clips = new ClipCatalog(tdb.db);
    const a = await clips.create({
      id: 'cl_00000000000000a1',
      eventId,
      title: 'A <b>',
      soundbite: true,
      startFrame: 10,
      endFrame: 60,
      startSec: 0.213333,
      endSec: 1.28,
    });
    expect(a).toMatchObject({ startSec: 0.213333, endSec: 1.28, status: 'pending', soundbite: true, title: 'A <b>', audio: null, readyAt: null });
    const b = await clips.create({
      id: 'cl_00000000000000b2',
      eventId,
      title: null,
      soundbite: false,
      startFrame: 0,
      endFrame: 47,
      startSec: 0,
      endSec: 1.002667,
    });
    expect((await clips.ofEvent(eventId)).map((c) => c.id)).toEqual([a.id, b.id]);
    // Ready needs the audio first.
    expect(await clips.markReady(a.id, 'card')).toBe(false);
    expect(await clips.recordAudio(a.id, { key: 'k', bytes: 10, sha256: 'ff' })).toBe(true);
    expect(await clips.markReady(a.id, 'card')).toBe(true);
    expect(await clips.get(a.id)).toMatchObject({ status: 'ready', audio: { key: 'k', bytes: 10, sha256: 'ff' }, cardKey: 'card' });
    // A failed clip stays failed, with its reason.
    await clips.markFailed(b.id, 'the rendition has no audio at 3 s yet');
    expect(await clips.recordAudio(b.id, { key: 'k', bytes: 10, sha256: 'ff' })).toBe(false);
    expect(await clips.get(b.id)).toMatchObject({ status: 'failed', reason: 'the rendition has no audio at 3 s yet', audio: null });
    await clips.markFailed(a.id, 'too late');
    expect((await clips.get(a.id))?.status).toBe('ready');
    // Ids that are not ours are not looked up.
    expect(await clips.get("cl_' OR 1=1 --")).toBeUndefined();
    expect(await clips.delete(a.id)).toBe(true);
    expect(await clips.delete(a.id)).toBe(false);
    await clips.forgetEvent(eventId);
    expect(await clips.ofEvent(eventId)).toEqual([]);
  });

  it('runs the clip job: retried while it fails, failed with the reason at its last attempt, nothing for a deleted clip', async () => {
    const clips = new ClipCatalog(tdb.db);
    const { queues, queued: handedOn } = recordingQueues();
    const deps = { clips, state, storage, queues, log: createLogger('test') };
    const job = (clipId: string, attemptsMade: number) => ({ data: { clipId }, attemptsMade, opts: { attempts: 5 } }) as unknown as Job<ClipRequestedJob>;
    const end = (SEGMENTS - 1) * SEGMENT_FRAMES;
    const span = { title: null, soundbite: false, startSec: 0, endSec: 0 };

    // Past the rendition: each attempt fails; the last one leaves the reason on the clip.
    const late = await clips.create({ id: 'cl_00000000000000f1', eventId, ...span, startFrame: end - 50, endFrame: end + 10 });
    await expect(processClipRequested(job(late.id, 0), deps)).rejects.toThrow(/no audio at/);
    expect((await clips.get(late.id))?.status).toBe('pending');
    await expect(processClipRequested(job(late.id, 4), deps)).rejects.toThrow(/no audio at/);
    expect(await clips.get(late.id)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^the rendition has no audio at \d/) });
    expect(await processClipRequested(job(late.id, 0), deps)).toBe('gone');

    // A good one: cut and recorded once, handed on each time the job runs.
    const ok = await clips.create({ id: 'cl_00000000000000f2', eventId, ...span, startFrame: 10, endFrame: 100 });
    expect(await processClipRequested(job(ok.id, 0), deps)).toBe('cut');
    const audio = (await clips.get(ok.id))?.audio;
    expect(audio?.key).toBe(keys.clipAudio(eventId, ok.id));
    expect(audio?.bytes).toBe((await storage.head(audio!.key))?.size);
    expect(await processClipRequested(job(ok.id, 0), deps)).toBe('cut');
    expect(handedOn).toEqual([`clip-cut {"clipId":"${ok.id}"}`, `clip-cut {"clipId":"${ok.id}"}`]);

    // Deleted: nothing is cut, nothing handed on; a job without a valid id is refused for good.
    await clips.delete(ok.id);
    expect(await processClipRequested(job(ok.id, 0), deps)).toBe('gone');
    expect(handedOn.length).toBe(2);
    await expect(processClipRequested(job('../../etc', 0), deps)).rejects.toThrow(/no valid clipId/);
    await clips.forgetEvent(eventId);
  });

  it('queues the next job of every unfinished clip again at start, and none of the others', async () => {
    const clips = new ClipCatalog(tdb.db);
    const span = { eventId, title: null, soundbite: false, startFrame: 0, endFrame: 47, startSec: 0, endSec: 1.002667 };
    const { queues, queued } = recordingQueues();
    await clips.create({ id: 'cl_00000000000000e1', ...span });
    await clips.create({ id: 'cl_00000000000000e2', ...span });
    await clips.recordAudio('cl_00000000000000e2', { key: 'k', bytes: 1, sha256: 'ff' });
    await clips.create({ id: 'cl_00000000000000e3', ...span });
    await clips.recordAudio('cl_00000000000000e3', { key: 'k', bytes: 1, sha256: 'ff' });
    await clips.markReady('cl_00000000000000e3', 'card');
    await clips.create({ id: 'cl_00000000000000e4', ...span });
    await clips.markFailed('cl_00000000000000e4', 'no');
    expect(await requeueUnfinishedClips(clips, queues)).toBe(2);
    expect(queued).toEqual(['clip-requested {"clipId":"cl_00000000000000e1"}', 'clip-cut {"clipId":"cl_00000000000000e2"}']);
    await clips.forgetEvent(eventId);
  });
});
