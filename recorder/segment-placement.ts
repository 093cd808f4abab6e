// Where an archived HLS media segment goes on the event timeline, decided
// from the chunk archived before it and nothing else, so that any recorder
// (a resumed one, one that took the event over, or a second one recording
// the same event) places the same media sequence at the same second.
//
// A segment that follows the previous chunk's media sequence directly, with
// no discontinuity and nothing lost between them, continues its run: same
// run number (the transcoder decodes a run as one stream), starting where the
// previous chunk ended. Anything else starts a new run: after the previous
// end plus the time the source says was lost (that span becomes a gap).
import type { ChunkRow } from './store.ts';

/**
 * Where a segment stands in the source: its media sequence, within a stream
 * epoch (a source that restarts its stream starts its media sequence over;
 * the epoch counts those restarts, so sequence numbers never collide).
 */
export interface MediaPosition {
  epoch: number;
  mediaSeq: number;
}

/** An HLS segment's spool name: unique per event, so each media sequence is archived once. */
export function segmentSpoolName(p: MediaPosition): string {
  return p.epoch ? `hls/e${p.epoch}/m${p.mediaSeq}` : `hls/m${p.mediaSeq}`;
}

/** The media position of a chunk archived from an HLS segment (undefined for a chunk cut from a stream). */
export function mediaPositionOf(spoolName: string): MediaPosition | undefined {
  const m = /^hls\/(?:e(\d+)\/)?m(\d+)$/.exec(spoolName);
  return m ? { epoch: Number(m[1] ?? 0), mediaSeq: Number(m[2]) } : undefined;
}

/** True when `a` comes after `b` in the source. */
export function isAfter(a: MediaPosition, b: MediaPosition): boolean {
  return a.epoch !== b.epoch ? a.epoch > b.epoch : a.mediaSeq > b.mediaSeq;
}

export interface SegmentFacts extends MediaPosition {
  /** Media time the source lost just before this segment (segments that scrolled out, or could not be fetched). */
  lostSec: number;
  /** The playlist marks a discontinuity before it (a new encoder, a new stream). */
  discontinuity: boolean;
}

export interface Placement {
  startSec: number;
  /** The run (capture session number) the chunk belongs to. */
  sessionNo: number;
  /** A new run starts here. */
  newRun: boolean;
}

/**
 * Places a segment after `prev` (the event's last archived chunk). `floor`
 * is where the timeline may continue when there is no previous chunk (the
 * event's timeline so far), and `lastSessionNo` the highest run or session
 * number the event used.
 */
export function placeSegment(seg: SegmentFacts, prev: ChunkRow | undefined, floor: number, lastSessionNo: number): Placement {
  const prevEnd = prev ? prev.startSec + prev.durationSec : floor;
  const at = prev ? mediaPositionOf(prev.spoolName) : undefined;
  const next = Math.max(lastSessionNo, prev?.sessionNo ?? 0) + 1;
  if (prev && at?.epoch === seg.epoch && at.mediaSeq === seg.mediaSeq - 1) {
    if (!seg.discontinuity && seg.lostSec === 0) return { startSec: prevEnd, sessionNo: prev.sessionNo, newRun: false };
    // The segment before it is archived (fetched by another recorder), so nothing was lost in between,
    // whatever this recorder missed; a discontinuity still starts a new run.
    return { startSec: prevEnd, sessionNo: next, newRun: true };
  }
  return { startSec: Math.max(prevEnd, floor) + seg.lostSec, sessionNo: next, newRun: true };
}
