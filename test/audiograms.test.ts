// Audiograms through the real service (`replay start`, its embedded
// redis-server, ffmpeg, whisper.cpp with a tiny random-weight model that
// always says one word, word timings on). A pushed event is published, a
// clip is made of it, and the clip's three audiograms are rendered by queued
// jobs: the clip's JSON shows each render's progress and then its URL, a
// signed `audiogram.ready` arrives per size, and each video is checked with
// ffprobe (dimensions, H.264 + AAC, the clip's duration within a frame), its
// audio against the clip's own m4a, and its caption on screen.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { pusher } from './helpers/hostile.ts';
import { decodeF32, maxDiff } from './helpers/m4a.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';
import { signatureValid, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.ts';

const SIZES = { square: [1080, 1080], vertical: [1080, 1920], landscape: [1920, 1080] } as const;
const FPS = 15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function download(url: string, file: string): Promise<void> {
  // A kept-alive socket the server closed while ffprobe ran (its 10 s idle limit) fails once: ask again.
  const res = await fetch(url).catch(() => fetch(url));
  expect(res.status).toBe(200);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

function probe(file: string): { streams: { codec_name: string; codec_type: string; width?: number; height?: number; duration: string }[] } {
  return JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_type,width,height,duration', '-of', 'json', file]).toString(),
  );
}

/** Pixels of the captions' highlight colour in the bottom third of a frame at `sec`. */
function highlighted(file: string, sec: number, w: number, h: number): number {
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(sec), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 64 << 20,
  });
  let n = 0;
  for (let y = Math.floor((h * 2) / 3); y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (Math.abs(rgb[i] - 0xfa) + Math.abs(rgb[i + 1] - 0xcc) + Math.abs(rgb[i + 2] - 0x15) < 60) n++;
    }
  }
  return n;
}

describe('audiograms of a clip, through the service', () => {
  let svc: RunningService;
  let receiver: WebhookReceiver;
  let secret: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-audiograms-'));

  beforeAll(async () => {
    execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
    const model = path.join(tmp, 'word.bin');
    makeTinyModel(model, { alwaysSay: 'zebra' });
    svc = await startService({ env: { REPLAY_CHUNK_SEC: '2', WHISPER_MODEL: model, WHISPER_WORD_TIMESTAMPS: '1' } });
    receiver = await webhookReceiver();
    const hook = await svc.api('POST', '/api/webhooks', { url: receiver.url, events: ['audiogram.ready'] });
    expect(hook.status).toBe(201);
    secret = hook.body.secret;
  }, 700_000);

  afterAll(async () => {
    await svc?.stop();
    receiver?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('renders the square, vertical and landscape videos of a clip, with progress, webhooks and the clip’s audio', async () => {
    const created = await svc.api('POST', '/api/events', { title: 'Audiogram source', host: 'Ann & Bo', source: { type: 'push' } });
    expect(created.status).toBe(201);
    const eventId = created.body.id;
    const push = pusher(created.body.ingest.url, created.body.ingest.key);
    await push.sendAudio(16);
    expect((await svc.api('POST', `/api/events/${eventId}/end`)).status).toBe(202);
    await svc.waitFor(eventId, (e) => e.status === 'published' && e.transcript?.status === 'complete', 180_000);

    const made = await svc.api('POST', `/api/events/${eventId}/clips`, { startSec: 2, endSec: 10, title: 'The moment' });
    expect(made.status).toBe(201);
    // Every size is there from the start, pending.
    for (const size of Object.keys(SIZES)) expect(made.body.audiograms[size]).toMatchObject({ status: 'pending', progress: 0, url: null });

    // Poll the clip: each size goes pending -> rendering (progress between 0 and 1) -> ready with its URL.
    const seen: { size: string; status: string; progress: number }[] = [];
    let clip: any;
    const deadline = Date.now() + 300_000;
    for (;;) {
      clip = (await svc.api('GET', `/api/clips/${made.body.id}`)).body;
      for (const [size, a] of Object.entries<any>(clip.audiograms)) {
        expect(a.status, `${size}: ${a.reason}`).not.toBe('failed');
        seen.push({ size, status: a.status, progress: a.progress });
      }
      if (Object.values<any>(clip.audiograms).every((a) => a.status === 'ready')) break;
      if (Date.now() > deadline) throw new Error(`audiograms not ready: ${JSON.stringify(clip.audiograms)}`);
      await sleep(100);
    }
    expect(seen.some((s) => s.status === 'rendering' && s.progress > 0 && s.progress < 1)).toBe(true);
    // The list shows the same.
    const listed = (await svc.api('GET', `/api/events/${eventId}/clips`)).body.clips.find((c: any) => c.id === clip.id);
    expect(listed.audiograms).toEqual(clip.audiograms);

    const clipFile = path.join(tmp, 'clip.m4a');
    await download(clip.urls.audio, clipFile);
    const clipAudio = decodeF32(clipFile);
    const durationSec = clip.durationSec;
    for (const [size, [w, h]] of Object.entries(SIZES)) {
      const a = clip.audiograms[size];
      expect(a).toMatchObject({ status: 'ready', progress: 1, width: w, height: h, reason: null });
      const file = path.join(tmp, `${size}.mp4`);
      await download(a.url, file);
      const streams = probe(file).streams;
      const v = streams.find((s) => s.codec_type === 'video')!;
      const au = streams.find((s) => s.codec_type === 'audio')!;
      expect(v).toMatchObject({ codec_name: 'h264', width: w, height: h });
      expect(au.codec_name).toBe('aac');
      expect(Math.abs(Number(v.duration) - durationSec)).toBeLessThanOrEqual(1 / FPS + 1e-6);
      expect(Math.abs(Number(au.duration) - durationSec)).toBeLessThanOrEqual(1024 / 48000);
      // The clip's own AAC frames: the same samples.
      const got = decodeF32(file);
      expect(got.length).toBe(clipAudio.length);
      expect(maxDiff(got, clipAudio)).toBeLessThan(1e-6);
      // The model's one word is captioned, lit, somewhere in the clip.
      const lit = [1, 3, 5, 7].map((t) => highlighted(file, t, w, h));
      expect(Math.max(...lit), `${size}: ${lit.join(', ')}`).toBeGreaterThan(100);

      // Its webhook, signed, once per size.
      const hooks = receiver.received.filter((x) => JSON.parse(x.body).data?.size === size && JSON.parse(x.body).data?.id === clip.id);
      expect(hooks.length).toBeGreaterThanOrEqual(1);
      expect(signatureValid(hooks[0], secret)).toBe(true);
      expect(JSON.parse(hooks[0].body)).toMatchObject({ type: 'audiogram.ready', data: { id: clip.id, eventId, size, width: w, height: h, url: a.url } });
    }
  }, 600_000);
});
