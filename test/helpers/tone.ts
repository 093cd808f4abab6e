// The tones tests and benchmarks feed the service. A live source is ffmpeg
// encoding a sine to 64 kb/s AAC in real time (-re), each caller adding its
// muxer; a finished source is a tone in MPEG-TS, cut as the recorder cuts.
import fs from 'node:fs';
import path from 'node:path';
import { ffmpegBuffers } from '../../shared/ffmpeg.ts';

export interface LiveToneOptions {
  freq: number;
  seconds: number;
  sampleRate?: number;
  mono?: boolean;
}

/** ffmpeg's arguments for a WAV file (espeak-ng speech) as 48 kHz mono 64 kb/s AAC in ADTS, up to (not including) the output; `realTime` paces it (-re). */
export function wavToAdtsArgs(wav: string, seconds: number, realTime: boolean): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    ...(realTime ? ['-re'] : ['-y']),
    '-i',
    wav,
    '-t',
    String(seconds),
    '-ar',
    '48000',
    '-ac',
    '1',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'adts',
  ];
}

/** ffmpeg's arguments up to (not including) the muxer: a real-time sine tone as 64 kb/s AAC. */
export function liveToneArgs(o: LiveToneOptions): string[] {
  const input = ['-re', '-f', 'lavfi', '-i', `sine=frequency=${o.freq}:sample_rate=${o.sampleRate ?? 48000}`, '-t', String(o.seconds)];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, '-c:a', 'aac', '-b:a', '64k', ...(o.mono ? ['-ac', '1'] : [])];
}

/** Encodes `seconds` of a sine as mono 128 kb/s AAC in MPEG-TS, as fast as ffmpeg can: a finished source to cut. */
export async function encodeToneTs(file: string, o: { seconds: number; sampleRate: number; freq?: number }): Promise<void> {
  const sine = `sine=frequency=${o.freq ?? 1000}:sample_rate=${o.sampleRate}:duration=${o.seconds}`;
  await ffmpegBuffers(['-loglevel', 'error', '-f', 'lavfi', '-i', sine, '-ac', '1', '-c:a', 'aac', '-b:a', '128k', '-f', 'mpegts', file]);
}

/** Cuts an MPEG-TS file into chunks of about `chunkSec` by stream copy, as the recorder's segmenter does; the chunk files in order. */
export async function cutIntoChunks(src: string, dir: string, chunkSec: number): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, '%05d.ts');
  await ffmpegBuffers(['-loglevel', 'error', '-i', src, '-c', 'copy', '-f', 'segment', '-segment_time', String(chunkSec), '-segment_format', 'mpegts', out]);
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => path.join(dir, f));
}
