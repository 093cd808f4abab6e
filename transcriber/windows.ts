// Choosing where transcription windows end. whisper.cpp sees at most 30 s at
// a time; a window cut in the middle of a word loses or garbles that word, so
// each window ends at the quietest point of the last few seconds before the
// 30 s limit. A live window is cut as soon as part of that span has arrived,
// not only once all of it has: whatever is not yet windowed when the event
// ends is transcribed after the end, and the published transcript waits for
// it. Pure functions over 16 kHz mono s16le PCM.

export const SAMPLE_RATE = 16000;

export interface WindowOptions {
  /** Longest window, in seconds (whisper's context is 30 s). */
  maxSec?: number;
  /** How far back from maxSec to look for a quiet point, in seconds. */
  searchSec?: number;
  /** RMS frame length in milliseconds (20 to 50 ms works for speech). */
  frameMs?: number;
  /** Frames averaged on each side when scoring quietness (a pause is several frames long). */
  smoothFrames?: number;
  /** Shortest part of the search span, in seconds, that must have arrived before a window is cut early. */
  earlySpanSec?: number;
  /** An early cut stays this far, in seconds, from the newest audio, whose continuation is not known yet. */
  edgeGuardSec?: number;
}

export const WINDOW_DEFAULTS: Required<WindowOptions> = {
  maxSec: 30,
  searchSec: 5,
  frameMs: 30,
  smoothFrames: 2,
  earlySpanSec: 1,
  edgeGuardSec: 0.25,
};

/** A window of the PCM buffer, in samples from its start: [start, end). */
export interface PcmWindow {
  start: number;
  end: number;
}

function samplesOf(pcm: Buffer | Int16Array): Int16Array {
  if (pcm instanceof Int16Array) return pcm;
  const n = pcm.length >> 1;
  // aligned: view the buffer; unaligned (odd byteOffset): copy
  if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, n);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(2 * i);
  return out;
}

/**
 * RMS (0..1, full scale) of consecutive frames of `frameSamples` samples over
 * samples [from, to). The last partial frame is included if non-empty.
 */
export function frameRms(pcm: Buffer | Int16Array, frameSamples: number, from = 0, to?: number): Float64Array {
  const s = samplesOf(pcm);
  const end = Math.min(to ?? s.length, s.length);
  const start = Math.max(0, Math.min(from, end));
  const n = Math.ceil((end - start) / frameSamples);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    const a = start + f * frameSamples;
    const b = Math.min(a + frameSamples, end);
    let sum = 0;
    for (let i = a; i < b; i++) sum += s[i] * s[i];
    out[f] = Math.sqrt(sum / (b - a)) / 32768;
  }
  return out;
}

/** RMS level of the whole buffer in dBFS (-Infinity for digital silence). */
export function levelDb(pcm: Buffer | Int16Array): number {
  const s = samplesOf(pcm);
  if (!s.length) return -Infinity;
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i] * s[i];
  const rms = Math.sqrt(sum / s.length) / 32768;
  return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
}

/** True when the audio is too quiet to hold speech (whisper invents text on silence: skip it). */
export function isSilent(pcm: Buffer | Int16Array, thresholdDb = -55): boolean {
  const s = samplesOf(pcm);
  if (!s.length) return true;
  // judged on the loudest 100 ms frame, so a short word in a quiet window still counts
  const frames = frameRms(s, SAMPLE_RATE / 10);
  let peak = 0;
  for (const r of frames) peak = Math.max(peak, r);
  return peak === 0 || 20 * Math.log10(peak) < thresholdDb;
}

/**
 * Where the window starting at sample `start` should end, or null when more
 * audio is needed. A window ends inside the quietest stretch of the last
 * searchSec before maxSec. With more than maxSec available, that whole span
 * is searched. With less, the window is cut early once `earlySpanSec` of the
 * span (and `edgeGuardSec` past it) has arrived, searching what has arrived:
 * the window is as long as it would have been (maxSec - searchSec or more),
 * and the audio left for after the end stays short. With `final` (no more
 * audio will come) and at most maxSec available, the window takes the rest.
 */
export function chooseWindowEnd(pcm: Buffer | Int16Array, start = 0, opts: WindowOptions & { final?: boolean } = {}): number | null {
  const o = { ...WINDOW_DEFAULTS, ...opts };
  const s = samplesOf(pcm);
  const avail = s.length - start;
  const max = Math.round(o.maxSec * SAMPLE_RATE);
  if (avail <= 0) return null;
  const searchFrom = start + Math.max(0, max - Math.round(o.searchSec * SAMPLE_RATE));
  if (avail > max) return quietestPoint(s, searchFrom, start + max, o);
  if (opts.final) return s.length;
  const arrivedTo = s.length - Math.round(o.edgeGuardSec * SAMPLE_RATE);
  if (arrivedTo - searchFrom < Math.round(o.earlySpanSec * SAMPLE_RATE)) return null;
  return quietestPoint(s, searchFrom, arrivedTo, o);
}

/**
 * The sample in [searchFrom, searchTo) to cut at: frames are scored by their
 * (smoothed) RMS, and the cut falls in the middle of the longest run of frames
 * about as quiet as the quietest (the latest such run on ties), i.e. in the
 * middle of a pause rather than at its edge.
 */
function quietestPoint(s: Int16Array, searchFrom: number, searchTo: number, o: Required<WindowOptions>): number {
  const frame = Math.max(1, Math.round((o.frameMs / 1000) * SAMPLE_RATE));
  const rms = frameRms(s, frame, searchFrom, searchTo);
  if (!rms.length) return searchTo;
  // only whole frames are candidates (the last partial one cannot hold a full pause)
  const whole = Math.max(1, Math.floor((searchTo - searchFrom) / frame));
  const scores = new Float64Array(whole);
  let min = Infinity;
  for (let f = 0; f < whole; f++) {
    let sum = 0;
    let n = 0;
    for (let k = Math.max(0, f - o.smoothFrames); k <= Math.min(whole - 1, f + o.smoothFrames); k++) {
      // the frame itself weighs most; its neighbours favour frames inside a pause over its edges
      const w = k === f ? 4 : 1;
      sum += w * rms[k];
      n += w;
    }
    scores[f] = sum / n;
    min = Math.min(min, scores[f]);
  }
  // frames about as quiet as the quietest; cut in the middle of their longest run (the latest on ties)
  const quiet = min * 1.5 + 1e-5;
  let bestStart = 0;
  let bestLen = 0;
  for (let f = 0; f < whole;) {
    if (scores[f] > quiet) {
      f++;
      continue;
    }
    let g = f;
    while (g < whole && scores[g] <= quiet) g++;
    if (g - f >= bestLen) {
      bestLen = g - f;
      bestStart = f;
    }
    f = g;
  }
  const mid = bestStart + (bestLen - 1) / 2;
  return Math.min(searchTo, searchFrom + Math.round(mid * frame + frame / 2));
}

/**
 * Cuts as many windows as can be cut now from `pcm`, starting at sample
 * `start`. Returns them and the sample where the pending (not yet windowed)
 * audio begins. With `final`, the remainder becomes the last window.
 */
export function planWindows(
  pcm: Buffer | Int16Array,
  opts: WindowOptions & { final?: boolean; start?: number } = {},
): { windows: PcmWindow[]; pendingFrom: number } {
  const s = samplesOf(pcm);
  const windows: PcmWindow[] = [];
  let at = opts.start ?? 0;
  for (;;) {
    const end = chooseWindowEnd(s, at, opts);
    if (end === null || end <= at) break;
    windows.push({ start: at, end });
    at = end;
  }
  return { windows, pendingFrom: at };
}

/** Whisper's encoder sees 30 s as 1500 steps of 20 ms. */
const CTX_PER_SEC = 50;
const FULL_CTX = 1500;
/** Steps past the window's end, so its last word is not cut off by the context's edge. */
const CTX_MARGIN = 64;

/**
 * The encoder context fitted to a window of `sec` seconds, or undefined when
 * the window is long enough that the full 30 s costs about the same.
 */
export function fittedAudioCtx(sec: number): number | undefined {
  const ctx = Math.ceil(sec * CTX_PER_SEC) + CTX_MARGIN;
  return ctx < FULL_CTX * 0.9 ? ctx : undefined;
}

/** The bytes of a window of s16le PCM (a view, not a copy). */
export function slicePcm(pcm: Buffer, w: PcmWindow): Buffer {
  return pcm.subarray(2 * w.start, 2 * w.end);
}
