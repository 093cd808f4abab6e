// Seamless decoding of the archived source chunks onto the 48 kHz timeline.
//
// Chunks of one capture session are stream copies cut from one continuous
// source stream. A run is a maximal sequence of consecutive chunks of one
// session, each starting where the previous ended. Within a run:
//
// - chunk c is decoded with the previous chunk's bytes prepended (MPEG-TS and
//   ADTS concatenate), so the AAC/MP3 decoder's warm-up (overlap-add, bit
//   reservoir) and the resampler's start edge fall in the prepended part,
//   which is discarded;
// - positions come from the timeline: a chunk's first source sample in its run
//   is (startSec - run startSec) * sourceRate, snapped to whole codec frames
//   (chunks are cut on packet boundaries; MPEG-TS timestamps are only good to
//   a 90 kHz tick, i.e. to about half a sample at 48 kHz, so unsnapped
//   positions would put sub-sample phase steps at the joins);
// - the resampler's output grid is anchored on the run's origin: the decode
//   starts (atrim) on a source sample whose time is a whole number of 48 kHz
//   samples from the run start (a multiple of 147 at 44.1 kHz), so every
//   chunk's decode lands on the same 48 kHz grid as one continuous resample of
//   the run would, sample for sample;
// - the resampler's end-of-stream flush touches the last few samples of each
//   decode: the last HOLD_BACK samples are provisional and are superseded by
//   the next chunk's decode (its piece starts HOLD_BACK samples early).
//
// Between runs the timeline has silence (a gap) or the next session.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeToPcm, probeAudio } from '../shared/ffmpeg.ts';
import { HOLD_BACK, RATE, secToSample } from './grid.ts';

export interface ChunkRef {
  seq: number;
  sessionNo: number;
  key: string;
  startSec: number;
  durationSec: number;
}

export interface SourceFormat {
  codec: string;
  sampleRate: number;
  channels: number;
  /** Samples per codec frame (1024 AAC-LC, 2048 HE-AAC, 1152 MP3). */
  frameSize: number;
}

/** Consecutive chunks closer than this (s) are one continuous stream. */
export const CONTIGUITY_TOLERANCE_SEC = 0.015;

export function contiguous(prev: ChunkRef, next: ChunkRef): boolean {
  return (
    next.seq === prev.seq + 1 && next.sessionNo === prev.sessionNo && Math.abs(prev.startSec + prev.durationSec - next.startSec) <= CONTIGUITY_TOLERANCE_SEC
  );
}

/** Minimum source audio to prepend before a chunk (whole previous chunks are taken). */
const MIN_PREPEND_SEC = 0.5;

export interface RunPosition {
  /** First chunk of the run. */
  first: ChunkRef;
  /** Chunks to prepend to the decode, oldest first (empty at a run start). */
  prepend: ChunkRef[];
}

/** Where chunk `seq` stands in its run; `chunks` are the event's chunks sorted by seq. */
export function runPosition(chunks: ChunkRef[], seq: number): RunPosition {
  const i = chunks.findIndex((c) => c.seq === seq);
  if (i < 0) throw new Error(`chunk ${seq} is not in the catalog`);
  let f = i;
  while (f > 0 && contiguous(chunks[f - 1], chunks[f])) f--;
  const prepend: ChunkRef[] = [];
  let sec = 0;
  for (let j = i - 1; j >= f && sec < MIN_PREPEND_SEC; j--) {
    prepend.unshift(chunks[j]);
    sec += chunks[j].durationSec;
  }
  return { first: chunks[f], prepend };
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

export interface PieceLayout {
  /** Timeline sample of the run's origin. */
  runOrigin48: number;
  /** Source samples from the run start to the start of the decode (first prepended chunk, or the chunk). */
  decodeFrom: number;
  /** Source samples dropped at the start of the decode to land on the 48 kHz grid. */
  trim: number;
  /** Timeline sample of decoded output sample 0. */
  output0: number;
  /** The piece: timeline samples [start48, end48), provisional past mainEnd48. */
  start48: number;
  mainEnd48: number;
  end48: number;
}

/** Where a chunk's PCM goes on the timeline (pure arithmetic, see the file comment). */
export function pieceLayout(chunk: ChunkRef, run: RunPosition, fmt: SourceFormat): PieceLayout {
  const rate = fmt.sampleRate;
  const frame = fmt.frameSize > 0 ? fmt.frameSize : 1;
  const inRun = (sec: number) => Math.round(((sec - run.first.startSec) * rate) / frame) * frame;
  const to48 = (n: number) => Math.ceil((n * RATE) / rate);
  const runOrigin48 = secToSample(run.first.startSec);
  const nChunk = inRun(chunk.startSec);
  const nEnd = inRun(chunk.startSec + chunk.durationSec);
  const decodeFrom = run.prepend.length ? inRun(run.prepend[0].startSec) : nChunk;
  const step = rate / gcd(rate, RATE);
  const trim = (step - (decodeFrom % step)) % step;
  const output0 = runOrigin48 + ((decodeFrom + trim) * RATE) / rate;
  const end48 = runOrigin48 + to48(nEnd);
  const start48 = runOrigin48 + to48(nChunk) - (run.prepend.length ? HOLD_BACK : 0);
  const mainEnd48 = Math.max(start48, end48 - HOLD_BACK);
  return { runOrigin48, decodeFrom, trim, output0, start48, mainEnd48, end48 };
}

/** Probes a chunk's codec, rate, channels and frame size from its bytes. */
export async function probeChunk(bytes: Buffer): Promise<SourceFormat> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'replay-probe-'));
  const file = path.join(dir, 'chunk');
  try {
    await fs.writeFile(file, bytes);
    const p = await probeAudio(file);
    if (!p.sampleRate || !p.channels) throw new Error(`chunk has no usable audio stream (${p.codec})`);
    const frameSize = p.packets > 0 ? Math.round((p.durationSec * p.sampleRate) / p.packets) : 0;
    return { codec: p.codec, sampleRate: p.sampleRate, channels: p.channels, frameSize };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export interface DecodedPiece {
  layout: PieceLayout;
  /** Timeline samples [layout.start48, layout.end48). */
  pcm: Float32Array;
  /** Samples missing at the end of the decode (padded with silence). */
  shortSamples: number;
}

/** Float32 view of little-endian f32 bytes (copied when unaligned). */
export function f32(buf: Buffer): Float32Array {
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  const copy = new Uint8Array(buf.length - (buf.length % 4));
  copy.set(buf.subarray(0, copy.length));
  return new Float32Array(copy.buffer);
}

export function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Decodes `chunk` (with the run's previous chunk(s) prepended) to mono 48 kHz
 * float PCM and cuts out its piece of the timeline.
 */
export async function decodePiece(opts: {
  chunk: ChunkRef;
  run: RunPosition;
  format: SourceFormat;
  /** Bytes of the prepended chunks (oldest first) then of the chunk. */
  bytes: Buffer[];
}): Promise<DecodedPiece> {
  const { format } = opts;
  const layout = pieceLayout(opts.chunk, opts.run, format);
  const filters: string[] = [];
  if (format.channels === 2) filters.push('pan=mono|c0=0.5*c0+0.5*c1');
  if (layout.trim) filters.push(`atrim=start_sample=${layout.trim}`, 'asetpts=PTS-STARTPTS');
  filters.push(`aresample=${RATE}`);
  const out = await decodeToPcm(opts.bytes, { format: 'f32le', channels: 1, filter: filters.join(','), timeoutMs: 120_000 });
  const decoded = f32(out);
  const from = layout.start48 - layout.output0;
  const n = layout.end48 - layout.start48;
  if (from < 0) throw new Error(`decode layout error: piece starts ${-from} samples before the decode`);
  const pcm = new Float32Array(n);
  const avail = Math.max(0, Math.min(n, decoded.length - from));
  pcm.set(decoded.subarray(from, from + avail));
  return { layout, pcm, shortSamples: n - avail };
}
