// Transcribes windows on long-lived whisper-server processes, one window at
// a time per process, at most `size` processes (the transcriber's job
// concurrency): the model is loaded once per process instead of once per
// window. Servers start lazily, for the model and thread count a window asks;
// one that died (or was killed after a failed window) is replaced by a new one
// when the next window needs it. Inputs are checked and prepared as on the CLI
// path, and the answer goes through the same parser, so a window fails the
// same way: it throws, never an empty transcript.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isWhisperLanguage } from './whisper-languages.ts';
import { segmentsFromServerJson, serverRequestFields } from './whisper-server-protocol.ts';
import { WhisperServer } from './whisper-server.ts';
import { prepareWhisperInput, WhisperError, type WhisperRunOptions, type WhisperSegment } from './whisper.ts';

export interface WhisperServerPoolOptions {
  /** The whisper-server binary. */
  binary: string;
  /** Most processes at once (each serves one window at a time). */
  size: number;
  /** Threads when a window does not say (default: min(4, cores)). */
  threads?: number;
  startTimeoutMs?: number;
}

export class WhisperServerPool {
  private readonly options: WhisperServerPoolOptions;
  private readonly all = new Set<WhisperServer>();
  private idle: WhisperServer[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(options: WhisperServerPoolOptions) {
    this.options = { ...options, size: Math.max(1, Math.floor(options.size)) };
  }

  /** The running servers' process ids (tests, diagnostics). */
  pids(): number[] {
    return [...this.all].flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
  }

  /** Runs one window. Throws on every failure, as runWhisper does. */
  async transcribe(opts: WhisperRunOptions): Promise<WhisperSegment[]> {
    if (opts.language && !isWhisperLanguage(opts.language)) {
      throw new WhisperError(`language "${opts.language}" is not a language whisper.cpp knows`);
    }
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replay-whisper-'));
    try {
      const input = await prepareWhisperInput(opts, dir);
      if (!input) return [];
      const wav = await fsp.readFile(input.wavFile);
      const threads = opts.threads ?? this.options.threads ?? Math.max(1, Math.min(4, os.availableParallelism()));
      const server = await this.acquire(opts.model, threads);
      let json: unknown;
      try {
        json = await server.request(wav, serverRequestFields(opts), { timeoutMs: opts.timeoutMs, signal: opts.signal });
      } finally {
        await this.release(server);
      }
      return segmentsFromServerJson(json, input.durationSec, { words: opts.wordTimestamps });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  /** An idle live server for this model and thread count, else a new one (replacing a dead or mismatched one), else waits. */
  private async acquire(model: string, threads: number): Promise<WhisperServer> {
    for (;;) {
      if (this.closed) throw new WhisperError('whisper-server pool is closed');
      const i = this.idle.findIndex((s) => s.alive && s.options.model === path.resolve(model) && s.options.threads === threads);
      if (i >= 0) return this.idle.splice(i, 1)[0];
      // make room: servers that died, or hold another model
      if (this.all.size >= this.options.size && this.idle.length) await this.drop(this.idle.shift()!);
      if (this.all.size < this.options.size) {
        const server = new WhisperServer({ binary: this.options.binary, model, threads, startTimeoutMs: this.options.startTimeoutMs });
        this.all.add(server);
        try {
          await server.start();
        } catch (e) {
          await this.drop(server);
          throw e;
        }
        return server;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async release(server: WhisperServer): Promise<void> {
    if (this.closed || !server.alive) await this.drop(server);
    else this.idle.push(server);
    this.waiters.shift()?.();
  }

  private async drop(server: WhisperServer): Promise<void> {
    this.all.delete(server);
    this.idle = this.idle.filter((s) => s !== server);
    await server.close();
    this.waiters.shift()?.();
  }

  /** Kills every server; windows still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((s) => s.close()));
    this.all.clear();
    this.idle = [];
    for (const w of this.waiters.splice(0)) w();
  }
}
