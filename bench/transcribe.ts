// Benchmark: real-time factor of transcribing 30 s windows with whisper.cpp on
// this machine, using a random-weight model of base.en's shape.
//
//   node bin/run-ts.js bench/transcribe.ts [--shape base.en|tiny.en] [--runs N] [--threads N] [--beam N]
//
// A random-weight model of the same shape costs the same to encode (the same
// matrix products on the same sizes), so the encode figures are real. Decoding
// is not: random weights emit an arbitrary number of tokens, so the decoder's
// cost is measured per token (also shape-bound) and extrapolated to a typical
// token count for speech. whisper.cpp's CLI cannot cap decoded tokens
// (max_tokens is not exposed; -ml only splits segments after the fact).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../shared/config.ts';
import { makeTinyModel, SHAPES, type ShapeName } from '../test/fixtures/tiny-model.ts';
import { runWhisper, whisperArgs, whisperBinary } from '../transcriber/whisper.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const shape = arg('shape', 'base.en') as ShapeName;
if (!(shape in SHAPES)) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
const runs = Number(arg('runs', '3'));
// Default: what the service uses (WHISPER_THREADS, else one core less than the machine has).
const threads = Number(arg('threads', String(loadConfig().whisperThreads)));
const beam = Number(arg('beam', '1'));
const WINDOW_SEC = 30;
/** Typical decoded tokens for 30 s of conversational English: ~2.5 words/s, ~1.3 tokens/word, plus timestamps. */
const TYPICAL_TOKENS = 110;

function binary(): string {
  try {
    return whisperBinary();
  } catch {
    console.log('building whisper.cpp (scripts/build-whisper.sh) ...');
    execFileSync('bash', [path.join(root, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    return whisperBinary();
  }
}

function model(): string {
  const file = path.join(root, '.cache', 'bench', `ggml-${shape}-random.bin`);
  if (!fs.existsSync(file)) {
    const t = Date.now();
    process.stdout.write(`writing a random-weight ${shape}-shaped model to ${path.relative(root, file)} ... `);
    makeTinyModel(file, { shape, seed: 7 });
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

interface Timings {
  wallMs: number;
  loadMs: number;
  melMs: number;
  encodeMs: number;
  encodeRuns: number;
  /** single-token decode steps + batched (prompt) decode steps */
  decodeMs: number;
  decodeRuns: number;
  sampleMs: number;
  totalMs: number;
}

function parseTimings(stderr: string, wallMs: number): Timings {
  const get = (name: string) => {
    const m = stderr.match(new RegExp(`${name} time =\\s*([\\d.]+) ms(?: /\\s*(\\d+) runs)?`));
    return { ms: m ? Number(m[1]) : 0, runs: m?.[2] ? Number(m[2]) : 0 };
  };
  const dec = get('decode');
  const bat = get('batchd');
  return {
    wallMs,
    loadMs: get('load').ms,
    melMs: get('mel').ms,
    encodeMs: get('encode').ms,
    encodeRuns: get('encode').runs,
    decodeMs: dec.ms + bat.ms,
    decodeRuns: dec.runs + bat.runs,
    sampleMs: get('sample').ms,
    totalMs: get('total').ms,
  };
}

function runOnce(bin: string, modelFile: string, wav: string, outBase: string, beamSize: number): Promise<Timings> {
  const args = whisperArgs({ wavFile: wav, model: modelFile, language: 'en', outBase, threads, beamSize, noFallback: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`whisper.cpp exited ${code}: ${err.slice(-500)}`));
      resolve(parseTimings(err, performance.now() - t0));
    });
  });
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const bin = binary();
const modelFile = model();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-'));
try {
  const { wav, source } = audio(dir);
  const h = SHAPES[shape];
  console.log(
    `\nwhisper.cpp ${path.relative(root, bin)} | model: random weights, ${shape} shape (state ${h.n_audio_state}, ${h.n_audio_layer}+${h.n_text_layer} layers, f16)`,
  );
  console.log(
    `input: ${WINDOW_SEC} s window of ${source} | ${threads} threads on ${os.availableParallelism()} cores | beam ${beam} | no temperature fallback\n`,
  );

  // warm the page cache with the model so the first run is not a disk benchmark
  await runOnce(bin, modelFile, wav, path.join(dir, 'warm'), 1);
  const results: Timings[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await runOnce(bin, modelFile, wav, path.join(dir, `out${i}`), beam);
    results.push(t);
    const perTok = t.decodeRuns ? t.decodeMs / t.decodeRuns : 0;
    console.log(
      `run ${i + 1}: wall ${fmt(t.wallMs)} (RTF ${(t.wallMs / 1000 / WINDOW_SEC).toFixed(3)}) | load ${fmt(t.loadMs)} | mel ${fmt(t.melMs)} | ` +
        `encode ${fmt(t.encodeMs)} | decode ${fmt(t.decodeMs)} for ${t.decodeRuns} steps (${perTok.toFixed(1)} ms/step)`,
    );
  }
  const wall = median(results.map((r) => r.wallMs));
  const load = median(results.map((r) => r.loadMs));
  const mel = median(results.map((r) => r.melMs));
  const enc = median(results.map((r) => r.encodeMs / Math.max(1, r.encodeRuns)));
  const perStep = median(results.filter((r) => r.decodeRuns).map((r) => r.decodeMs / r.decodeRuns));
  const estimated = load + mel + enc + TYPICAL_TOKENS * perStep;

  // end to end through the library (temp files, JSON parsing, clamping) on PCM
  const pcm = fs.readFileSync(wav).subarray(44);
  const t0 = performance.now();
  await runWhisper({ pcm, model: modelFile, language: 'en', threads, beamSize: beam, noFallback: true });
  const lib = performance.now() - t0;

  console.log(`
results (median of ${runs}, one ${WINDOW_SEC} s window each):
  measured wall time          ${fmt(wall)}   RTF ${(wall / 1000 / WINDOW_SEC).toFixed(3)}   (random weights: decoded token count is arbitrary)
  encode only                 ${fmt(enc)}   RTF ${(enc / 1000 / WINDOW_SEC).toFixed(3)}   <- same cost as the real ${shape} model
  model load + mel            ${fmt(load + mel)}
  decoder, per step           ${perStep.toFixed(1)} ms (beam ${beam})
  estimated real window       ${fmt(estimated)}   RTF ${(estimated / 1000 / WINDOW_SEC).toFixed(3)}   (load + mel + encode + ${TYPICAL_TOKENS} decode steps)
  runWhisper() end to end     ${fmt(lib)}   RTF ${(lib / 1000 / WINDOW_SEC).toFixed(3)}

A random-weight model of the same shape costs the same to encode as the real
${shape} model. Decoding cost cannot be measured with random weights (they emit
an arbitrary number of tokens and whisper.cpp's CLI cannot cap them), so it is
given per decoder step and extrapolated to ~${TYPICAL_TOKENS} steps per ${WINDOW_SEC} s of speech;
temperature fallback (off here) can multiply decoding on hard audio.
Live transcription keeps up while RTF < 1 with room for the other stages.`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
