// Benchmark: what transcribing 30 s windows costs on this machine, today's
// way and the new way side by side, on the same model and audio, at 1 and 2
// threads (issue 11: a third less CPU per transcribed second).
//
//   node bin/run-ts.js bench/transcribe.ts [--shape base.en|tiny.en] [--runs N] [--threads 1,2] [--beam N]
//
// Three ways, each window run through the product's own code path:
//  - today: whisper-node's early-2024 `main`, a new process per window (the
//    model loaded each time) — runWhisper's arguments, spawned here to read its timings;
//  - whisper.cpp 1.9.1's `whisper-cli`, a new process per window: the same,
//    with the newer source (what the source alone gains);
//  - new: a 1.9.1 `whisper-server` holding the model, one window at a time
//    (WhisperServerPool, the transcriber's server path): the model is loaded
//    once per worker, not per window.
// CPU is the whisper processes' own (user + system, from /proc): reaped
// children for the per-window processes, the live server process for the new
// way. Its model load is counted apart, once per worker lifetime.
//
// The model has random weights in base.en's shape, made to say one word over
// the whole window (test/fixtures/tiny-model.ts, alwaysSay, a 30 s segment):
// every way then runs exactly one encoder pass and four decoder steps per
// window, so the figures compare like with like. Random weights that babble
// would make each source decode a different, arbitrary number of tokens. The
// encoder costs what the real model's does (same shapes); real speech adds
// about 110 decoder steps per window, which random weights cannot measure.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTinyModel, SHAPES, type ShapeName } from '../test/fixtures/tiny-model.ts';
import { whisperServerBinary } from '../transcriber/whisper-engine.ts';
import { WhisperServerPool } from '../transcriber/whisper-server-pool.ts';
import { whisperArgs, whisperBinary } from '../transcriber/whisper.ts';
import { readStat } from './lib/proc-sampler.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const shape = arg('shape', 'base.en') as ShapeName;
if (!(shape in SHAPES)) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
const runs = Math.max(1, Number(arg('runs', '5')));
const threadCounts = arg('threads', '1,2')
  .split(',')
  .map((t) => Math.max(1, Number(t)));
const beam = Number(arg('beam', '1'));
const WINDOW_SEC = 30;

function built(script: string, find: () => string): string {
  try {
    return find();
  } catch {
    console.log(`building (${script}) ...`);
    execFileSync('bash', [path.join(root, 'scripts', script)], { stdio: ['ignore', 'ignore', 'inherit'] });
    return find();
  }
}

const oldMain = built('build-whisper.sh', () => whisperBinary());
const serverBin = built('build-whisper-server.sh', () => {
  const b = whisperServerBinary();
  fs.accessSync(b, fs.constants.X_OK);
  return b;
});
const newCli = path.join(path.dirname(serverBin), 'whisper-cli');

function model(): string {
  const file = path.join(root, '.cache', 'bench', `ggml-${shape}-random-zebra30.bin`);
  if (!fs.existsSync(file)) {
    const t = Date.now();
    process.stdout.write(`writing a random-weight ${shape}-shaped model to ${path.relative(root, file)} ... `);
    makeTinyModel(file, { shape, seed: 7, alwaysSay: 'zebra', alwaysSaySegmentSec: WINDOW_SEC });
    console.log(`${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return file;
}

/** 30 s of 16 kHz mono speech (espeak-ng when installed) or pink noise. */
function audio(dir: string): { wav: string; source: string } {
  const wav = path.join(dir, 'window.wav');
  const ff = (...a: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...a]);
  if (fs.existsSync('/usr/bin/espeak-ng')) {
    const raw = path.join(dir, 'speech.wav');
    const text = Array(8).fill('This is a benchmark of live transcription. Each window holds thirty seconds of conversation, cut at a pause.').join(' ');
    execFileSync('espeak-ng', ['-s', '160', '-w', raw, text]);
    ff('-i', raw, '-af', `apad=whole_dur=${WINDOW_SEC}`, '-t', String(WINDOW_SEC), '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le', wav);
    return { wav, source: 'espeak-ng speech' };
  }
  ff('-f', 'lavfi', '-i', `anoisesrc=d=${WINDOW_SEC}:c=pink:a=0.1`, '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le', wav);
  return { wav, source: 'pink noise' };
}

interface Window {
  wallMs: number;
  cpuSec: number;
  /** From whisper.cpp's own timings (per-window processes only). */
  loadMs?: number;
  encodeMs?: number;
}

/** whisper_print_timings' figures from a CLI run's stderr. */
function cliTimings(stderr: string): Pick<Window, 'loadMs' | 'encodeMs'> {
  const get = (name: string) => Number(stderr.match(new RegExp(`${name} time =\\s*([\\d.]+) ms`))?.[1] ?? 0);
  return { loadMs: get('load'), encodeMs: get('encode') };
}

const childCpu = () => readStat(process.pid)!.childCpuSec;

/** One window through a new process, as runWhisper runs it: CPU is what the reaped child used. */
function cliWindow(bin: string, modelFile: string, wav: string, outBase: string, threads: number): Promise<Window> {
  const args = whisperArgs({ wavFile: wav, model: modelFile, language: 'en', outBase, threads, beamSize: beam });
  return new Promise((resolve, reject) => {
    const cpu0 = childCpu();
    const t0 = performance.now();
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0 || !fs.existsSync(`${outBase}.json`)) return reject(new Error(`${bin} exited ${code}: ${err.slice(-500)}`));
      resolve({ wallMs: performance.now() - t0, cpuSec: childCpu() - cpu0, ...cliTimings(err) });
    });
  });
}

interface WayResult {
  way: string;
  threads: number;
  windows: Window[];
  /** The server's model load: wall and CPU, once per worker. */
  once?: { wallMs: number; cpuSec: number };
}

async function perWindowProcess(way: string, bin: string, modelFile: string, wav: string, dir: string, threads: number): Promise<WayResult> {
  await cliWindow(bin, modelFile, wav, path.join(dir, 'warm'), threads); // page cache
  const windows: Window[] = [];
  for (let i = 0; i < runs; i++) windows.push(await cliWindow(bin, modelFile, wav, path.join(dir, `out-${threads}-${i}`), threads));
  return { way, threads, windows };
}

async function longLivedServer(way: string, modelFile: string, wav: string, threads: number): Promise<WayResult> {
  const pool = new WhisperServerPool({ binary: serverBin, size: 1, threads });
  const pcm = fs.readFileSync(wav).subarray(44);
  const opts = { pcm, model: modelFile, language: 'en', threads, beamSize: beam, durationSec: WINDOW_SEC };
  try {
    // the first window starts the server: its load is measured apart
    const t0 = performance.now();
    await pool.transcribe(opts);
    const firstMs = performance.now() - t0;
    const pid = pool.pids()[0];
    const serverCpu = () => readStat(pid)!.selfCpuSec;
    const firstCpu = serverCpu();
    const windows: Window[] = [];
    for (let i = 0; i < runs; i++) {
      const cpu0 = serverCpu();
      const t = performance.now();
      const segs = await pool.transcribe(opts);
      if (segs.length !== 1) throw new Error(`the server heard ${segs.length} segments, expected 1`);
      windows.push({ wallMs: performance.now() - t, cpuSec: serverCpu() - cpu0 });
    }
    if (!pool.pids().includes(pid)) throw new Error('the server was restarted during the benchmark');
    const steady = median(windows.map((w) => w.wallMs));
    const steadyCpu = median(windows.map((w) => w.cpuSec));
    return { way, threads, windows, once: { wallMs: Math.max(0, firstMs - steady), cpuSec: Math.max(0, firstCpu - steadyCpu) } };
  } finally {
    await pool.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

const modelFile = model();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-'));
try {
  const { wav, source } = audio(dir);
  const h = SHAPES[shape];
  console.log(
    `\nmodel: random weights, ${shape} shape (state ${h.n_audio_state}, ${h.n_audio_layer}+${h.n_text_layer} layers, f16), one encoder pass per window`,
  );
  console.log(`input: ${WINDOW_SEC} s window of ${source} | ${runs} windows per way (median) | beam ${beam} | ${os.availableParallelism()} cores`);
  console.log(`today: ${path.relative(root, oldMain)} | 1.9.1: ${path.relative(root, newCli)}, ${path.relative(root, serverBin)}\n`);

  const results: WayResult[] = [];
  for (const threads of threadCounts) {
    results.push(await perWindowProcess('today: whisper-node main, process per window', oldMain, modelFile, wav, dir, threads));
    results.push(await perWindowProcess('1.9.1 whisper-cli, process per window', newCli, modelFile, wav, dir, threads));
    results.push(await longLivedServer('new: 1.9.1 whisper-server, model loaded once', modelFile, wav, threads));
  }

  const header = `${pad('threads', 8)}${pad('way', 48)}${lpad('wall/window', 12)}${lpad('RTF', 8)}${lpad('CPU s/audio s', 15)}${lpad('model load', 24)}${lpad('encode', 9)}`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const threads of threadCounts) {
    const rows = results.filter((r) => r.threads === threads);
    for (const r of rows) {
      const wall = median(r.windows.map((w) => w.wallMs));
      const cpu = median(r.windows.map((w) => w.cpuSec)) / WINDOW_SEC;
      const load = r.once ? `${s2(r.once.wallMs)} once per worker` : `${s2(median(r.windows.map((w) => w.loadMs ?? 0)))} every window`;
      const enc = r.once ? '' : s2(median(r.windows.map((w) => w.encodeMs ?? 0)));
      console.log(
        `${pad(String(threads), 8)}${pad(r.way, 48)}${lpad(s2(wall), 12)}${lpad((wall / 1000 / WINDOW_SEC).toFixed(3), 8)}${lpad(cpu.toFixed(4), 15)}${lpad(load, 24)}${lpad(enc, 9)}`,
      );
    }
    const cpuOf = (i: number) => median(rows[i].windows.map((w) => w.cpuSec));
    const change = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(0)} %`;
    console.log(
      `${pad('', 8)}CPU per audio second, today -> new: ${change(cpuOf(0), cpuOf(2))} (the 1.9.1 source alone: ${change(cpuOf(0), cpuOf(1))}; ` +
        `the model kept loaded: ${change(cpuOf(1), cpuOf(2))}); server start: ${rows[2].once!.cpuSec.toFixed(2)} CPU s once\n`,
    );
  }
  console.log(`CPU: the whisper processes' user + system time (/proc), per window, over the window's ${WINDOW_SEC} s of audio.
RTF: wall time per window over ${WINDOW_SEC} s. Model load: whisper.cpp's own load time for the CLI ways; for the
server, its first window's wall time beyond a steady one (process start, model load, first allocation).
Each window here is one encoder pass and four decoder steps in every way; real speech adds about
110 decoder steps per window, which random weights cannot measure (they emit arbitrary tokens).`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
