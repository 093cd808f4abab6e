// audio.m4a written while the event runs, so its end costs the same at any
// length. The file is ftyp + moov + mdat, the media data being the
// rendition's AAC frames in order; only the moov depends on the whole event
// (every frame's size), and it is small. So:
//
//   live      every run of segments reaching PART_BYTES becomes a part of a
//             storage upload (S3 multipart; fs parts joined at the end), its
//             frame sizes recorded; the first run waits in a work object,
//             since part 1 must start with the header
//   the end   the header is made from the recorded sizes, part 1 (header +
//             first run) and the last part (the segments after the last
//             full run, under PART_BYTES) are uploaded, and the parts joined
//
// At the end this reads one work object and fewer than PART_BYTES of
// segments, whatever the event's length. Every step is recorded after it is
// done (m4a-state.ts); a repeated one rewrites the same bytes.
import crypto from 'node:crypto';
import { inBatches } from '../shared/batches.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import { NotFoundError, type Storage } from '../shared/storage/storage.ts';
import { RENDITION_TRACK } from './encode.ts';
import { segmentPayload } from './fmp4.ts';
import { FRAME, RATE } from './grid.ts';
import { m4aHeader } from './m4a-header.ts';
import type { SegmentFile, TranscoderState } from './state.ts';

/** Segment bytes per part on S3: the media data of each is then over its 5 MiB minimum part (a moof is ~1.2 kB a segment); fs takes smaller ones (Storage.preferredPartBytes). */
export const PART_BYTES = 6 * 1024 * 1024;
/** Marks an audio.m4a written in one piece (an event shorter than one part): no upload to join. */
const SINGLE_PUT = 'single-put';
const FETCH_BATCH = 16;

export interface M4aDeps {
  state: TranscoderState;
  storage: Storage;
  /** Segment bytes per part (default PART_BYTES; tests use less, with stores that allow small parts). */
  m4aPartBytes?: number;
}

export interface M4aResult {
  key: string;
  size: number;
  /** Unknown when the store joined the parts itself (S3): the publisher reads the file for it. */
  sha256: string | null;
  durationSec: number;
}

const headKey = (eventId: string) => keys.work(eventId, 'm4a/part-1.bin');
const PUT = { contentType: 'audio/mp4', cacheControl: CACHE_CONTROL.immutable };

/** The segments' frames, one run of bytes, and each frame's size. */
async function readFrames(storage: Storage, segs: SegmentFile[]): Promise<{ payload: Buffer; sizes: number[] }> {
  const payloads: Buffer[] = [];
  const sizes: number[] = [];
  const read = await inBatches(segs, FETCH_BATCH, async (s) => {
    const seg = segmentPayload(await storage.get(s.key));
    if (seg.sizes.length !== s.frames) throw new Error(`segment ${s.k} holds ${seg.sizes.length} frames, not ${s.frames}`);
    return seg;
  });
  for (const seg of read) {
    payloads.push(seg.payload);
    for (const n of seg.sizes) sizes.push(n);
  }
  return { payload: Buffer.concat(payloads), sizes };
}

async function ensureUpload(deps: M4aDeps, eventId: string): Promise<string> {
  const have = await deps.state.m4a.upload(eventId);
  if (have) return have.uploadId;
  const key = keys.audio(eventId);
  const mine = await deps.storage.startParts(key, PUT);
  const held = await deps.state.m4a.claimUpload(eventId, mine);
  if (held !== mine) await deps.storage.abortParts(key, mine); // another worker started one first
  return held;
}

/** Live: every full run of made segments past the last part becomes a part. Returns the parts made. */
export async function packM4aParts(deps: M4aDeps, eventId: string): Promise<number> {
  const m4a = deps.state.m4a;
  if ((await m4a.upload(eventId))?.size != null) return 0; // joined already
  const last = await m4a.lastPart(eventId);
  let partNo = (last?.partNo ?? 0) + 1;
  const segs = await deps.state.segmentFiles(eventId, last?.toK ?? 0);
  const partBytes = deps.m4aPartBytes ?? deps.storage.preferredPartBytes ?? PART_BYTES;
  let made = 0;
  for (;;) {
    let bytes = 0;
    let n = 0;
    while (n < segs.length && bytes < partBytes) bytes += segs[n++].bytes;
    if (bytes < partBytes) return made;
    const run = segs.splice(0, n);
    const { payload, sizes } = await readFrames(deps.storage, run);
    let etag: string | null = null;
    if (partNo === 1) await deps.storage.put(headKey(eventId), payload, { cacheControl: CACHE_CONTROL.private });
    else etag = (await deps.storage.putPart(keys.audio(eventId), await ensureUpload(deps, eventId), partNo, payload)).etag; // NotFoundError: the upload is gone (finishM4a starts over)
    await m4a.addPart(eventId, { partNo, fromK: run[0].k, toK: run[run.length - 1].k + 1, bytes: payload.length, frameSizes: sizes, etag });
    partNo++;
    made++;
  }
}

/**
 * At the end, once every segment is made: the header from the recorded
 * frame sizes, the first and last parts, and the join. Idempotent: a second
 * call returns what the first one made.
 */
export async function finishM4a(deps: M4aDeps, eventId: string, totalFrames: number): Promise<M4aResult> {
  try {
    return await joinM4a(deps, eventId, totalFrames);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    // The upload is gone (aborted by a lifecycle rule, or a store that lost it): write the file again from the segments.
    await resetM4a(deps, eventId);
    return joinM4a(deps, eventId, totalFrames);
  }
}

async function joinM4a(deps: M4aDeps, eventId: string, totalFrames: number): Promise<M4aResult> {
  const m4a = deps.state.m4a;
  const key = keys.audio(eventId);
  const durationSec = (totalFrames * FRAME) / RATE;
  const done = await m4a.upload(eventId);
  if (done?.size != null) return { key, size: done.size, sha256: done.sha256, durationSec };
  await packM4aParts(deps, eventId);
  const parts = await m4a.parts(eventId);
  const all = await deps.state.segmentFiles(eventId);
  const frames = all.reduce((a, s) => a + s.frames, 0);
  if (frames !== totalFrames) throw new Error(`the rendition's segments hold ${frames} frames, not ${totalFrames}: not every segment is made`);
  const tail = await readFrames(deps.storage, all.slice(parts.length ? parts[parts.length - 1].toK : 0));
  const runs = [...parts.map((p) => p.frameSizes), tail.sizes];
  const recorded = runs.reduce((a, r) => a + r.length, 0);
  if (recorded !== frames) throw new Error(`audio.m4a's parts and last segments hold ${recorded} frame sizes, not ${frames}`);
  const frameSizes = new Uint32Array(frames);
  let at = 0;
  for (const sizes of runs) {
    frameSizes.set(sizes, at);
    at += sizes.length;
  }
  const head = parts.length ? await deps.storage.get(headKey(eventId)) : undefined;
  // Part 1 (header + the first run) block-aligned: fs then joins the parts without copying them (Storage.joinAlignment).
  const align = head && deps.storage.joinAlignment ? { followingBytes: head.length, multiple: deps.storage.joinAlignment } : undefined;
  const header = m4aHeader({ track: RENDITION_TRACK, chunkFrames: all.map((s) => s.frames), frameSizes, align });
  const expected = header.length + parts.reduce((a, p) => a + p.bytes, 0) + tail.payload.length;

  if (!head) {
    const body = Buffer.concat([header, tail.payload]);
    await deps.storage.put(key, body, PUT);
    await m4a.claimUpload(eventId, SINGLE_PUT);
    const sha256 = crypto.createHash('sha256').update(body).digest('hex');
    await m4a.completed(eventId, body.length, sha256);
    return { key, size: body.length, sha256, durationSec };
  }
  const uploadId = await ensureUpload(deps, eventId);
  const etags = [(await deps.storage.putPart(key, uploadId, 1, Buffer.concat([header, head]))).etag];
  for (const p of parts.slice(1)) {
    if (!p.etag) throw new Error(`part ${p.partNo} of ${eventId}'s audio.m4a was recorded without its upload`);
    etags.push(p.etag);
  }
  if (tail.payload.length) etags.push((await deps.storage.putPart(key, uploadId, parts.length + 1, tail.payload)).etag);
  let joined: { size: number; sha256?: string };
  try {
    joined = await deps.storage.completeParts(key, uploadId, etags);
  } catch (err) {
    // Joined by an earlier attempt that died before recording it: the file is there, whole.
    const info = err instanceof NotFoundError ? await deps.storage.head(key) : undefined;
    if (info?.size !== expected) throw err;
    joined = { size: info.size };
  }
  if (joined.size !== expected) throw new Error(`audio.m4a of ${eventId} is ${joined.size} bytes after joining, not ${expected}`);
  await m4a.completed(eventId, joined.size, joined.sha256 ?? null);
  await deps.storage.delete(headKey(eventId));
  return { key, size: joined.size, sha256: joined.sha256 ?? null, durationSec };
}

/** Starts audio.m4a over (the rendition's end changed after it was joined): the next finishM4a writes it again from the segments. */
export async function resetM4a(deps: M4aDeps, eventId: string): Promise<void> {
  const up = await deps.state.m4a.upload(eventId);
  if (up && up.uploadId !== SINGLE_PUT && up.size == null) await deps.storage.abortParts(keys.audio(eventId), up.uploadId);
  await deps.state.m4a.forgetEvent(eventId);
  await deps.storage.delete(headKey(eventId));
}
