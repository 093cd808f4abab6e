// A publication a CDN serves alone: a pushed event on S3 (s3rver) with
// S3_PUBLIC_BASE_URL at the bucket, its speech recognized by a tiny model
// that always says one word. While live, the live page stored in the bucket
// shows the transcript growing from storage in Chromium, and turns into the
// replay by itself once published. Then the app is STOPPED, and from the
// bucket alone: the replay page renders its transcript, plays and seeks with
// `?t=`, quotes with `?end=`, finds with `?find=`, embeds with `?embed`; the
// feed parses with a podcast feed parser; oEmbed is valid; every object has
// its Content-Type and Cache-Control; hostile titles stay text; no secret is
// in any object.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFeed } from 'podcast-partytime';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { launchChromium, pageProblems } from './helpers/browser.ts';
import { pusher } from './helpers/hostile.ts';
import { s3rverProcess, type S3rverProcess } from './helpers/s3rver.ts';
import { ROOT, startService, TOKEN, type RunningService } from './helpers/service.ts';
import { fetchHead } from './helpers/http.ts';

const WORD = 'zebra';
const SPEECH_SEC = 45;
const TITLE = `Static </script><script>alert(1)</script> & "friends"`;
const HOST = `Ann <b>Lee</b> & co`;
const PRIVATE_BUCKET = 'replay-stored-private';

let tmp: string;
let s3: S3rverProcess;
let svc: RunningService;
let browser: Browser;
let ev: any;
let base: string;
let streamKey: string;
/** What the live page showed in Chromium, and what it became. */
let live: { lines: number; problems: string[]; becameReplay: boolean; url: string; artwork: Buffer; statusAtArtwork: string };
/** The page and the feed as the app served them and as they are stored, read at the same moment. */
let served: { appPage: string; storedPage: string; appFeed: string; storedFeed: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const objectUrl = (key: string) => `${base}/${key}`;
const audioOf = (page: Page) => page.evaluate(() => ({ t: document.querySelector('audio')!.currentTime, paused: document.querySelector('audio')!.paused }));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-stored-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const model = path.join(tmp, 'zebra.bin');
  makeTinyModel(model, { alwaysSay: WORD });
  s3 = await s3rverProcess('replay-stored', [PRIVATE_BUCKET]);
  base = `${s3.endpoint}/${s3.bucket}`;
  svc = await startService({
    env: { ...s3.env, S3_PUBLIC_BASE_URL: base, S3_PRIVATE_BUCKET: PRIVATE_BUCKET, WHISPER_MODEL: model, WHISPER_WORD_TIMESTAMPS: '1' },
  });
  browser = await launchChromium();

  const created = await svc.api('POST', '/api/events', { title: TITLE, host: HOST, source: { type: 'push' } });
  expect(created.status).toBe(201);
  ev = created.body;
  streamKey = created.body.ingest.key;
  const push = pusher(created.body.ingest.url, created.body.ingest.key);
  const sending = push.sendAudio(SPEECH_SEC);

  // The live page is in the bucket as soon as the event started; open it there.
  const pageUrl = objectUrl(`events/${ev.id}/index.html`);
  await until('the stored live page', async () => ((await fetchHead(pageUrl, { method: 'HEAD' })).ok ? true : undefined));
  const page = await browser.newPage();
  const problems = pageProblems(page);
  await page.goto(pageUrl);
  expect(await page.locator('.live-badge').count()).toBe(1);
  // The artwork (title, host, date) is drawn at the start, not left for the end.
  const artworkUrl = objectUrl(`events/${ev.id}/artwork.jpg`);
  await until('the artwork drawn while live', async () => ((await fetchHead(artworkUrl, { method: 'HEAD' })).ok ? true : undefined));
  const statusAtArtwork = (await svc.api('GET', `/api/events/${ev.id}`)).body.status;
  const artwork = Buffer.from(await (await fetch(artworkUrl)).arrayBuffer());
  // Lines appear as the transcriber writes the transcript to storage (the page polls it).
  await page.waitForSelector('#transcript li.line', { timeout: 120_000 });
  const lines = await page.locator('#transcript li.line').count();
  await sending;
  expect((await svc.api('POST', `/api/events/${ev.id}/end`)).status).toBe(202);
  ev = await svc.waitFor(
    ev.id,
    (e) => e.status === 'failed' || (e.status === 'published' && e.transcript.status === 'complete' && !!e.urls.transcript),
    180_000,
  );
  // The live page sees the state object say "published" and loads the replay in its place.
  const becameReplay = await page
    .waitForFunction(() => !document.querySelector('.live-badge') && /audio\.m4a/.test(document.querySelector('audio')?.getAttribute('src') ?? ''), null, {
      timeout: 30_000,
    })
    .then(
      () => true,
      () => false,
    );
  live = { lines, problems, becameReplay, url: page.url(), artwork, statusAtArtwork };
  await page.close();
  // Late transcript revisions rewrite the page: let them settle, then the app goes away for good.
  await sleep(2000);
  const text = async (url: string) => (await fetch(url)).text();
  const [appPage, storedPage, appFeed, storedFeed] = await Promise.all([
    text(`${svc.url}/e/${ev.slug}`),
    text(ev.urls.page),
    text(`${svc.url}/feed.xml`),
    text(objectUrl('feed.xml')),
  ]);
  served = { appPage, storedPage, appFeed, storedFeed };
  await svc.stop();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
  await s3?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('while live, from the bucket', () => {
  it('shows the transcript growing from storage, then turns into the replay once published', () => {
    expect(live.lines).toBeGreaterThan(0);
    expect(live.becameReplay).toBe(true);
    expect(live.problems).toEqual([]);
  });

  it('has its artwork drawn while live, and publishes that same artwork', async () => {
    expect(live.statusAtArtwork).toBe('live');
    expect(await sharp(live.artwork).metadata()).toMatchObject({ format: 'jpeg', width: 3000, height: 3000 });
    const published = ev.urls.artwork as string;
    expect(published).toBe(objectUrl(`events/${ev.id}/artwork.jpg`));
    expect(Buffer.from(await (await fetch(published)).arrayBuffer()).equals(live.artwork)).toBe(true);
  });
});

describe('the stored objects', () => {
  it('are what the app serves at /e/:slug and /feed.xml, but for the nonce and the search API the app adds per request', () => {
    const norm = (h: string) =>
      h
        .replace(/ nonce="[^"]*"/g, '')
        .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\n/, '')
        .replace(/"search":"[^"]*"/, '"search":""');
    expect(served.storedPage).toContain('<meta http-equiv="Content-Security-Policy"');
    expect(served.appPage).toMatch(/<script nonce="[^"]+">/);
    expect(norm(served.appPage)).toBe(norm(served.storedPage));
    expect(served.appFeed).toBe(served.storedFeed);
  });
});

describe('with the app stopped, from the bucket alone', () => {
  it('gives out the stored page as the page URL', () => {
    expect(ev.status).toBe('published');
    expect(ev.urls.page).toBe(objectUrl(`events/${ev.id}/index.html`));
    expect(svc.proc.exitCode !== null || svc.proc.signalCode !== null).toBe(true);
  });

  it('serves every object with its Content-Type and Cache-Control', async () => {
    const head = async (url: string) => {
      const r = await fetch(url);
      await r.arrayBuffer();
      expect(r.status, url).toBe(200);
      return { type: r.headers.get('content-type'), cache: r.headers.get('cache-control') };
    };
    expect(await head(ev.urls.page)).toEqual({ type: 'text/html; charset=utf-8', cache: 'public, max-age=60' });
    expect(await head(objectUrl(`events/${ev.id}/oembed.json`))).toEqual({ type: 'application/json; charset=utf-8', cache: 'public, max-age=60' });
    expect(await head(objectUrl(`events/${ev.id}/state.json`))).toEqual({ type: 'application/json; charset=utf-8', cache: 'public, no-cache' });
    expect(await head(objectUrl('feed.xml'))).toEqual({ type: 'application/rss+xml; charset=utf-8', cache: 'public, max-age=60' });
    const html = await (await fetch(ev.urls.page)).text();
    const asset = /"hlsJs":"([^"]+)"/.exec(html)![1];
    expect(asset).toMatch(new RegExp(`^${base}/assets/hls-[0-9a-f]{16}\\.min\\.js$`));
    expect(await head(asset)).toEqual({ type: 'text/javascript; charset=utf-8', cache: 'public, max-age=31536000, immutable' });
    expect(await (await fetch(objectUrl(`events/${ev.id}/state.json`))).json()).toMatchObject({ status: 'published' });
  });

  it('keeps hostile titles as text and no secret in any object', async () => {
    const html = await (await fetch(ev.urls.page)).text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('<h1>Static &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;</h1>');
    expect(html).toContain('Hosted by Ann &lt;b&gt;Lee&lt;/b&gt; &amp; co');
    // two script elements only: the code (allowed by its hash) and the JSON config, which cannot close itself
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-/);
    const feed = await (await fetch(objectUrl('feed.xml'))).text();
    expect(feed).toContain('<title>Static &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;</title>');
    for (const body of [html, feed, await (await fetch(objectUrl(`events/${ev.id}/oembed.json`))).text()]) {
      for (const secret of [TOKEN, 'S3RVER', streamKey]) expect(body).not.toContain(secret);
    }
  });

  it('has a feed that a podcast feed parser reads, pointing at the bucket', async () => {
    const feed = parseFeed(await (await fetch(objectUrl('feed.xml'))).text());
    expect(feed).not.toBeNull();
    const item = feed!.items.find((i) => i.guid === ev.id)!;
    expect(item.title).toBe(TITLE);
    expect(item.link).toBe(ev.urls.page);
    expect(item.enclosure.url).toBe(ev.urls.audio);
    expect(item.enclosure.url.startsWith(base)).toBe(true);
    expect(item.podcastTranscripts?.map((t) => t.url)).toEqual([ev.urls.transcript.vtt, ev.urls.transcript.srt, ev.urls.transcript.json]);
    expect((await fetchHead(item.enclosure.url)).status).toBe(200);
  });

  it('has an oEmbed document for the embed player', async () => {
    const o = await (await fetch(objectUrl(`events/${ev.id}/oembed.json`))).json();
    expect(o).toMatchObject({ version: '1.0', type: 'rich', title: TITLE, author_name: HOST, width: 480, height: 180, thumbnail_url: ev.urls.card });
    expect(o.html).toBe(
      `<iframe src="${ev.urls.page}?embed=1" width="480" height="180" title="Static &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;" allow="autoplay" loading="lazy" style="border:0"></iframe>`,
    );
    const html = await (await fetch(ev.urls.page)).text();
    expect(html).toContain(`<link rel="alternate" type="application/json+oembed"`);
    expect(html).toContain(`href="${objectUrl(`events/${ev.id}/oembed.json`)}"`);
  });

  it('renders the transcript, plays, and seeks with ?t= in Chromium', async () => {
    const transcript = await (await fetch(ev.urls.transcript.json)).json();
    const target = transcript.segments[Math.floor(transcript.segments.length / 2)];
    const t = Math.floor(target.startTime) + 1;
    const page = await browser.newPage();
    const problems = pageProblems(page);
    await page.goto(`${ev.urls.page}?t=${t}`);
    expect(await page.locator('#transcript li.line').count()).toBe(transcript.segments.length);
    expect(await page.locator('#transcript li.line .text').first().textContent()).toContain(WORD);
    await page.waitForFunction(() => document.querySelector('audio')!.readyState >= 1);
    await page.waitForFunction((at) => Math.abs(document.querySelector('audio')!.currentTime - at) < 0.5, t);
    await page.evaluate(() => document.querySelector('audio')!.play());
    await page.waitForFunction((at) => !document.querySelector('audio')!.paused && document.querySelector('audio')!.currentTime > at + 0.3, t);
    const { t: playing } = await audioOf(page);
    expect(playing).toBeGreaterThan(t);
    expect(playing).toBeLessThan(t + 5);
    // the line being spoken is highlighted
    const current = await page.waitForSelector('li.line.current');
    expect(Number(await current.getAttribute('data-start'))).toBeLessThanOrEqual(playing + 0.01);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('quotes with ?t=&end=, finds with ?find= and embeds with ?embed, in the page itself', async () => {
    const page = await browser.newPage();
    const problems = pageProblems(page);
    await page.goto(`${ev.urls.page}?t=1&end=8`);
    await page.waitForSelector('#quote .play-quote');
    expect(await page.locator('#quote .span').textContent()).toBe('0:01–0:08');
    await page.goto(`${ev.urls.page}?find=${WORD}`);
    await page.waitForSelector('#transcript li.hit mark');
    expect(await page.locator('#transcript mark').first().textContent()).toBe(WORD);
    expect(await page.locator('#find-status').textContent()).toMatch(/\d+ match/);
    await page.fill('#find-q', 'nothing-here');
    await page.waitForFunction(() => document.getElementById('find-status')!.textContent === 'No matches');
    await page.goto(`${ev.urls.page}?embed=1`);
    expect(await page.evaluate(() => document.body.classList.contains('embed'))).toBe(true);
    expect(await page.locator('main').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });
});
