// One whisper-server process (whisper.cpp 1.9.1): it loads the model once and
// then transcribes window after window, instead of a new process loading the
// model for each. It listens on 127.0.0.1 only, on a free port picked here
// (retried if another process takes it first), with its static-file root in
// an empty directory of its own. A request that does not come back whole
// (the process died, a timeout, an abort) throws and the process is killed:
// whoever holds it starts a new one. Never two requests at once: the pool
// hands a server to one window at a time.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { emptyModelError, lastLines, parseWhisperJson, processFailure, WhisperBinaryMissingError, WhisperError, WhisperInputError } from './whisper.ts';

export interface WhisperServerOptions {
  binary: string;
  model: string;
  threads: number;
  /** How long loading the model may take (default 120 s). */
  startTimeoutMs?: number;
}

export const LOOPBACK = '127.0.0.1';
const BIND_FAILED = /couldn't bind to server socket/;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

/** A port nothing listens on now (the OS picks it); another process may still take it before the server binds. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, LOOPBACK, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class WhisperServer {
  readonly options: WhisperServerOptions;
  private child?: ChildProcess;
  private dir?: string;
  private port = 0;
  private stderr = '';
  private exited?: Promise<void>;
  private exitReason?: string;

  constructor(options: WhisperServerOptions) {
    // it runs in a directory of its own: relative paths would point there
    this.options = { ...options, binary: path.resolve(options.binary), model: path.resolve(options.model) };
  }

  /** The process id while it runs (tests, diagnostics). */
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }

  get alive(): boolean {
    return !!this.child && this.exitReason === undefined;
  }

  /** Starts the process and waits until the model is loaded and it listens. Throws (model, binary or start errors) with the process gone. */
  async start(): Promise<void> {
    try {
      fs.accessSync(this.options.binary, fs.constants.X_OK);
    } catch {
      throw new WhisperBinaryMissingError(`whisper-server not found at ${this.options.binary}: run scripts/build-whisper-server.sh`);
    }
    this.dir ??= await fsp.mkdtemp(path.join(os.tmpdir(), 'replay-whisper-server-'));
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        await this.spawnAndWait();
        return;
      } catch (e) {
        await this.kill();
        if (!(e instanceof PortTakenError) || attempt >= 5) {
          await this.removeDir();
          throw e;
        }
      }
    }
  }

  private async spawnAndWait(): Promise<void> {
    const o = this.options;
    const args = ['-m', o.model, '--host', LOOPBACK, '--port', String(this.port), '-t', String(o.threads), '-nlp', '--public', path.join(this.dir!, 'public')];
    this.stderr = '';
    this.exitReason = undefined;
    // It must not outlive this process, even one killed with SIGKILL: setpriv (util-linux) sets the parent-death signal, then execs it.
    const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', o.binary, ...args]] : [o.binary, args];
    // stdout is left alone: the server prints a few lines per request there, block-buffered (readiness is asked at /health).
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], shell: false, cwd: this.dir });
    this.child = child;
    let spawnError: NodeJS.ErrnoException | undefined;
    this.exited = new Promise((resolve) => {
      child.once('close', () => resolve());
      child.once('error', (e: NodeJS.ErrnoException) => {
        spawnError = e;
        this.exitReason ??= `could not start (${e.code ?? e.message})`;
        resolve();
      });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 256 * 1024) this.stderr = this.stderr.slice(-128 * 1024);
    });
    child.once('exit', (code, signal) => {
      this.exitReason = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    });
    const timeoutMs = o.startTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitReason !== undefined) {
        await this.exited;
        if (spawnError) throw new WhisperError(`cannot run ${o.binary}: ${spawnError.message}`);
        if (BIND_FAILED.test(this.stderr)) throw new PortTakenError();
        throw processFailure('whisper-server', o.model, this.exitReason, this.stderr);
      }
      if (await this.healthy()) {
        // the loader's warnings were written before it listened: let them arrive
        await new Promise((r) => setTimeout(r, 20));
        const empty = emptyModelError(o.model, this.stderr);
        if (empty) throw empty;
        return;
      }
      if (Date.now() > deadline) throw new WhisperError(`whisper-server did not load ${o.model} within ${timeoutMs} ms: ${lastLines(this.stderr, 3)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** True when this process answers /health as ready (and it is whisper.cpp that answers). */
  private async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`http://${LOOPBACK}:${this.port}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      return res.status === 200 && res.headers.get('server') === 'whisper.cpp' && /"ok"/.test(body);
    } catch {
      return false;
    }
  }

  /**
   * Transcribes one WAV file's bytes; `fields` are the request's form fields.
   * Returns the parsed JSON answer. Anything but a whole 200 answer throws;
   * a timeout, an abort or a dead process leave the server killed.
   */
  async request(wav: Buffer, fields: Record<string, string>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    if (!this.alive) throw new WhisperError(`whisper-server is not running${this.exitReason ? ` (it ${this.exitReason})` : ''}`);
    if (opts.signal?.aborted) throw new WhisperError('whisper run aborted before it started');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'window.wav');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const ctl = new AbortController();
    let why: string | undefined;
    const stop = (reason: string) => {
      why ??= reason;
      ctl.abort();
    };
    const timer = opts.timeoutMs ? setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs) : undefined;
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const child = this.child!;
    const onExit = () => stop(`died mid-window (it ${this.exitReason ?? 'exited'})`);
    child.once('exit', onExit);
    try {
      const res = await fetch(`http://${LOOPBACK}:${this.port}/inference`, { method: 'POST', body: form, signal: ctl.signal });
      const body = await res.text();
      if (res.status !== 200) {
        // an exception inside whisper.cpp (e.g. std::out_of_range while decoding) is answered 500 and the
        // process lives on, its state unknown: a new server for the next window
        if (res.status >= 500) await this.kill();
        const msg = `whisper-server answered ${res.status}: ${body.slice(0, 300)}`;
        throw res.status === 400 ? new WhisperInputError(msg, this.stderr) : new WhisperError(msg, this.stderr);
      }
      return parseWhisperJson(body);
    } catch (e) {
      if (why !== undefined) {
        await this.kill();
        throw new WhisperError(`whisper-server ${why}: ${lastLines(this.stderr, 3)}`, this.stderr);
      }
      if (e instanceof WhisperError) throw e;
      // a connection that broke before the process was seen to exit: do not trust this server any more
      await this.kill();
      throw new WhisperError(
        `whisper-server request failed (it ${this.exitReason ?? 'was killed'}): ${(e as Error).message}: ${lastLines(this.stderr, 3)}`,
        this.stderr,
      );
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      child.removeListener('exit', onExit);
    }
  }

  /** Kills the process (SIGKILL: it holds nothing worth a graceful stop) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  /** Kills the process and removes its directory. */
  async close(): Promise<void> {
    await this.kill();
    await this.removeDir();
  }

  private async removeDir(): Promise<void> {
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

class PortTakenError extends Error {}
