// Every ffmpeg and ffprobe invocation of the project goes through this module.
// fluent-ffmpeg is archived upstream (see README); keeping it behind one file
// means replacing it by a direct spawn touches nothing else.
import ffmpegLib from 'fluent-ffmpeg';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
  /** Called with the output time ffmpeg has reached, in seconds, from its progress reports (twice a second). */
  onProgress?: (outSec: number) => void;
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

/** fluent-ffmpeg keeps the spawned process in `ffmpegProc` while it runs; its typings do not declare it. */
type FfmpegCommandWithProcess = ffmpegLib.FfmpegCommand & { ffmpegProc?: ChildProcess };

function build(spec: FfmpegSpec): FfmpegCommandWithProcess {
  const cmd = ffmpegLib();
  // ffmpeg's global options may stand anywhere; placing them with the first
  // input keeps to fluent-ffmpeg's public API. -nostats leaves stderr to errors,
  // unless progress is wanted: fluent-ffmpeg reads it from the stats lines.
  const stats = spec.onProgress ? ['-stats', '-stats_period', '0.5'] : ['-nostats'];
  const globals = ['-hide_banner', ...stats, '-y', ...(spec.globalOptions ?? [])];
  spec.inputs.forEach((input, i) => {
    cmd.input(input.src);
    const opts = [...(i === 0 ? globals : []), ...(input.options ?? [])];
    if (opts.length) cmd.inputOptions(opts);
  });
  cmd.output(spec.output).outputOptions(spec.outputOptions);
  const onProgress = spec.onProgress;
  if (onProgress) {
    cmd.on('progress', (p: { timemark?: string }) => {
      const sec = timemarkSec(p.timemark);
      if (sec !== undefined) onProgress(sec);
    });
  }
  return cmd;
}

/** ffmpeg's `time=HH:MM:SS.cc` as seconds; undefined for anything else (e.g. `N/A`). */
export function timemarkSec(mark: string | undefined): number | undefined {
  const m = /^(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(mark ?? '');
  if (!m) return undefined;
  const sec = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  return m[1] ? -sec : sec;
}

/**
 * fluent-ffmpeg asks ffmpeg for its formats and encoders before each run and
 * caches the answer only once a run has finished: a hundred recordings
 * starting together would spawn two hundred probes. Ask once, up front.
 */
export function warmUpFfmpeg(): Promise<void> {
  const ask = (fn: (cb: (err: Error | null) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
  return Promise.all([ask((cb) => ffmpegLib.getAvailableFormats(cb)), ask((cb) => ffmpegLib.getAvailableEncoders(cb))]).then(() => undefined);
}

/** Starts ffmpeg and returns at once; see RunningFfmpeg. */
export function startFfmpeg(spec: FfmpegSpec): RunningFfmpeg {
  const cmd = build(spec);
  let resolvePid!: (pid: number) => void;
  const pid = new Promise<number>((r) => (resolvePid = r));
  const done = new Promise<void>((resolve, reject) => {
    cmd.on('start', () => resolvePid(cmd.ffmpegProc?.pid ?? -1));
    cmd.on('end', () => resolve());
    // fluent-ffmpeg leaves out stdout and stderr on some errors (e.g. when ffmpeg did not start)
    cmd.on('error', (err: Error, _stdout: string | null | undefined, stderr: string | null | undefined) => {
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

function lastLines(s: string | null | undefined, n = 4): string {
  return (s ?? '').trim().split('\n').slice(-n).join(' | ');
}

/** The parts of ffprobe's JSON (-of json) that probeAudio reads. */
interface FfprobeAudioJson {
  streams?: { codec_name: string; sample_rate?: string; channels?: number }[];
  packets?: { pts_time?: string; duration_time?: string }[];
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
  return new Promise((resolve, reject: (err: Error) => void) => {
    const p = spawn('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'a:0',
      '-show_entries',
      'stream=codec_name,sample_rate,channels:packet=pts_time,duration_time',
      '-of',
      'json',
      file,
    ]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        const j = JSON.parse(out || '{}') as FfprobeAudioJson;
        const s = j.streams?.[0];
        if (!s) return reject(new FfmpegError(`no audio stream in ${file}${code ? `: ${lastLines(err)}` : ''}`, err));
        const pk = j.packets ?? [];
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
        reject(e as Error);
      }
    });
  });
}

/**
 * The container's duration (ffprobe's format section). For files we muxed
 * ourselves this is exact and cheap: unlike probeAudio it does not read every
 * packet, which takes seconds on a recording of hours.
 */
export function probeDuration(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const d = Number(out.trim());
      if (code === 0 && Number.isFinite(d)) resolve(d);
      else reject(new FfmpegError(`cannot read the duration of ${file}: ${lastLines(err)}`, err));
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

// ---- buffer-in, buffer-out helpers (transcoder)
//
// These spawn ffmpeg directly, as probeAudio spawns ffprobe: fluent-ffmpeg
// reports 'end' when the process exits, which can come before a piped stdout
// has been fully read, so a whole PCM or AAC payload could be cut short.

export interface PipeFfmpegOptions {
  /** Bytes written to ffmpeg's stdin (in order), then stdin is closed. */
  stdin?: Buffer | Buffer[];
  /** Kills ffmpeg (SIGKILL) and rejects after this long. */
  timeoutMs?: number;
}

/**
 * Runs `ffmpeg -hide_banner -nostats ...args` (with -nostdin when nothing is piped in) and resolves with
 * everything it wrote to stdout and its stderr. `args` name the inputs and
 * outputs (use `pipe:0` / `pipe:1` for stdin / stdout). Rejects with an
 * FfmpegError carrying the last stderr lines when ffmpeg exits non-zero.
 */
export function ffmpegBuffers(args: string[], opts: PipeFfmpegOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const input = opts.stdin === undefined ? [] : Array.isArray(opts.stdin) ? opts.stdin : [opts.stdin];
    const full = ['-hide_banner', '-nostats', ...(input.length ? [] : ['-nostdin']), ...args];
    const p = spawn('ffmpeg', full, { stdio: [input.length ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let settled = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          p.kill('SIGKILL');
          finish(new FfmpegError(`ffmpeg timed out after ${opts.timeoutMs} ms`, err));
        }, opts.timeoutMs)
      : undefined;
    function finish(e: Error | null) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve({ stdout: Buffer.concat(out), stderr: err });
    }
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 65536) err = err.slice(-32768);
    });
    p.on('error', (e) => finish(e));
    // 'close' comes after stdout and stderr have ended: nothing is left unread.
    p.on('close', (code, signal) => {
      if (code === 0) finish(null);
      else finish(new FfmpegError(`ffmpeg failed (${signal ?? `exit ${code}`}): ${lastLines(err)}`, err));
    });
    if (input.length) {
      const stdin = p.stdin!;
      stdin.on('error', () => {}); // EPIPE when ffmpeg quits early: its exit status tells the story
      (async () => {
        for (const b of input) {
          if (!stdin.write(b)) await new Promise<void>((r) => stdin.once('drain', () => r()));
        }
        stdin.end();
      })().catch(() => {});
    }
  });
}

export type PcmFormat = 'f32le' | 's16le';

export interface DecodeToPcmOptions {
  format: PcmFormat;
  /** Output rate; the input's own rate when unset. */
  sampleRate?: number;
  /** Output channel count (ffmpeg's default down/up-mix); the input's when unset. */
  channels?: number;
  /** An -af filter chain applied before the format conversion. */
  filter?: string;
  /** Input options such as ['-f', 'mpegts']. */
  inputOptions?: string[];
  timeoutMs?: number;
}

/**
 * Decodes the first audio stream of a file, or of bytes piped in (several
 * buffers are concatenated, e.g. MPEG-TS or ADTS pieces), to raw PCM.
 */
export async function decodeToPcm(input: string | Buffer | Buffer[], opts: DecodeToPcmOptions): Promise<Buffer> {
  const piped = typeof input !== 'string';
  const args = [
    '-loglevel',
    'error',
    ...(opts.inputOptions ?? []),
    '-i',
    piped ? 'pipe:0' : input,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    ...(opts.filter ? ['-af', opts.filter] : []),
    ...(opts.sampleRate ? ['-ar', String(opts.sampleRate)] : []),
    ...(opts.channels ? ['-ac', String(opts.channels)] : []),
    '-f',
    opts.format,
    '-c:a',
    opts.format === 'f32le' ? 'pcm_f32le' : 'pcm_s16le',
    'pipe:1',
  ];
  const { stdout } = await ffmpegBuffers(args, { stdin: piped ? input : undefined, timeoutMs: opts.timeoutMs });
  return stdout;
}

export interface EncodePcmOptions {
  /** Format of the raw input. */
  inputFormat: PcmFormat;
  sampleRate: number;
  channels: number;
  /** Codec and output options, e.g. ['-c:a', 'aac', '-b:a', '64k']. */
  outputOptions: string[];
  /** Output container (ffmpeg -f), e.g. 'adts'. */
  format: string;
  timeoutMs?: number;
}

/** Encodes raw PCM to bytes in the given container, all through pipes. */
export async function encodePcm(pcm: Buffer, opts: EncodePcmOptions): Promise<Buffer> {
  const args = [
    '-loglevel',
    'error',
    '-f',
    opts.inputFormat,
    '-ar',
    String(opts.sampleRate),
    '-ac',
    String(opts.channels),
    '-i',
    'pipe:0',
    ...opts.outputOptions,
    '-f',
    opts.format,
    'pipe:1',
  ];
  const { stdout } = await ffmpegBuffers(args, { stdin: pcm, timeoutMs: opts.timeoutMs });
  return stdout;
}

export interface Ebur128Summary {
  integratedLufs: number;
  /** Relative gate of the integrated measurement. */
  thresholdLufs: number;
  lraLu: number;
  lraLowLufs: number;
  lraHighLufs: number;
  /** dBTP with peak=true (ffmpeg's 4x oversampling); undefined otherwise. */
  truePeakDbtp?: number;
}

/**
 * Measures a whole input with ffmpeg's ebur128 filter and parses its summary
 * (values are printed to 0.1 LU). `input` is a path, URL or playlist.
 */
export async function measureEbur128(input: string, opts: { inputOptions?: string[]; truePeak?: boolean } = {}): Promise<Ebur128Summary> {
  const { stderr } = await ffmpegBuffers([
    '-loglevel',
    'info',
    ...(opts.inputOptions ?? []),
    '-i',
    input,
    '-map',
    '0:a:0',
    '-vn',
    '-af',
    `ebur128=framelog=verbose${opts.truePeak === false ? '' : ':peak=true'}`,
    '-f',
    'null',
    '-',
  ]);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const num = (re: RegExp) => {
    const m = summary.match(re);
    return !m ? NaN : m[1] === '-inf' ? -Infinity : Number(m[1]);
  };
  const r: Ebur128Summary = {
    integratedLufs: num(/I:\s+(-?[\d.]+|-inf) LUFS/),
    thresholdLufs: num(/Integrated loudness:[\s\S]*?Threshold:\s+(-?[\d.]+|-inf) LUFS/),
    lraLu: num(/LRA:\s+(-?[\d.]+) LU/),
    lraLowLufs: num(/LRA low:\s+(-?[\d.]+|-inf) LUFS/),
    lraHighLufs: num(/LRA high:\s+(-?[\d.]+|-inf) LUFS/),
  };
  if (opts.truePeak !== false) r.truePeakDbtp = num(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/);
  if (!summary.startsWith('Summary:')) throw new FfmpegError('ebur128 printed no summary', stderr);
  return r;
}
