// Reading faststart m4a files back in tests: their AAC frames (stsz + mdat),
// their decoded samples and the duration ffprobe gives them.
import { execFileSync } from 'node:child_process';

/** The access units of a faststart m4a (ftyp, moov, mdat; frames in order in one mdat), split by its stsz. */
export function m4aFrames(file: Buffer): Buffer[] {
  const stsz = file.indexOf('stsz');
  const count = file.readUInt32BE(stsz + 12);
  const sizes = Array.from({ length: count }, (_, i) => file.readUInt32BE(stsz + 16 + i * 4));
  let at = file.indexOf('mdat') + 4;
  const out: Buffer[] = [];
  for (const n of sizes) {
    out.push(file.subarray(at, at + n));
    at += n;
  }
  if (at !== file.length) throw new Error(`m4a: frames end at ${at}, the file at ${file.length}`);
  return out;
}

/** Decoded mono float samples (ffmpeg applies the edit list). */
export function decodeF32(file: string): Float32Array {
  const b = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'f32le', '-ac', '1', 'pipe:1'], { maxBuffer: 256 << 20 });
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

export function probeDuration(file: string): number {
  return Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString().trim());
}

export function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
