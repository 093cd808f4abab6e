// Every ffmpeg and ffprobe invocation of the project goes through this module.
// fluent-ffmpeg is archived upstream (see README); keeping it behind one file
// means replacing it by a direct spawn touches nothing else.
import ffmpegLib from 'fluent-ffmpeg';
import { spawn, spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface FfmpegInput {
  /** A path, a URL, or a stream fed to ffmpeg's stdin. */
  src: string | Readable;
  options?: string[];
}

export interface FfmpegSpec {
  inputs: FfmpegInput[];
  /** A path (or pattern) or a stream fed from ffmpeg's stdout. */
  output: string | Writable;
  outputOptions: string[];
  /** Options placed before everything else (e.g. -loglevel). */
  globalOptions?: string[];
}

export interface RunningFfmpeg {
  /** Resolves with the process id as soon as ffmpeg is spawned. */
  pid: Promise<number>;
  /** Resolves when ffmpeg exits 0; rejects with its last stderr lines otherwise. */
  done: Promise<void>;
  /** SIGINT makes ffmpeg flush and close its outputs; SIGKILL does not. */
  kill(signal?: NodeJS.Signals): void;
}

export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

function build(spec: FfmpegSpec) {
  const cmd = ffmpegLib();
  // ffmpeg's global options may stand anywhere; placing them with the first
  // input keeps to fluent-ffmpeg's public API. -nostats leaves stderr to errors.
  const globals = ['-hide_banner', '-nostats', '-y', ...(spec.globalOptions ?? [])];
  spec.inputs.forEach((input, i) => {
    cmd.input(input.src as any);
    const opts = [...(i === 0 ? globals : []), ...(input.options ?? [])];
    if (opts.length) cmd.inputOptions(opts);
  });
  cmd.output(spec.output as any).outputOptions(spec.outputOptions);
  return cmd;
}

/** Starts ffmpeg and returns at once; see RunningFfmpeg. */
export function startFfmpeg(spec: FfmpegSpec): RunningFfmpeg {
  const cmd = build(spec);
  let resolvePid!: (pid: number) => void;
  const pid = new Promise<number>((r) => (resolvePid = r));
  const done = new Promise<void>((resolve, reject) => {
    cmd.on('start', () => resolvePid((cmd as any).ffmpegProc?.pid ?? -1));
    cmd.on('end', () => resolve());
    cmd.on('error', (err: Error, _stdout: any, stderr: any) => {
      resolvePid(-1);
      reject(new FfmpegError(`ffmpeg failed: ${lastLines(stderr) || err.message}`, stderr ?? ''));
    });
  });
  done.catch(() => {}); // the caller may only care about the pid; never leave it unhandled
  cmd.run();
  return { pid, done, kill: (signal = 'SIGINT') => cmd.kill(signal) };
}

/** Runs ffmpeg to completion. */
export async function runFfmpeg(spec: FfmpegSpec): Promise<void> {
  await startFfmpeg(spec).done;
}

function lastLines(s: string | undefined, n = 4): string {
  return (s ?? '').trim().split('\n').slice(-n).join(' | ');
}

export interface AudioProbe {
  codec: string;
  sampleRate: number;
  channels: number;
  packets: number;
  /** Exact duration from packet timestamps: last packet end minus first packet start. */
  durationSec: number;
}

/**
 * Probes the first audio stream of a file packet by packet. Works on files cut
 * short by a crash: ffprobe reads every whole packet and stops at the tear.
 */
export function probeAudio(file: string): Promise<AudioProbe> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffprobe', [
      '-v', 'error', '-select_streams', 'a:0',
      '-show_entries', 'stream=codec_name,sample_rate,channels:packet=pts_time,duration_time',
      '-of', 'json', file,
    ]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        const j = JSON.parse(out || '{}');
        const s = j.streams?.[0];
        if (!s) return reject(new FfmpegError(`no audio stream in ${file}${code ? `: ${lastLines(err)}` : ''}`, err));
        const pk: { pts_time?: string; duration_time?: string }[] = j.packets ?? [];
        let first = Infinity;
        let last = -Infinity;
        for (const x of pk) {
          const t = Number(x.pts_time);
          const d = Number(x.duration_time ?? 0);
          if (!Number.isFinite(t)) continue;
          first = Math.min(first, t);
          last = Math.max(last, t + (Number.isFinite(d) ? d : 0));
        }
        resolve({
          codec: s.codec_name,
          sampleRate: Number(s.sample_rate),
          channels: Number(s.channels),
          packets: pk.length,
          durationSec: pk.length && Number.isFinite(first) ? last - first : 0,
        });
      } catch (e) {
        reject(e);
      }
    });
  });
}

const INSTALL_HINT: Record<string, string> = {
  ffmpeg: 'apt-get install -y ffmpeg',
  ffprobe: 'apt-get install -y ffmpeg',
  'redis-server': 'apt-get install -y redis-server',
};

/** Throws one clear line naming what to install when a required program is missing. */
export function assertPrograms(names: string[]): void {
  const missing = names.filter((n) => spawnSync(n, ['-version'], { stdio: 'ignore' }).error);
  if (missing.length) {
    const hints = [...new Set(missing.map((m) => INSTALL_HINT[m] ?? `install ${m}`))];
    throw new Error(`missing ${missing.join(', ')}: install with \`${hints.join(' && ')}\` (or run scripts/setup.sh)`);
  }
}
