// Live partial segments (LL-HLS #EXT-X-PART). A rendition segment is 6 s, and
// a classic live playlist can list it only once its last sample (and 2 frames
// after it) is known: a listener's first sample waited the whole segment. So
// while the event is live, the segment at the live edge is also cut into
// parts of PART_FRAMES frames on the same grid, each encoded like a segment
// (4 frames of pre-roll, 2 of post-roll, trimmed to its own frames: joins as
// clean as one continuous encode) and listed as soon as it is known.
//
// Any way a player goes through the playlist stays gapless: parts and
// segments are cut on one frame grid, and every unit is a clean encode of
// exactly its own frames, so part after part, segment after part or part
// after segment join the same way two segments do. The segments themselves
// are made as before (byte for byte), so classic players, audio.m4a and the
// published VOD (which lists no parts) are unchanged.
//
// A segment that got a part gets all of them (a player playing parts at the
// edge finds the whole parent as parts); a segment known whole at once (a
// long source chunk, catching up) gets none. Parts are listed for the last
// LISTED_SEGMENTS complete segments and the one being made, deleted one
// segment after they stop being listed, and all of them at the end.
import { NotFoundError } from '../shared/storage/storage.ts';
import { encodeSegment } from './encode.ts';
import { FRAME, PART_FRAMES, PARTS_PER_SEGMENT, POST_ROLL, PRE_ROLL, SEGMENT_FRAMES } from './grid.ts';
import type { PlaylistPart } from './playlist.ts';
import { assemble, CACHE, knownThrough, transcoderKeys, type TranscoderDeps } from './rendition.ts';

/** Complete segments whose parts the live playlist still lists (the spec: parts within 3 target durations of the end). */
export const LISTED_SEGMENTS = 2;

/** Storage key of part p of segment k, beside the segment (`seg-<k>.<p>.m4s`). */
export const partKey = (eventId: string, k: number, p: number) => transcoderKeys.segment(eventId, k).replace(/\.m4s$/, `.${p}.m4s`);

/** Makes, uploads and records part p of segment k (idempotent: the same bytes again). */
async function buildPart(deps: TranscoderDeps, eventId: string, k: number, p: number): Promise<void> {
  const startFrame = k * SEGMENT_FRAMES + p * PART_FRAMES;
  const start = startFrame * FRAME;
  const pcm = await assemble(deps, eventId, start - PRE_ROLL, start + PART_FRAMES * FRAME + POST_ROLL);
  // mfhd sequence: the parent segment's (players go by the decode time, tfdt).
  const media = await encodeSegment({ pcm, startFrame, frames: PART_FRAMES, sequence: k + 1 });
  const key = partKey(eventId, k, p);
  await deps.storage.put(key, media, { contentType: 'audio/mp4', cacheControl: CACHE.immutable });
  await deps.state.parts.addPart(eventId, { k, p, frames: PART_FRAMES, key, bytes: media.length });
}

/**
 * Makes every part that became possible: the missing parts of recently
 * completed segments that have some, then the parts of the segment being
 * made whose timeline is known through their end + POST_ROLL. Run after the
 * job made its segments. Returns how many parts it made.
 */
export async function buildLiveParts(deps: TranscoderDeps, eventId: string): Promise<number> {
  const st = deps.state;
  const edge = (await st.playablePrefix(eventId)).segments;
  const from = Math.max(0, edge - LISTED_SEGMENTS);
  const have = new Set((await st.parts.parts(eventId, from)).map((r) => `${r.k}.${r.p}`));
  const todo: [number, number][] = [];
  for (let k = from; k < edge; k++) {
    const some = [...Array(PARTS_PER_SEGMENT).keys()].some((p) => have.has(`${k}.${p}`));
    if (!some) continue;
    for (let p = 0; p < PARTS_PER_SEGMENT; p++) if (!have.has(`${k}.${p}`)) todo.push([k, p]);
  }
  const known = await knownThrough(st, eventId, false);
  for (let p = 0; p < PARTS_PER_SEGMENT; p++) {
    const end = (edge * SEGMENT_FRAMES + (p + 1) * PART_FRAMES) * FRAME;
    if (end + POST_ROLL > known) break;
    if (!have.has(`${edge}.${p}`)) todo.push([edge, p]);
  }
  // Independent encodes (one ffmpeg each): run together, so a job that completes a segment and starts
  // the next one's parts does not queue them behind each other.
  await Promise.all(todo.map(([k, p]) => buildPart(deps, eventId, k, p)));
  return todo.length;
}

/** The parts the live playlist lists now, and a signature of them (what changes when the list does). */
export async function livePlaylistParts(deps: TranscoderDeps, eventId: string, segments: number): Promise<{ parts: PlaylistPart[]; signature: string }> {
  const rows = await deps.state.parts.parts(eventId, Math.max(0, segments - LISTED_SEGMENTS));
  const parts: PlaylistPart[] = [];
  for (let k = Math.max(0, segments - LISTED_SEGMENTS); k <= segments; k++) {
    const own = rows.filter((r) => r.k === k);
    // Listed only as an unbroken run from part 0; a complete segment only with all of its parts.
    let n = 0;
    while (n < own.length && own[n].p === n) n++;
    if (!n || (k < segments && n < PARTS_PER_SEGMENT)) continue;
    for (const r of own.slice(0, n)) parts.push({ parent: k, uri: r.key.slice(r.key.lastIndexOf('/') + 1), frames: r.frames });
  }
  return { parts, signature: parts.map((x) => x.uri).join(',') };
}

async function deleteParts(deps: TranscoderDeps, eventId: string, beforeK?: number): Promise<number> {
  const rows = (await deps.state.parts.parts(eventId)).filter((r) => beforeK === undefined || r.k < beforeK);
  for (const r of rows) {
    await deps.storage.delete(r.key).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
  if (rows.length) await deps.state.parts.dropParts(eventId, beforeK);
  return rows.length;
}

/** Deletes the parts of segments the live playlist stopped listing a segment ago (a player may hold an older playlist). */
export async function dropOldParts(deps: TranscoderDeps, eventId: string): Promise<number> {
  const edge = (await deps.state.playablePrefix(eventId)).segments;
  return deleteParts(deps, eventId, edge - LISTED_SEGMENTS - 1);
}

/** At the end: the final playlist lists no parts, so none is kept. */
export async function dropAllParts(deps: TranscoderDeps, eventId: string): Promise<number> {
  return deleteParts(deps, eventId);
}
