// Checks of a decoded rendition against a pure tone, shared by the tests and
// the benchmark: fit the tone (known frequency, free amplitude and phase) by
// least squares over a short window and report the residual relative to the
// tone. A click, a dropout or a phase jump inside the window shows as a
// residual far above the codec's noise floor.

export interface ToneFit {
  amplitude: number;
  /** 10 log10(residual energy / fitted tone energy). */
  residualDb: number;
}

export function fitTone(x: Float32Array, from: number, to: number, freq: number, rate = 48000): ToneFit {
  let cc = 0,
    ss = 0,
    cs = 0,
    xc = 0,
    xs = 0;
  const w = (2 * Math.PI * freq) / rate;
  for (let n = from; n < to; n++) {
    const c = Math.cos(w * n),
      s = Math.sin(w * n),
      v = x[n];
    cc += c * c;
    ss += s * s;
    cs += c * s;
    xc += v * c;
    xs += v * s;
  }
  const det = cc * ss - cs * cs;
  const a = (xc * ss - xs * cs) / det;
  const b = (xs * cc - xc * cs) / det;
  let res = 0,
    tone = 0;
  for (let n = from; n < to; n++) {
    const f = a * Math.cos(w * n) + b * Math.sin(w * n);
    res += (x[n] - f) ** 2;
    tone += f * f;
  }
  return { amplitude: Math.hypot(a, b), residualDb: 10 * Math.log10(res / Math.max(tone, 1e-30)) };
}

export interface ScanResult {
  windows: number;
  worstDb: number;
  worstAtSec: number;
  /** Median residual: the codec's noise floor on this tone. */
  medianDb: number;
}

/** Residual of windows of `windowSec` every `hopSec` over [fromSec, toSec). */
export function scanTone(x: Float32Array, o: { freq: number; fromSec: number; toSec: number; windowSec?: number; hopSec?: number; rate?: number }): ScanResult {
  const rate = o.rate ?? 48000;
  const win = Math.round((o.windowSec ?? 0.02) * rate);
  const hop = Math.round((o.hopSec ?? 0.01) * rate);
  const all: number[] = [];
  let worstDb = -Infinity;
  let worstAt = 0;
  for (let s = Math.round(o.fromSec * rate); s + win <= Math.min(x.length, Math.round(o.toSec * rate)); s += hop) {
    const r = fitTone(x, s, s + win, o.freq, rate).residualDb;
    all.push(r);
    if (r > worstDb) {
      worstDb = r;
      worstAt = s / rate;
    }
  }
  all.sort((a, b) => a - b);
  return { windows: all.length, worstDb, worstAtSec: worstAt, medianDb: all.length ? all[all.length >> 1] : NaN };
}

/** Residual of a window centred on each given time (s). */
export function residualsAt(
  x: Float32Array,
  timesSec: number[],
  o: { freq: number; windowSec?: number; rate?: number },
): { atSec: number; residualDb: number }[] {
  const rate = o.rate ?? 48000;
  const half = Math.round(((o.windowSec ?? 0.02) * rate) / 2);
  return timesSec.map((t) => {
    const c = Math.round(t * rate);
    return { atSec: t, residualDb: fitTone(x, c - half, c + half, o.freq, rate).residualDb };
  });
}

/** Largest |x[n+1] - x[n]| over [from, to). */
export function maxStep(x: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let n = Math.max(0, from); n + 1 < Math.min(x.length, to); n++) m = Math.max(m, Math.abs(x[n + 1] - x[n]));
  return m;
}

export function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let n = from; n < to; n++) s += x[n] * x[n];
  return Math.sqrt(s / Math.max(1, to - from));
}
