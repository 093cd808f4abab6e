// Encoding one rendition segment gaplessly (reference.md, "Stitching AAC
// encodes"): the segment's own frames are encoded together with 4 frames of
// the timeline before them and 2 after, and only the packets of its own frames
// are kept. ffmpeg's aac encoder emits one priming packet first, so with input
// starting PRE_ROLL samples before the segment, packet 1 + PRE_ROLL_FRAMES is
// the segment's first frame. The kept packets are written as an fMP4 media
// segment whose tfdt is the segment's position on the timeline.
import { encodePcm } from '../shared/ffmpeg.ts';
import { f32Bytes } from './decode.ts';
import { initSegment, mediaSegment, parseAdts } from './fmp4.ts';
import { ENCODER_PRIMING_PACKETS, FRAME, POST_ROLL, PRE_ROLL, PRE_ROLL_FRAMES, RATE, RENDITION_BITRATE, SEGMENT_FRAMES } from './grid.ts';

export const RENDITION_TRACK = { sampleRate: RATE, channels: 1, bitrate: RENDITION_BITRATE, frameSamples: FRAME };

/** The init segment (EXT-X-MAP) every media segment of the rendition refers to. */
export function renditionInit(): Buffer {
  return initSegment(RENDITION_TRACK);
}

/**
 * Encodes timeline samples [startFrame*1024, (startFrame+frames)*1024) to one
 * fMP4 media segment. `pcm` must hold exactly PRE_ROLL samples before them and
 * POST_ROLL after (silence where the timeline has none).
 */
export async function encodeSegment(opts: { pcm: Float32Array; startFrame: number; frames: number; sequence: number }): Promise<Buffer> {
  return muxSegment(opts, await encodeFrames(opts.pcm, opts.frames));
}

function muxSegment(opts: { startFrame: number; sequence: number }, frames: Buffer[]): Buffer {
  return mediaSegment({ sequence: opts.sequence, baseDecodeTime: opts.startFrame * FRAME, frames, frameSamples: FRAME });
}

let silence: Promise<Buffer[]> | undefined;

/**
 * A full segment of silence between silence, exactly as encodeSegment makes
 * it, but with the AAC frames encoded once per process and reused: a gap on
 * the timeline costs a few bytes per segment and no encoding.
 */
export async function encodeSilentSegment(opts: { startFrame: number; sequence: number }): Promise<Buffer> {
  silence ??= encodeFrames(new Float32Array(PRE_ROLL + SEGMENT_FRAMES * FRAME + POST_ROLL), SEGMENT_FRAMES).catch((err) => {
    silence = undefined;
    throw err;
  });
  return muxSegment(opts, await silence);
}

/** The AAC frames of the `frames` frames after PRE_ROLL in pcm (encoded with pre- and post-roll, then trimmed). */
async function encodeFrames(pcm: Float32Array, frames: number): Promise<Buffer[]> {
  if (pcm.length !== PRE_ROLL + frames * FRAME + POST_ROLL) {
    throw new Error(`encodeSegment: expected ${PRE_ROLL + frames * FRAME + POST_ROLL} samples, got ${pcm.length}`);
  }
  const adts = await encodePcm(f32Bytes(pcm), {
    inputFormat: 'f32le',
    sampleRate: RATE,
    channels: 1,
    outputOptions: ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', String(RENDITION_BITRATE)],
    format: 'adts',
    timeoutMs: 120_000,
  });
  const packets = parseAdts(adts);
  const first = ENCODER_PRIMING_PACKETS + PRE_ROLL_FRAMES;
  if (packets.length < first + frames) {
    throw new Error(`encoder returned ${packets.length} packets, expected at least ${first + frames}`);
  }
  for (const p of packets) {
    if (p.objectType !== 2 || p.sampleRate !== RATE || p.channels !== 1) {
      throw new Error(`encoder returned unexpected AAC (object type ${p.objectType}, ${p.sampleRate} Hz, ${p.channels} ch)`);
    }
  }
  return packets.slice(first, first + frames).map((p) => p.data);
}
