// Clips through the real service (`replay start`, its embedded redis-server,
// ffmpeg), on both catalogs: SQLite, and PostgreSQL (a fresh database). A
// pushed event is clipped while it is live, up to what has been transcoded;
// the clip's audio, page, card and `clip.ready` webhook are checked, then the
// event is published and the clip must still be right against the published
// audio.m4a: the same frames byte for byte, its edges decoding like the same
// span of the whole recording. Bad and hostile requests are answered 400 or
// 404 naming the field, and leave nothing behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../shared/layout.ts';
import { launchChromium, pageProblems } from './helpers/browser.ts';
import { freshPostgres } from './helpers/db.ts';
import { pusher } from './helpers/hostile.ts';
import { decodeF32, m4aFrames, maxDiff, probeDuration } from './helpers/m4a.ts';
import { startService, storedFile, TOKEN, type RunningService } from './helpers/service.ts';
import { signatureValid, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.ts';

const FRAME_SEC = 1024 / 48000;
const PUSH_SEC = 40;
/** 50 ms at 48 kHz. */
const EDGE = 2400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function download(url: string, file: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const b = Buffer.from(await res.arrayBuffer());
  fs.writeFileSync(file, b);
  return b;
}

describe.each(['sqlite', 'postgres'] as const)('clips on %s', (dialect) => {
  let svc: RunningService;
  let receiver: WebhookReceiver;
  let secret: string;
  let dropDb: (() => Promise<void>) | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `replay-clips-${dialect}-`));
  let eventId: string;
  let slug: string;
  let live: any;

  beforeAll(async () => {
    const env: Record<string, string> = { REPLAY_CHUNK_SEC: '2' };
    if (dialect === 'postgres') {
      const pg = await freshPostgres();
      env.DATABASE_URL = pg.url;
      dropDb = () => pg.drop();
    }
    svc = await startService({ env });
    receiver = await webhookReceiver();
    const hook = await svc.api('POST', '/api/webhooks', { url: receiver.url, events: ['clip.ready'] });
    expect(hook.status).toBe(201);
    secret = hook.body.secret;
  });

  afterAll(async () => {
    await svc?.stop();
    receiver?.close();
    await dropDb?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('makes a clip while the event is live, up to what has been transcoded', async () => {
    const created = await svc.api('POST', '/api/events', { title: `Clips <i>live</i> on ${dialect}`, host: 'Ann & Bo', source: { type: 'push' } });
    expect(created.status).toBe(201);
    eventId = created.body.id;
    slug = created.body.slug;
    const push = pusher(created.body.ingest.url, created.body.ingest.key);
    const sending = push.sendAudio(PUSH_SEC);

    const ev = await svc.waitFor(eventId, (e) => e.transcodedSec >= 13, 90_000);
    expect(ev.status).toBe('live');
    // Past what is transcoded: a 400 naming endSec, and nothing made.
    const ahead = await svc.api('POST', `/api/events/${eventId}/clips`, { startSec: 2, endSec: ev.transcodedSec + 5 });
    expect(ahead.status).toBe(400);
    expect(ahead.body.field).toBe('endSec');

    const r = await svc.api('POST', `/api/events/${eventId}/clips`, { startSec: 2.5, endSec: 11.3, title: 'The <script>alert(1)</script> moment' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ eventId, eventSlug: slug, status: 'pending', soundbite: false });
    // The span as the audio has it: on the frame grid, within half a frame of what was asked.
    expect(Math.abs(r.body.startSec - 2.5)).toBeLessThanOrEqual(FRAME_SEC / 2);
    expect(Math.abs(r.body.endSec - 11.3)).toBeLessThanOrEqual(FRAME_SEC / 2);
    live = await until('the clip to be ready', async () => {
      const c = await svc.api('GET', `/api/clips/${r.body.id}`);
      expect(c.body.status).not.toBe('failed');
      return c.body.status === 'ready' ? c.body : undefined;
    });
    expect((await svc.api('GET', `/api/events/${eventId}`)).body.status).toBe('live');
    expect(live.urls.audio).toMatch(/clip\.m4a$/);
    expect(live.urls.recording).toBe(`${svc.url}/e/${slug}?t=${live.startSec}`);

    // Its clip.ready webhook, signed.
    const hook = await until('clip.ready', () => Promise.resolve(receiver.received.find((h) => JSON.parse(h.body).data?.id === live.id)));
    expect(signatureValid(hook, secret)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'clip.ready', data: { id: live.id, eventId, status: 'ready' } });

    await sending;
    expect((await svc.api('POST', `/api/events/${eventId}/end`)).status).toBe(202);
    await svc.waitFor(eventId, (e) => e.status === 'published', 120_000);
  });

  it('answers bad and hostile clip requests with 400 or 404, never a server error, and makes nothing', async () => {
    const post = (body: unknown, id = eventId) => svc.api('POST', `/api/events/${id}/clips`, body);
    const cases: [unknown, string][] = [
      [{ startSec: 'abc', endSec: 10 }, 'startSec'],
      [{ startSec: null, endSec: 10 }, 'startSec'],
      [{ endSec: 10 }, 'startSec'],
      [{ startSec: '1', endSec: '5' }, 'startSec'],
      [{ startSec: -1, endSec: 5 }, 'startSec'],
      [{ startSec: 1, endSec: -5 }, 'endSec'],
      [{ startSec: 1, endSec: [5] }, 'endSec'],
      [{ startSec: 1, endSec: 1.5 }, 'endSec'],
      [{ startSec: 0, endSec: 601 }, 'endSec'],
      [{ startSec: 0, endSec: 1e308 }, 'endSec'],
      [{ startSec: 1e308, endSec: 1e308 }, 'endSec'],
      [{ startSec: 5000, endSec: 5010 }, 'startSec'],
      [{ startSec: 30, endSec: 50 }, 'endSec'],
      [{ startSec: 1, endSec: 5, title: 42 }, 'title'],
      [{ startSec: 1, endSec: 5, title: 'x'.repeat(201) }, 'title'],
      [{ startSec: 1, endSec: 5, soundbite: 'yes' }, 'soundbite'],
      [[1, 5], 'body'],
    ];
    for (const [body, field] of cases) {
      const r = await post(body);
      expect({ body, status: r.status, field: r.body.field }).toEqual({ body, status: 400, field });
    }
    // Not a JSON object at all (NaN is not JSON): 400.
    for (const raw of ['{"startSec": NaN, "endSec": 5}', '{"startSec": 1, "endSec": Infinity}', '{', '"just a string"']) {
      expect((await post(raw)).status).toBe(400);
    }
    // Unknown or malformed events and clips: 404.
    expect((await post({ startSec: 1, endSec: 5 }, 'ev_0000000000000000')).status).toBe(404);
    expect((await post({ startSec: 1, endSec: 5 }, '..%2F..%2Fetc')).status).toBe(404);
    expect((await svc.api('GET', '/api/events/ev_0000000000000000/clips')).status).toBe(404);
    for (const id of ['cl_0000000000000000', 'nope', '%00', "cl_'--"]) {
      expect((await svc.api('GET', `/api/clips/${id}`)).status).toBe(404);
      expect((await svc.api('DELETE', `/api/clips/${id}`)).status).toBe(404);
      expect((await fetch(`${svc.url}/c/${id}`)).status).toBe(404);
    }
    // Writes need the token.
    const anon = await fetch(`${svc.url}/api/events/${eventId}/clips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ startSec: 1, endSec: 5 }),
    });
    expect(anon.status).toBe(401);
    expect((await fetch(`${svc.url}/api/clips/${live.id}`, { method: 'DELETE' })).status).toBe(401);
    // Nothing was made by any of them.
    expect((await svc.api('GET', `/api/events/${eventId}/clips`)).body.clips.map((c: { id: string }) => c.id)).toEqual([live.id]);
    expect(svc.output()).not.toContain('request failed');
  });

  it('keeps the live clip right after publication: its frames are the published audio.m4a’s, its edges decode alike', async () => {
    const clip = (await svc.api('GET', `/api/clips/${live.id}`)).body;
    const { id, status, startSec, endSec, createdAt, readyAt, urls } = live;
    expect(clip).toMatchObject({ id, status, startSec, endSec, createdAt, readyAt, urls });
    const ev = (await svc.api('GET', `/api/events/${eventId}`)).body;
    const fullFile = path.join(tmp, 'audio.m4a');
    const clipFile = path.join(tmp, 'clip.m4a');
    const full = await download(ev.urls.audio, fullFile);
    const bytes = await download(clip.urls.audio, clipFile);

    const span = clip.endSec - clip.startSec;
    expect(Math.abs(probeDuration(clipFile) - span)).toBeLessThanOrEqual(FRAME_SEC);
    // Every frame of the clip is the published recording's, byte for byte (the first one primes the decoder).
    const startFrame = Math.round(clip.startSec / FRAME_SEC);
    const endFrame = Math.round(clip.endSec / FRAME_SEC);
    const fullFrames = m4aFrames(full);
    const clipFrames = m4aFrames(bytes);
    expect(clipFrames.length).toBe(endFrame - startFrame + 1);
    clipFrames.forEach((f, i) => expect(f.equals(fullFrames[startFrame - 1 + i])).toBe(true));
    // Its first and last 50 ms decode like the same span of the whole recording: no click.
    const a = decodeF32(clipFile);
    const b = decodeF32(fullFile).subarray(startFrame * 1024, endFrame * 1024);
    expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(1024);
    expect(maxDiff(a.subarray(0, EDGE), b.subarray(0, EDGE))).toBeLessThan(1e-3);
    expect(maxDiff(a.subarray(a.length - EDGE), b.subarray(b.length - EDGE))).toBeLessThan(1e-3);
  });

  it('serves the clip’s page, escaped, with its card and a link to the recording at its second', async () => {
    const res = await fetch(`${svc.url}/c/${live.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('The &lt;script&gt;alert(1)&lt;/script&gt; moment');
    expect(html).toContain('Clips &lt;i&gt;live&lt;/i&gt;');
    expect(html).toContain('Ann &amp; Bo');
    expect(html).toContain(`href="${svc.url}/e/${slug}?t=${live.startSec}"`);
    expect(html).toContain(`<audio controls preload="metadata" src="${live.urls.audio}">`);
    expect(html).toContain(`<meta property="og:image" content="${live.urls.card}">`);
    const card = await fetch(live.urls.card);
    expect(card.status).toBe(200);
    const meta = await sharp(Buffer.from(await card.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1200, 630]);
  });

  it('makes clips of a published event, lists them, and deletes one with its files', async () => {
    const r = await svc.api('POST', `/api/events/${eventId}/clips`, { startSec: 20, endSec: 26, soundbite: true });
    expect(r.status).toBe(201);
    const after = await until('the second clip', async () => {
      const c = await svc.api('GET', `/api/clips/${r.body.id}`);
      return c.body.status === 'ready' ? c.body : undefined;
    });
    expect(after.soundbite).toBe(true);
    const list = (await svc.api('GET', `/api/events/${eventId}/clips`)).body.clips;
    expect(list.map((c: { id: string }) => c.id)).toEqual([live.id, after.id]);

    const del = await svc.api('DELETE', `/api/clips/${after.id}`);
    expect(del).toEqual({ status: 200, body: { id: after.id, status: 'deleted' } });
    expect((await svc.api('GET', `/api/clips/${after.id}`)).status).toBe(404);
    expect((await fetch(`${svc.url}/c/${after.id}`)).status).toBe(404);
    expect((await fetch(after.urls.audio)).status).toBe(404);
    expect((await fetch(after.urls.card)).status).toBe(404);
    expect((await svc.api('GET', `/api/events/${eventId}/clips`)).body.clips.map((c: { id: string }) => c.id)).toEqual([live.id]);
    expect((await fetch(live.urls.audio)).status).toBe(200);
  });

  it('makes a clip from the replay page: select transcript lines, Clip, the API token', async () => {
    // Two lines as the transcriber writes them (this service has no whisper model), one of them hostile.
    const lines = [
      { startTime: 14.2, endTime: 16.9, body: 'The first line of the clip' },
      { startTime: 16.9, endTime: 19.4, body: '<img src=x onerror=alert(1)> said the second' },
    ];
    const file = storedFile(svc.dataDir, keys.transcript(eventId, 'json'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ version: '1.0.0', segments: lines }));

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems = pageProblems(page);
      const asked: string[] = [];
      page.on('dialog', (d) => {
        asked.push(d.message());
        void d.accept(TOKEN);
      });
      await page.goto(`${svc.url}/e/${slug}`);
      await page.evaluate(() => {
        const texts = [...document.querySelectorAll<HTMLElement>('li.line .text')];
        const r = document.createRange();
        r.setStart(texts[0].firstChild!, 0);
        r.setEnd(texts[1].lastChild!, texts[1].lastChild!.textContent!.length);
        const sel = window.getSelection()!;
        sel.removeAllRanges();
        sel.addRange(r);
        texts[0].dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
      });
      await page.waitForSelector('#quote-clip', { state: 'visible' });
      await page.click('#quote-clip');
      const link = await page.waitForFunction(() => {
        const v = (document.getElementById('quote-url') as HTMLInputElement).value;
        return /\/c\/cl_[0-9a-f]{16}$/.test(v) ? v : undefined;
      });
      const clipUrl = String(await link.jsonValue());
      expect(asked).toEqual(['API token to make a clip']);
      // The same selection seen again keeps the clip's link.
      await page.evaluate(() => document.dispatchEvent(new Event('selectionchange')));
      await sleep(400);
      expect(await page.inputValue('#quote-url')).toBe(clipUrl);
      const made = (await svc.api('GET', `/api/clips/${clipUrl.split('/').pop()}`)).body;
      expect(Math.abs(made.startSec - 14.2)).toBeLessThanOrEqual(FRAME_SEC / 2);
      expect(Math.abs(made.endSec - 19.4)).toBeLessThanOrEqual(FRAME_SEC / 2);
      await until('the page’s clip', async () => ((await svc.api('GET', `/api/clips/${made.id}`)).body.status === 'ready' ? true : undefined));

      // Its page shows the two lines, escaped, and plays.
      await page.goto(clipUrl);
      expect(await page.locator('ol.transcript li').allTextContents()).toEqual([
        '0:14The first line of the clip',
        '0:16<img src=x onerror=alert(1)> said the second',
      ]);
      await page.waitForFunction(() => document.querySelector('audio')!.readyState >= 1);
      expect(await page.evaluate(() => document.querySelector('audio')!.duration)).toBeCloseTo(made.durationSec, 1);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('deletes an event’s clips with it: gone from every read at once, their files soon after', async () => {
    const clip = (await svc.api('GET', `/api/clips/${live.id}`)).body;
    expect((await svc.api('DELETE', `/api/events/${eventId}`)).status).toBe(202);
    expect((await svc.api('GET', `/api/clips/${live.id}`)).status).toBe(404);
    expect((await svc.api('GET', `/api/events/${eventId}/clips`)).status).toBe(404);
    expect((await fetch(`${svc.url}/c/${live.id}`)).status).toBe(404);
    expect((await svc.api('POST', `/api/events/${eventId}/clips`, { startSec: 1, endSec: 5 })).status).toBe(404);
    await until('the clip’s files to go', async () => ((await fetch(clip.urls.audio)).status === 404 ? true : undefined));
    expect((await fetch(clip.urls.card)).status).toBe(404);
  });
});
