// Cutting a clip's audio from the rendition without re-encoding anything.
//
// The rendition is AAC on a fixed frame grid (grid.ts), every segment encoded
// with pre- and post-roll so that its frames join their neighbours' as one
// continuous encode would. A clip of frames [start, end) is therefore those
// frames, copied byte for byte, plus one frame in front: the rendition's own
// frame start-1. An AAC decoder's output for a frame is the overlap-add of
// that frame and the one before it, so with start-1 in front the clip's first
// frame decodes exactly as it does in the full recording (no decoder warm-up,
// no click), and an MP4 edit list skips the 1024 samples start-1 decodes to.
// The last frame needs nothing after it: its output is complete once it is
// decoded. A re-encode of the edge frames (what joining separate encodes
// needs, reference.md) is not needed here, because every frame already comes
// from one gapless encode; it would only add generation loss at the edges.
//
// The result is deterministic: a repeated cut writes the same bytes.
import crypto from 'node:crypto';
import type { ClipAudio } from '../shared/catalog/clips.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { RENDITION_TRACK } from './encode.ts';
import { segmentPayload } from './fmp4.ts';
import { FRAME, RATE } from './grid.ts';
import { m4aHeader } from './m4a-header.ts';
import type { TranscoderState } from './state.ts';

export interface ClipCutDeps {
  state: TranscoderState;
  storage: Storage;
}

export interface ClipSpan {
  eventId: string;
  clipId: string;
  /** Frames [startFrame, endFrame) of the rendition. */
  startFrame: number;
  endFrame: number;
}

/** The span is not (or no longer) in the rendition: retrying will not help until more is transcoded. */
export class SpanNotTranscodedError extends Error {}

export interface CutResult extends ClipAudio {
  durationSec: number;
  /** Frames copied from the rendition, the priming frame included. */
  frames: number;
  primingFrames: number;
}

/** The rendition's AAC frames [from, to), read from the segments that hold them. */
export async function renditionFrames(deps: ClipCutDeps, eventId: string, from: number, to: number): Promise<Buffer[]> {
  const segments = await deps.state.segmentsOverlapping(eventId, from, to);
  const out: Buffer[] = [];
  let at = from;
  for (const s of segments) {
    if (s.startFrame > at) break; // a hole: reported below
    const { payload, sizes } = segmentPayload(await deps.storage.get(s.key));
    if (sizes.length !== s.frames) throw new Error(`segment ${s.k} holds ${sizes.length} frames, its row says ${s.frames}`);
    let offset = 0;
    for (let i = 0; i < sizes.length; i++) {
      const f = s.startFrame + i;
      if (f >= at && f < to) {
        out.push(payload.subarray(offset, offset + sizes[i]));
        at = f + 1;
      }
      offset += sizes[i];
    }
  }
  if (at < to) throw new SpanNotTranscodedError(`the rendition has no audio at ${((at * FRAME) / RATE).toFixed(3)} s yet`);
  return out;
}

/** Cuts and stores `clip.m4a` (faststart MP4, stream-copied frames); returns what was stored. */
export async function cutClip(deps: ClipCutDeps, span: ClipSpan): Promise<CutResult> {
  const { startFrame, endFrame } = span;
  if (!(Number.isInteger(startFrame) && Number.isInteger(endFrame) && startFrame >= 0 && endFrame > startFrame)) {
    throw new RangeError(`clip ${span.clipId}: bad span [${startFrame}, ${endFrame})`);
  }
  // Frame 0 has nothing before it, in the clip or in the whole recording: it decodes the same without priming.
  const primingFrames = startFrame > 0 ? 1 : 0;
  const frames = await renditionFrames(deps, span.eventId, startFrame - primingFrames, endFrame);
  const header = m4aHeader({
    track: RENDITION_TRACK,
    chunkFrames: [frames.length],
    frameSizes: frames.map((f) => f.length),
    primingSamples: primingFrames * FRAME,
  });
  const file = Buffer.concat([header, ...frames]);
  const key = keys.clipAudio(span.eventId, span.clipId);
  await deps.storage.put(key, file, { contentType: 'audio/mp4', cacheControl: CACHE_CONTROL.immutable });
  return {
    key,
    bytes: file.length,
    sha256: crypto.createHash('sha256').update(file).digest('hex'),
    durationSec: ((endFrame - startFrame) * FRAME) / RATE,
    frames: frames.length,
    primingFrames,
  };
}
