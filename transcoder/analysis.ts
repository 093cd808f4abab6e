// Measurements made segment by segment on the decoded timeline PCM (48 kHz
// mono float) and merged EXACTLY at the end, with no second pass over the
// audio:
//
// - waveform peaks: min/max per 2400-sample pixel (20 per second) on the
//   timeline grid; a pixel cut by a segment boundary is stored as two partial
//   min/max pairs and merged with min/max;
// - loudness (ITU-R BS.1770-4 / EBU R128): the K-weighted sum of squares per
//   100 ms cell of the timeline grid; a cell cut by a segment boundary is two
//   partial sums that add up exactly. Every 400 ms gating block (hop 100 ms)
//   and every 3 s short-term window is a run of whole cells, so integrated
//   loudness and loudness range are computed at the end from the cells alone;
// - true peak: 4x oversampling with the BS.1770-4 Annex 2 interpolator, the
//   maximum per segment (a max merges exactly).
//
// Each function reads the samples it needs before `start` (filter warm-up and
// FIR history) from the caller's buffer, which holds the segment's pre-roll.
import { ASR_DECIMATION, LOUDNESS_CELL, PEAKS_SAMPLES_PER_PIXEL, RATE } from './grid.ts';

/** A span of timeline PCM: pcm[0] is timeline sample `pcmStart`. */
export interface PcmSpan {
  pcm: Float32Array;
  pcmStart: number;
}

// ---------------------------------------------------------------- peaks

export interface PeaksPart {
  /** Pixel index (timeline sample / 2400) of the first pair. */
  firstPixel: number;
  /** int8 pairs [min, max, min, max, ...] (a typed array when read back from a merged run). */
  data: ArrayLike<number>;
}

/** audiowaveform / peaks.js "dat as JSON" shape. */
export interface PeaksJson {
  version: 2;
  channels: 1;
  sample_rate: number;
  samples_per_pixel: number;
  bits: 8;
  length: number;
  data: number[];
}

const q8 = (v: number) => Math.max(-128, Math.min(127, Math.floor(v * 128)));

/** Min/max pixels of timeline samples [start, end). */
export function peaksOf(span: PcmSpan, start: number, end: number): PeaksPart {
  const { pcm, pcmStart } = span;
  const spp = PEAKS_SAMPLES_PER_PIXEL;
  const firstPixel = Math.floor(start / spp);
  const data: number[] = [];
  for (let px = firstPixel; px * spp < end; px++) {
    const a = Math.max(start, px * spp);
    const b = Math.min(end, (px + 1) * spp);
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = a - pcmStart, e = b - pcmStart; n < e; n++) {
      const v = pcm[n];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    data.push(q8(lo), q8(hi));
  }
  return { firstPixel, data };
}

/** peaksOf of silence, without reading any samples: a gap costs the same whatever its length. */
export function silentPeaks(start: number, end: number): PeaksPart {
  const firstPixel = Math.floor(start / PEAKS_SAMPLES_PER_PIXEL);
  return { firstPixel, data: new Array<number>(2 * (Math.ceil(end / PEAKS_SAMPLES_PER_PIXEL) - firstPixel)).fill(0) };
}

/**
 * The min/max pairs of pixels [first, first + length) over every part (parts
 * outside are cut off); a pixel nothing covers gets `empty`.
 */
function peakPairs(parts: PeaksPart[], first: number, length: number, empty: [number, number]): number[] {
  const lo = new Int8Array(length).fill(127);
  const hi = new Int8Array(length).fill(-128);
  for (const p of parts) {
    for (let i = 0; i < p.data.length / 2; i++) {
      const px = p.firstPixel - first + i;
      if (px < 0 || px >= length) continue;
      lo[px] = Math.min(lo[px], p.data[2 * i]);
      hi[px] = Math.max(hi[px], p.data[2 * i + 1]);
    }
  }
  const data: number[] = new Array<number>(2 * length);
  for (let px = 0; px < length; px++) {
    const covered = lo[px] <= hi[px];
    data[2 * px] = covered ? lo[px] : empty[0];
    data[2 * px + 1] = covered ? hi[px] : empty[1];
  }
  return data;
}

/** Merges parts into the whole-timeline waveform of `totalSamples` samples (pixels nothing covers are 0, 0). */
export function mergePeaks(parts: PeaksPart[], totalSamples: number): PeaksJson {
  const length = Math.ceil(totalSamples / PEAKS_SAMPLES_PER_PIXEL);
  const data = peakPairs(parts, 0, length, [0, 0]);
  return { version: 2, channels: 1, sample_rate: RATE, samples_per_pixel: PEAKS_SAMPLES_PER_PIXEL, bits: 8, length, data };
}

/**
 * Several parts as one (a run of segments merged while live): each pixel the
 * min and max of every part's pair for it, so mergePeaks gives the same result
 * from the merged part as from the parts.
 */
export function mergePeaksParts(parts: PeaksPart[]): PeaksPart {
  if (!parts.length) return { firstPixel: 0, data: [] };
  const first = Math.min(...parts.map((p) => p.firstPixel));
  const end = Math.max(...parts.map((p) => p.firstPixel + p.data.length / 2));
  // An uncovered pixel stays uncovered (min above max), so the whole waveform still shows it as nothing.
  return { firstPixel: first, data: peakPairs(parts, first, end - first, [127, -128]) };
}

// ---------------------------------------------------------------- loudness

export interface LoudnessPart {
  /** Cell index (timeline sample / 4800) of sums[0]. */
  firstCell: number;
  /** K-weighted sum of squares of this part's samples in each cell (a typed array when read back from a merged run). */
  sums: ArrayLike<number>;
  /** Largest |sample| and largest 4x-interpolated |value|, linear. */
  samplePeak: number;
  truePeak: number;
}

export interface LoudnessSummary {
  /** Integrated loudness, LUFS (-Infinity when every block is gated out). */
  integratedLufs: number;
  /** Relative gate of the integrated measurement, LUFS. */
  thresholdLufs: number;
  /** Loudness range, LU (EBU Tech 3342), with its low and high percentiles. */
  lraLu: number;
  lraLowLufs: number;
  lraHighLufs: number;
  truePeakDbtp: number;
  samplePeakDbfs: number;
  /** 400 ms gating blocks and 3 s short-term windows measured. */
  blocks: number;
  shortTermWindows: number;
  durationSec: number;
  /** What was measured: the 48 kHz mono timeline before AAC encoding. */
  measuredOn: string;
}

// BS.1770-4 K-weighting at 48 kHz: high shelf (stage 1), then RLB high-pass.
const K1 = { b0: 1.53512485958697, b1: -2.69169618940638, b2: 1.19839281085285, a1: -1.69065929318241, a2: 0.73248077421585 };
const K2 = { b0: 1.0, b1: -2.0, b2: 1.0, a1: -1.99004745483398, a2: 0.99007225036621 };

// BS.1770-4 Annex 2 interpolator: 4 phases x 12 taps, y_p[n] = sum h_p[k] x[n-k].
const TP_PHASES = [
  [
    0.001708984375, 0.010986328125, -0.0196533203125, 0.033203125, -0.0594482421875, 0.1373291015625, 0.97216796875, -0.102294921875, 0.047607421875,
    -0.026611328125, 0.014892578125, -0.00830078125,
  ],
  [
    -0.0291748046875, 0.029296875, -0.0517578125, 0.089111328125, -0.16650390625, 0.465087890625, 0.77978515625, -0.2003173828125, 0.1015625, -0.0582275390625,
    0.0330810546875, -0.0189208984375,
  ],
  [
    -0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625, -0.2003173828125, 0.77978515625, 0.465087890625, -0.16650390625, 0.089111328125,
    -0.0517578125, 0.029296875, -0.0291748046875,
  ],
  [
    -0.00830078125, 0.014892578125, -0.026611328125, 0.047607421875, -0.102294921875, 0.97216796875, 0.1373291015625, -0.0594482421875, 0.033203125,
    -0.0196533203125, 0.010986328125, 0.001708984375,
  ],
].map((p) => Float64Array.from(p));
const TP_TAPS = 12;

/**
 * K-weighted cell sums and peaks of timeline samples [start, end). The
 * K-filter starts from rest at pcm[0] and runs through the pre-roll, so its
 * state at `start` is that of a filter run over the whole timeline to within
 * ~1e-9 after 4096 samples (the slowest pole decays as 0.995^n); at timeline
 * 0 the pre-roll is silence, exactly as for a whole-file meter.
 */
export function loudnessOf(span: PcmSpan, start: number, end: number): LoudnessPart {
  const { pcm, pcmStart } = span;
  const cell = LOUDNESS_CELL;
  const firstCell = Math.floor(start / cell);
  const sums: number[] = new Array<number>(Math.ceil(end / cell) - firstCell).fill(0);
  let x1 = 0,
    x2 = 0,
    y1 = 0,
    y2 = 0,
    z1 = 0,
    z2 = 0;
  const from = start - pcmStart;
  const to = end - pcmStart;
  let nextCellAt = (firstCell + 1) * cell - pcmStart; // pcm index where the next cell begins
  let ci = 0;
  let acc = 0;
  for (let i = 0; i < to; i++) {
    const x = pcm[i];
    const y = K1.b0 * x + K1.b1 * x1 + K1.b2 * x2 - K1.a1 * y1 - K1.a2 * y2;
    x2 = x1;
    x1 = x;
    const z = K2.b0 * y + K2.b1 * y1 + K2.b2 * y2 - K2.a1 * z1 - K2.a2 * z2;
    y2 = y1;
    y1 = y;
    z2 = z1;
    z1 = z;
    if (i < from) continue;
    if (i === nextCellAt) {
      sums[ci++] += acc;
      acc = 0;
      nextCellAt += cell;
    }
    acc += z * z;
  }
  sums[ci] += acc;

  let samplePeak = 0;
  let truePeak = 0;
  if (from < TP_TAPS - 1) throw new Error('loudnessOf needs at least 11 samples before start');
  for (let i = from; i < to; i++) {
    const a = Math.abs(pcm[i]);
    if (a > samplePeak) samplePeak = a;
  }
  const [h0, h1, h2, h3] = TP_PHASES;
  for (let i = from; i < to; i++) {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let k = 0; k < TP_TAPS; k++) {
      const x = pcm[i - k];
      s0 += h0[k] * x;
      s1 += h1[k] * x;
      s2 += h2[k] * x;
      s3 += h3[k] * x;
    }
    const m = Math.max(Math.abs(s0), Math.abs(s1), Math.abs(s2), Math.abs(s3));
    if (m > truePeak) truePeak = m;
  }
  return { firstCell, sums, samplePeak, truePeak: Math.max(truePeak, samplePeak) };
}

/** loudnessOf of silence (after silence), without filtering any samples. */
export function silentLoudness(start: number, end: number): LoudnessPart {
  const firstCell = Math.floor(start / LOUDNESS_CELL);
  return { firstCell, sums: new Array<number>(Math.ceil(end / LOUDNESS_CELL) - firstCell).fill(0), samplePeak: 0, truePeak: 0 };
}

const lufs = (meanSquare: number) => -0.691 + 10 * Math.log10(meanSquare);
const ABS_GATE = -70;
/** A window's running sum is summed afresh this often (combineLoudness). */
const RESUM = 1024;

/**
 * Cells [first, first + length) summed over every part, in the parts' order
 * (parts outside are cut off), and the largest peaks.
 */
function cellSums(parts: LoudnessPart[], first: number, length: number): { cells: Float64Array; samplePeak: number; truePeak: number } {
  const cells = new Float64Array(length);
  let samplePeak = 0;
  let truePeak = 0;
  for (const p of parts) {
    for (let i = 0; i < p.sums.length; i++) {
      const c = p.firstCell - first + i;
      if (c >= 0 && c < length) cells[c] += p.sums[i];
    }
    samplePeak = Math.max(samplePeak, p.samplePeak);
    truePeak = Math.max(truePeak, p.truePeak);
  }
  return { cells, samplePeak, truePeak };
}

/**
 * Several parts as one: each cell the sum of every part's sum for it, added in
 * the parts' order (as combineLoudness adds them), and the largest peaks.
 */
export function mergeLoudnessParts(parts: LoudnessPart[]): LoudnessPart {
  if (!parts.length) return { firstCell: 0, sums: [], samplePeak: 0, truePeak: 0 };
  const first = Math.min(...parts.map((p) => p.firstCell));
  const end = Math.max(...parts.map((p) => p.firstCell + p.sums.length));
  const { cells, samplePeak, truePeak } = cellSums(parts, first, end - first);
  return { firstCell: first, sums: cells, samplePeak, truePeak };
}

/** Integrated loudness, loudness range and peaks of a timeline of `totalSamples` from its parts. */
export function combineLoudness(parts: LoudnessPart[], totalSamples: number): LoudnessSummary {
  const nCells = Math.floor(totalSamples / LOUDNESS_CELL); // a trailing partial cell ends no block
  const { cells, samplePeak, truePeak } = cellSums(parts, 0, nCells);
  // Mean square of every window of n whole cells, hop one cell (100 ms). Typed arrays throughout: a 10-hour
  // event has 360,000 cells, and this runs while listeners wait for the replay. A running sum (one cell in,
  // one out), summed afresh every RESUM windows so that rounding cannot build up (the cells are all >= 0).
  const windowEnergies = (n: number) => {
    const out = new Float64Array(Math.max(0, nCells - n + 1));
    let s = 0;
    for (let j = 0; j < out.length; j++) {
      if (j % RESUM === 0) {
        s = 0;
        for (let c = j; c < j + n; c++) s += cells[c];
      } else s += cells[j + n - 1] - cells[j - 1];
      out[j] = Math.max(0, s) / (n * LOUDNESS_CELL);
    }
    return out;
  };
  /**
   * The energies whose loudness is above `gate` (LUFS), in order: compared as energies (the logarithm is
   * monotonic), not one logarithm each; plain loops (a typed array's filter is several times slower).
   */
  const gated = (energies: Float64Array, gate: number) => {
    const above = 10 ** ((gate + 0.691) / 10);
    const out = new Float64Array(energies.length);
    let n = 0;
    for (const e of energies) if (e > above) out[n++] = e;
    return out.subarray(0, n);
  };
  const mean = (a: Float64Array) => {
    let s = 0;
    for (const v of a) s += v;
    return s / a.length;
  };

  // Integrated: 400 ms blocks, absolute gate -70 LUFS, relative gate -10 LU.
  const blocks = windowEnergies(4);
  const absGated = gated(blocks, ABS_GATE);
  let integratedLufs = -Infinity;
  let thresholdLufs = -Infinity;
  if (absGated.length) {
    thresholdLufs = lufs(mean(absGated)) - 10;
    const relGated = gated(absGated, thresholdLufs);
    if (relGated.length) integratedLufs = lufs(mean(relGated));
  }

  // Loudness range: 3 s short-term windows every 100 ms, absolute gate, relative gate -20 LU, P95 - P10.
  const st = windowEnergies(30);
  const stAbs = gated(st, ABS_GATE);
  let lraLu = 0;
  let lraLowLufs = -Infinity;
  let lraHighLufs = -Infinity;
  if (stAbs.length) {
    const gate = lufs(mean(stAbs)) - 20;
    const vals = gated(stAbs, gate).map(lufs);
    vals.sort(); // a typed array sorts by value
    if (vals.length) {
      // The value of rank round(p * n) (1-based), as ffmpeg's ebur128 and EBU Tech 3342's example code pick it.
      const pct = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.round(p * vals.length) - 1))];
      lraLowLufs = pct(0.1);
      lraHighLufs = pct(0.95);
      lraLu = lraHighLufs - lraLowLufs;
    }
  }
  const db = (v: number) => (v > 0 ? 20 * Math.log10(v) : -Infinity);
  return {
    integratedLufs,
    thresholdLufs,
    lraLu,
    lraLowLufs,
    lraHighLufs,
    truePeakDbtp: db(truePeak),
    samplePeakDbfs: db(samplePeak),
    blocks: blocks.length,
    shortTermWindows: st.length,
    durationSec: totalSamples / RATE,
    measuredOn: 'timeline PCM, 48 kHz mono float, before AAC encoding',
  };
}

// ---------------------------------------------------------------- 16 kHz PCM for the transcriber

const ASR_HALF = 32;
const ASR_FIR = (() => {
  // Windowed sinc (Blackman), cutoff 7 kHz at 48 kHz, 65 taps, unity DC gain.
  const fc = 7000 / RATE;
  const h = new Float64Array(2 * ASR_HALF + 1);
  let sum = 0;
  for (let t = -ASR_HALF; t <= ASR_HALF; t++) {
    const x = 2 * Math.PI * fc * t;
    const sinc = t === 0 ? 1 : Math.sin(x) / x;
    const w = 0.42 + 0.5 * Math.cos((Math.PI * t) / (ASR_HALF + 1)) + 0.08 * Math.cos((2 * Math.PI * t) / (ASR_HALF + 1));
    h[t + ASR_HALF] = sinc * w;
    sum += h[t + ASR_HALF];
  }
  for (let i = 0; i < h.length; i++) h[i] /= sum;
  return h;
})();

/**
 * 16 kHz mono s16le of timeline samples [start, end): output sample j is
 * timeline sample start + 3j, low-pass filtered. `start` must be a multiple of
 * 3 so that every span lands on one global 16 kHz grid.
 */
export function decimateForAsr(span: PcmSpan, start: number, end: number): Buffer {
  if (start % ASR_DECIMATION) throw new Error('decimateForAsr: start must be on the 16 kHz grid');
  const { pcm, pcmStart } = span;
  const n = Math.ceil((end - start) / ASR_DECIMATION);
  const out = Buffer.alloc(n * 2);
  const h = ASR_FIR;
  const mid = h[ASR_HALF];
  for (let j = 0; j < n; j++) {
    const c = start + ASR_DECIMATION * j - pcmStart;
    let s = mid * pcm[c];
    for (let k = 1; k <= ASR_HALF; k++) s += h[ASR_HALF + k] * (pcm[c - k] + pcm[c + k]); // symmetric taps
    const v = Math.round(s * 32767);
    out.writeInt16LE(v > 32767 ? 32767 : v < -32768 ? -32768 : v, 2 * j);
  }
  return out;
}
