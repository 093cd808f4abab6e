// Audiograms rendered by the publisher's library from word timings given
// directly (publisher/audiograms/): real ffmpeg and ffprobe, real sharp.
// A 6 s clip of three tone bursts, each "said" as one word: every size must
// be H.264 + AAC at its dimensions, last the clip's duration within a frame,
// carry the clip's audio unchanged, show each word's caption (highlighted)
// during that word and nothing where no word is said, and move its waveform
// with the sound. Then the job's bookkeeping on both catalogs: progress,
// idempotence, and a failed render leaving its reason on the clip.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipCatalog, type ClipRow } from '../shared/catalog/clips.ts';
import { EventCatalog, type EventRow } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import { log } from '../shared/log.ts';
import { AUDIOGRAM_SIZES, type AudiogramRequestedJob, type AudiogramSize } from '../shared/queues.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { audiogramsJson } from '../publisher/audiograms/audiogram-json.ts';
import { AudiogramStore } from '../publisher/audiograms/audiogram-store.ts';
import { captionsAss, type TimedWord } from '../publisher/audiograms/captions.ts';
import { wordsInSpan } from '../publisher/audiograms/clip-words.ts';
import { processAudiogramRequested, requeueUnfinishedAudiograms, type AudiogramDeps } from '../publisher/audiograms/process-audiogram.ts';
import { renderClipAudiogram } from '../publisher/audiograms/render-clip.ts';
import { AUDIOGRAM_FPS, LAYOUTS } from '../publisher/audiograms/sizes.ts';
import type { SearchEngine } from '../publisher/search/search.ts';
import { WebhookStore } from '../publisher/webhook-store.ts';
import { DIALECTS, testDatabase, type TestDatabase } from './helpers/db.ts';
import { decodeF32, maxDiff } from './helpers/m4a.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-audiogram-'));
const CLIP_SEC = 6;
const WORDS: TimedWord[] = [
  { startSec: 0.5, endSec: 1.5, text: 'alpha' },
  { startSec: 2.0, endSec: 3.2, text: 'bravo' },
  { startSec: 4.0, endSec: 5.0, text: 'charlie' },
];
const EVENT: EventRow = {
  id: 'ev_a0d10c7a00000001',
  slug: 'audiogram-test',
  title: 'Audiograms on trial',
  host: 'Ann & Bo',
  owner: null,
  source: { type: 'push' },
  streamKeyHash: null,
  reconnectWindowSec: 60,
  status: 'published',
  createdAt: new Date().toISOString(),
  endedAt: null,
  endRequestedAt: null,
  endReason: null,
  error: null,
  capturedSec: CLIP_SEC,
  timelineSec: CLIP_SEC,
  chunkCount: 3,
};
const CLIP_ID = 'cl_a0d10c7a00000001';

function probe(file: string): {
  streams: { codec_name: string; codec_type: string; width?: number; height?: number; duration: string }[];
  format: { duration: string };
} {
  return JSON.parse(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,codec_type,width,height,duration:format=duration',
      '-of',
      'json',
      file,
    ]).toString(),
  );
}

/** One frame at `sec` as RGB bytes. */
function frameAt(file: string, sec: number, w: number, h: number): Buffer {
  const b = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(sec), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 64 << 20,
  });
  expect(b.length).toBe(w * h * 3);
  return b;
}

/** Pixels in a box close to a colour, and their mean x. */
function pixelsLike(
  rgb: Buffer,
  w: number,
  box: { x0: number; y0: number; x1: number; y1: number },
  want: [number, number, number],
  tol = 60,
): { n: number; meanX: number } {
  let n = 0;
  let sx = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = (y * w + x) * 3;
      if (Math.abs(rgb[i] - want[0]) + Math.abs(rgb[i + 1] - want[1]) + Math.abs(rgb[i + 2] - want[2]) < tol) {
        n++;
        sx += x;
      }
    }
  }
  return { n, meanX: n ? sx / n : NaN };
}

const YELLOW: [number, number, number] = [0xfa, 0xcc, 0x15];
const WHITE: [number, number, number] = [0xf8, 0xfa, 0xfc];
const WAVE: [number, number, number] = [0x38, 0xbd, 0xf8];

let storage: FsStorage;
let clipFile: string;
let clip: ClipRow;

beforeAll(() => {
  storage = new FsStorage(path.join(tmp, 'fs'), 'http://127.0.0.1/files');
  // Three tone bursts where the words are, silence between them.
  const bursts = WORDS.map((w) => `between(t\\,${w.startSec}\\,${w.endSec})`).join('+');
  clipFile = path.join(tmp, 'clip.m4a');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=0.5*sin(2*PI*330*t)*(${bursts}):s=48000:d=${CLIP_SEC}`,
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    clipFile,
  ]);
  const key = keys.clipAudio(EVENT.id, CLIP_ID);
  fs.mkdirSync(path.dirname(path.join(tmp, 'fs', key)), { recursive: true });
  fs.copyFileSync(clipFile, path.join(tmp, 'fs', key));
  const bytes = fs.statSync(clipFile).size;
  clip = {
    id: CLIP_ID,
    eventId: EVENT.id,
    title: 'The bursts',
    soundbite: false,
    startFrame: 0,
    endFrame: Math.round((CLIP_SEC * 48000) / 1024),
    startSec: 0,
    endSec: CLIP_SEC,
    status: 'ready',
    reason: null,
    audio: { key, bytes, sha256: '' },
    cardKey: null,
    createdAt: EVENT.createdAt,
    readyAt: EVENT.createdAt,
  };
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('captions', () => {
  it('light only the word being said, and show nothing before the first word', () => {
    const ass = captionsAss(WORDS, LAYOUTS.square, CLIP_SEC);
    const events = ass.split('\n').filter((l) => l.startsWith('Dialogue:'));
    expect(events).toHaveLength(3);
    expect(events[0]).toMatch(/^Dialogue: 0,0:00:00\.50,0:00:02\.00,Caption,,0,0,0,,\{\\1c&H0015CCFA\}alpha\{\\1c&H00FCFAF8\} bravo charlie$/);
    expect(events[2]).toMatch(/^Dialogue: 0,0:00:04\.00,0:00:05\.60,/);
    // Override braces and backslashes in words never reach libass as tags.
    expect(captionsAss([{ startSec: 0, endSec: 1, text: '{\\b1}x' }], LAYOUTS.square, 2)).toMatch(/,,\{\\1c&H0015CCFA\}b1x\{/m);
  });

  it('take the words of the span, shifted to the clip, and spread a line without word timings', () => {
    const words = wordsInSpan(
      [
        {
          startSec: 10,
          endSec: 12,
          text: 'one two',
          words: [
            { startSec: 10.2, endSec: 10.8, text: ' one' },
            { startSec: 11, endSec: 11.9, text: ' two' },
          ],
        },
        { startSec: 12, endSec: 14, text: 'three four' },
      ],
      10.5,
      13.5,
    );
    expect(words.map((w) => w.text)).toEqual(['one', 'two', 'three', 'four']);
    expect(words[0]).toMatchObject({ startSec: 0 });
    expect(words[1].startSec).toBeCloseTo(0.5, 6);
    expect(words[2].startSec).toBeCloseTo(1.5, 6);
    expect(words[3].endSec).toBeCloseTo(3, 6);
  });
});

describe.each(AUDIOGRAM_SIZES)('the %s audiogram', (size: AudiogramSize) => {
  const layout = LAYOUTS[size];
  const { width: W, height: H } = layout;
  let file: string;
  const progress: number[] = [];

  beforeAll(async () => {
    const t0 = Date.now();
    const video = await renderClipAudiogram({ storage, words: () => Promise.resolve(WORDS) }, clip, EVENT, size, (p) => progress.push(p));
    file = path.join(tmp, `${size}.mp4`);
    fs.writeFileSync(file, await storage.get(video.key));
    console.log(
      `${size}: rendered in ${video.renderMs} ms (${(video.renderMs / 1000 / CLIP_SEC).toFixed(3)} s per clip second; ${Date.now() - t0} ms with the background)`,
    );
  }, 120_000);

  it('is H.264 + AAC at its size, as long as the clip within a frame, reporting progress', () => {
    const p = probe(file);
    const v = p.streams.find((s) => s.codec_type === 'video')!;
    const a = p.streams.find((s) => s.codec_type === 'audio')!;
    expect(v).toMatchObject({ codec_name: 'h264', width: W, height: H });
    expect(a.codec_name).toBe('aac');
    expect(Math.abs(Number(v.duration) - CLIP_SEC)).toBeLessThanOrEqual(1 / AUDIOGRAM_FPS + 1e-6);
    expect(Math.abs(Number(a.duration) - CLIP_SEC)).toBeLessThanOrEqual(1024 / 48000);
    expect(Math.abs(Number(p.format.duration) - CLIP_SEC)).toBeLessThanOrEqual(1 / AUDIOGRAM_FPS + 1e-6);
    expect(progress.length).toBeGreaterThan(0);
    expect(Math.max(...progress)).toBeGreaterThan(0.5);
    expect(progress.every((x) => x >= 0 && x <= 1)).toBe(true);
  });

  it("carries the clip's audio unchanged", () => {
    const want = decodeF32(clipFile);
    const got = decodeF32(file);
    expect(got.length).toBe(want.length);
    expect(maxDiff(got, want)).toBeLessThan(1e-6);
  });

  it("shows each word's caption, lit, during that word and none where no word is said", () => {
    const { fontSize, marginV } = layout.caption;
    const box = { x0: 0, x1: W, y0: H - marginV - Math.round(fontSize * 2.6), y1: H - marginV + Math.round(fontSize * 0.4) };
    const silent = frameAt(file, 0.2, W, H);
    expect(pixelsLike(silent, W, box, YELLOW).n).toBe(0);
    expect(pixelsLike(silent, W, box, WHITE).n).toBeLessThan(50);
    const lit = WORDS.map((w) => pixelsLike(frameAt(file, (w.startSec + w.endSec) / 2, W, H), W, box, YELLOW));
    for (const l of lit) expect(l.n).toBeGreaterThan(200);
    // The highlight moves along the line, word by word.
    expect(lit[0].meanX).toBeLessThan(lit[1].meanX);
    expect(lit[1].meanX).toBeLessThan(lit[2].meanX);
    // The caption is gone once the page's hold after the last word is over.
    expect(pixelsLike(frameAt(file, 5.8, W, H), W, box, YELLOW).n).toBe(0);
  });

  it('moves its waveform with the sound', () => {
    const { x, y, width, height } = layout.wave;
    const band = { x0: x, x1: x + width, y0: y, y1: y + height };
    const quiet = pixelsLike(frameAt(file, 1.75, W, H), W, band, WAVE);
    const loud = pixelsLike(frameAt(file, 1.0, W, H), W, band, WAVE);
    expect(loud.n).toBeGreaterThan(quiet.n + 1000);
  });
});

describe.each(DIALECTS)('audiogram jobs on %s', (dialect) => {
  let tdb: TestDatabase;
  let deps: AudiogramDeps;
  let store: AudiogramStore;
  const queued: AudiogramRequestedJob[] = [];

  beforeAll(async () => {
    tdb = await testDatabase(dialect);
    const catalog = new EventCatalog(tdb.db);
    const clips = new ClipCatalog(tdb.db);
    store = new AudiogramStore(tdb.db);
    await catalog.createEvent({
      id: EVENT.id,
      slug: EVENT.slug,
      title: EVENT.title,
      host: EVENT.host,
      source: { type: 'push' },
      streamKeyHash: null,
      reconnectWindowSec: 60,
    });
    for (const [id, audioKey] of [
      [CLIP_ID, clip.audio!.key],
      ['cl_a0d10c7a00000002', keys.clipAudio(EVENT.id, 'cl_a0d10c7a00000002')],
    ] as const) {
      await clips.create({ id, eventId: EVENT.id, title: null, soundbite: false, startFrame: 0, endFrame: clip.endFrame, startSec: 0, endSec: CLIP_SEC });
      await clips.recordAudio(id, { key: audioKey, bytes: 1, sha256: '' });
      await clips.markReady(id, 'card.png');
    }
    const webhookStore = new WebhookStore(tdb.db);
    deps = {
      clips,
      catalog,
      store,
      storage,
      // The job's words come from renderClipAudiogram's caller in the first describe; here the index is empty.
      engine: { segmentsOf: () => Promise.resolve([]) } as unknown as SearchEngine,
      queues: { add: (_name, data) => Promise.resolve(void queued.push(data as AudiogramRequestedJob)) },
      webhooks: { store: webhookStore, queue: { add: () => Promise.resolve(undefined as never) } },
      log,
    };
  }, 60_000);

  afterAll(async () => {
    await tdb?.close();
  });

  const job = (clipId: string, size: AudiogramSize, attemptsMade = 0) =>
    ({ data: { clipId, size }, attemptsMade, opts: { attempts: 3 } }) as unknown as Job<AudiogramRequestedJob>;

  it('renders a size once, its progress and URL on the clip', async () => {
    expect(await processAudiogramRequested(job(CLIP_ID, 'square'), deps)).toBe('ready');
    const rows = (await store.ofClips([CLIP_ID])).get(CLIP_ID)!;
    const json = audiogramsJson(storage, clip, rows);
    expect(json.square).toMatchObject({
      status: 'ready',
      progress: 1,
      url: storage.publicUrl(keys.clipAudiogram(EVENT.id, CLIP_ID, 'square')),
      width: 1080,
      height: 1080,
      reason: null,
    });
    expect(json.vertical).toMatchObject({ status: 'pending', progress: 0, url: null });
    const before = (await store.get(CLIP_ID, 'square'))!;
    // A repeated job renders nothing again.
    expect(await processAudiogramRequested(job(CLIP_ID, 'square'), deps)).toBe('ready');
    expect((await store.get(CLIP_ID, 'square'))!.updatedAt).toBe(before.updatedAt);
    // At start, the sizes not rendered yet are queued again; the ready one is not.
    await store.request(CLIP_ID, EVENT.id, AUDIOGRAM_SIZES);
    queued.length = 0;
    expect(await requeueUnfinishedAudiograms(deps)).toBe(2);
    expect(queued.map((q) => `${q.clipId} ${q.size}`).sort()).toEqual([`${CLIP_ID} landscape`, `${CLIP_ID} vertical`]);
  }, 120_000);

  it('leaves a failed render visible on the clip, with the reason', async () => {
    const id = 'cl_a0d10c7a00000002';
    await expect(processAudiogramRequested(job(id, 'landscape', 0), deps)).rejects.toThrow();
    expect((await store.get(id, 'landscape'))!).toMatchObject({ status: 'pending' });
    expect((await store.get(id, 'landscape'))!.reason).toMatch(/^retrying after: /);
    await expect(processAudiogramRequested(job(id, 'landscape', 2), deps)).rejects.toThrow();
    const json = audiogramsJson(storage, { status: 'ready' }, (await store.ofClips([id])).get(id));
    expect(json.landscape.status).toBe('failed');
    expect(json.landscape.reason).toBeTruthy();
    expect(json.landscape.url).toBeNull();
  }, 60_000);

  it('forgets the rows of a clip that is gone', async () => {
    expect(await processAudiogramRequested(job('cl_a0d10c7a0000ffff', 'square'), deps)).toBe('gone');
    await store.forgetEvent(EVENT.id);
    expect((await store.ofClips([CLIP_ID])).size).toBe(0);
  });
});
