// Audio facts for assertions, measured with the real ffprobe.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeAudio } from '../../shared/ffmpeg.ts';

/** Exact duration of MPEG-TS files played back to back (the HLS origin's whole output). */
export async function concatDuration(files: string[]): Promise<number> {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replay-cat-')), 'all.ts');
  fs.writeFileSync(tmp, Buffer.concat(files.map((f) => fs.readFileSync(f))));
  try {
    return (await probeAudio(tmp)).durationSec;
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

export function hlsSegmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Samples [from, from + n) of a 48 kHz timeline holding a chirp under a
 * tremolo (silence before 0): every part of the timeline differs, so a
 * misplaced frame shows.
 */
export function chirpPcm(from: number, n: number, rate = 48_000): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (from + i) / rate;
    out[i] = from + i < 0 ? 0 : 0.4 * Math.sin(2 * Math.PI * (300 * t + 4 * t * t)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.7 * t));
  }
  return out;
}
