// The tiny model's `alwaysSay` option: a test model that makes the real
// whisper.cpp binary transcribe any audio as one known word, so that tests of
// search and alerts can run a live event through the whole service and know
// what its transcript holds. Checked here through runWhisper (the service's own
// invocation: default greedy decoding with temperature fallback, a prompt,
// word timestamps) on synthetic speech (espeak-ng), a sine tone and noise, for
// windows of 1 s to 30 s; and the default model (no option) is unchanged.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSilent, SAMPLE_RATE } from '../transcriber/windows.ts';
import { runWhisper, whisperBinary, type WhisperSegment } from '../transcriber/whisper.ts';
import { makeTinyModel, makeVocab, specialTokenIds } from './fixtures/tiny-model.ts';

const root = path.resolve(import.meta.dirname, '..');

const SPEECH =
  'The quick brown fox jumps over the lazy dog. Meanwhile the committee discussed the budget for next year, ' +
  'and several members asked about the new bridge, the library opening hours and the state of the roads. ';

/** `sec` seconds of 16 kHz mono s16le from an ffmpeg input (padded with silence if it is shorter). */
function ffmpegPcm(input: string[], sec: number): Buffer {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, '-af', 'apad', '-t', String(sec), '-ar', String(SAMPLE_RATE), '-ac', '1'];
  return execFileSync('ffmpeg', [...args, '-f', 's16le', 'pipe:1'], { maxBuffer: 64 << 20 });
}

/** espeak-ng reading English text (a 22.05 kHz WAV file in `dir`), resampled to what runWhisper takes. */
function speechPcm(dir: string, sec: number): Buffer {
  const wav = path.join(dir, `speech-${sec}.wav`);
  execFileSync('espeak-ng', ['-w', wav, '-s', '170', SPEECH.repeat(Math.ceil(sec / 10))]);
  return ffmpegPcm(['-i', wav], sec);
}

/**
 * Asserts the alwaysSay contract on one window of `sec` seconds: segments of
 * `step` seconds from 0, each exactly the word, times within [0, sec].
 * whisper.cpp starts a decode pass at k * step only while more than 1.01 s of
 * audio remains after it; the last segment is clamped to the input by runWhisper.
 */
function expectZebra(segs: WhisperSegment[], sec: number, step = 5): void {
  const starts = [0];
  for (let t = step; t + 1.01 < sec; t += step) starts.push(t);
  expect(segs.map((s) => [s.startSec, s.endSec, s.text])).toEqual(starts.map((t) => [t, Math.min(t + step, sec), 'zebra']));
  for (const s of segs) {
    expect(s.startSec).toBeGreaterThanOrEqual(0);
    expect(s.endSec).toBeLessThanOrEqual(sec);
    expect(s.endSec).toBeGreaterThan(s.startSec);
  }
}

describe('tiny model that always says one word', () => {
  let tmp: string;
  let zebra: string;
  let plain: string;
  const pcm: Record<string, Buffer> = {};
  const secOf = (b: Buffer) => b.length / 2 / SAMPLE_RATE;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-tiny-word-'));
    if (!process.env.WHISPER_BIN) {
      try {
        whisperBinary();
      } catch {
        // ~1 min on 2 cores; CI builds it beforehand
        execFileSync('bash', [path.join(root, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
      }
    }
    zebra = path.join(tmp, 'zebra.bin');
    makeTinyModel(zebra, { alwaysSay: 'zebra' });
    plain = path.join(tmp, 'plain.bin');
    makeTinyModel(plain, { seed: 4 });
    pcm.speech1 = speechPcm(tmp, 1);
    pcm.speech5 = speechPcm(tmp, 5);
    pcm.speech25 = speechPcm(tmp, 25);
    pcm.sine3 = ffmpegPcm(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3'], 3);
    pcm.noise30 = ffmpegPcm(['-f', 'lavfi', '-i', 'anoisesrc=d=30:c=pink:a=0.1'], 30);
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes the word as one token, the same shape and size as the default model', () => {
    const bytes = fs.readFileSync(zebra);
    expect(bytes.includes(Buffer.from(' zebra'))).toBe(true);
    expect(fs.readFileSync(plain).includes(Buffer.from(' zebra'))).toBe(false);
    expect(makeVocab(50256)).not.toContain(' zebra');
    // the same tensors: only the replaced vocabulary entry changes the length
    expect(bytes.length - fs.statSync(plain).size).toBe(' zebra'.length - Buffer.byteLength(makeVocab(50256)[50255]));
    expect(specialTokenIds(51864)).toMatchObject({ eot: 50256, sot: 50257, beg: 50363 });
    expect(specialTokenIds(51865)).toMatchObject({ eot: 50257, sot: 50258, transcribe: 50359, beg: 50364 });
    expect(() => makeTinyModel(path.join(tmp, 'x.bin'), { alwaysSay: 'two words' })).toThrow(/one word/);
    expect(() => makeTinyModel(path.join(tmp, 'x.bin'), { alwaysSay: 'zebra', alwaysSaySegmentSec: 31 })).toThrow(/between/);
  });

  it('the inputs are real audio: speech, tone and noise, none silent', () => {
    expect(Object.fromEntries(Object.entries(pcm).map(([k, v]) => [k, secOf(v)]))).toEqual({ speech1: 1, speech5: 5, speech25: 25, sine3: 3, noise30: 30 });
    for (const b of Object.values(pcm)) expect(isSilent(b)).toBe(false);
  });

  it('transcribes speech, a tone and noise as the word, as the service runs whisper', async () => {
    for (const [name, audio] of Object.entries(pcm)) {
      const sec = secOf(audio);
      const began = performance.now();
      // the service's call (transcribe-event.ts): default decoding and fallback, the previous text as prompt
      const segs = await runWhisper({
        pcm: audio,
        model: zebra,
        language: 'en',
        prompt: 'zebra zebra the previous window',
        durationSec: sec,
        timeoutMs: 120_000,
      });
      const ms = performance.now() - began;
      expectZebra(segs, sec);
      console.log(`${name}: ${segs.length} segments in ${Math.round(ms)} ms`);
    }
  });

  it('gives the word with word timestamps, and under other decoding options', async () => {
    for (const name of ['speech25', 'sine3', 'speech1']) {
      const sec = secOf(pcm[name]);
      const segs = await runWhisper({ pcm: pcm[name], model: zebra, language: 'en', wordTimestamps: true, threads: 1 });
      expectZebra(segs, sec);
      for (const s of segs) {
        expect(s.words?.map((w) => w.text)).toEqual(['zebra']);
        for (const w of s.words!) {
          expect(w.startSec).toBeGreaterThanOrEqual(s.startSec);
          expect(w.endSec).toBeLessThanOrEqual(s.endSec);
        }
      }
    }
    const sec = secOf(pcm.speech25);
    expectZebra(await runWhisper({ pcm: pcm.speech25, model: zebra, language: 'en', noFallback: true, threads: 1 }), sec);
    // beam search, and -ml splitting on words (a limit under the word's length would make whisper.cpp emit empty segments)
    expectZebra(await runWhisper({ pcm: pcm.speech25, model: zebra, language: 'en', beamSize: 3, bestOf: 2, maxLen: 20, threads: 1 }), sec);
  });

  it('a shorter segment length gives more, shorter segments', async () => {
    const two = path.join(tmp, 'zebra2.bin');
    makeTinyModel(two, { alwaysSay: 'zebra', alwaysSaySegmentSec: 2 });
    const segs = await runWhisper({ pcm: pcm.speech25, model: two, language: 'en', threads: 1 });
    expect(segs.length).toBe(12); // [0, 2] ... [22, 24]: no pass starts at 24 s, 1 s before the end
    expectZebra(segs, 25, 2);
  });

  it('the default model (no option) still loads and runs', async () => {
    const again = path.join(tmp, 'plain-again.bin');
    makeTinyModel(again, { seed: 4 });
    expect(fs.readFileSync(again).equals(fs.readFileSync(plain))).toBe(true);
    const segs = await runWhisper({ pcm: pcm.sine3, model: plain, language: 'en', beamSize: 1, noFallback: true });
    expect(Array.isArray(segs)).toBe(true);
    for (const s of segs) {
      expect(s.startSec).toBeGreaterThanOrEqual(0);
      expect(s.endSec).toBeLessThanOrEqual(3);
    }
  });
});
