// Search through the running service, on SQLite and on PostgreSQL: a live
// event whose speech recognizer always hears one word (a random-weight model
// made to say it) is searchable while it is still live; a saved search on
// that word fires one signed transcript.matched webhook per match while the
// event is live, and its feed lists the matches. Hostile queries get a 400 or
// an answer, never a server error. In Chromium: search from the home page,
// open a hit, the page plays from that second with the line highlighted;
// select words, and the quote link plays exactly that span.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { launchChromium } from './helpers/browser.ts';
import { sql } from 'kysely';
import { openDatabase } from '../shared/db/database.ts';
import { freshPostgres } from './helpers/db.ts';
import { pusher, type Pusher } from './helpers/hostile.ts';
import { signatureValid, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';
import { fetchHead } from './helpers/http.ts';

const WORD = 'zebra';
const SPEECH_SEC = 45;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

let tmp: string;
let model: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-search-live-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  model = path.join(tmp, 'zebra.bin');
  makeTinyModel(model, { alwaysSay: WORD });
  receiver = await webhookReceiver();
}, 600_000);

afterAll(() => {
  receiver?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(['sqlite', 'postgres'] as const)('search on a running service (%s)', (dialect) => {
  let svc: RunningService;
  let dropDb: (() => Promise<void>) | undefined;
  let eventId: string;
  let slug: string;
  let push: Pusher;
  let alert: any;
  let databaseUrl: string | undefined;

  beforeAll(async () => {
    const env: Record<string, string> = { WHISPER_MODEL: model, WHISPER_WORD_TIMESTAMPS: '1' };
    if (dialect === 'postgres') {
      const pg = await freshPostgres();
      env.DATABASE_URL = pg.url;
      databaseUrl = pg.url;
      dropDb = () => pg.drop();
    }
    svc = await startService({ env });
  }, 120_000);
  afterAll(async () => {
    push?.abort();
    await svc?.stop();
    await dropDb?.();
  });

  it('saves an alert, and answers what is wrong with a bad one', async () => {
    const bad = await svc.api('POST', '/api/alerts', { query: '"unclosed' });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('query');
    expect((await svc.api('POST', '/api/alerts', { query: WORD, filters: { from: '2026-13-01' } })).body.field).toBe('filters.from');
    expect((await svc.api('POST', '/api/alerts', { query: WORD, webhookUrl: 'ftp://example.com/x' })).body.field).toBe('webhookUrl');
    expect((await svc.api('POST', '/api/alerts', { query: WORD }, { authorization: 'Bearer wrong' })).status).toBe(401);
    const r = await svc.api('POST', '/api/alerts', { query: WORD, webhookUrl: receiver.url });
    expect(r.status).toBe(201);
    alert = r.body;
    expect(alert.webhook.secret).toMatch(/^whsec_/);
    expect(alert.feedUrl).toMatch(new RegExp(`^${svc.url}/alerts/[A-Za-z0-9_-]{43}/feed\\.xml$`));
    // The secret is shown once.
    expect(JSON.stringify((await svc.api('GET', `/api/alerts/${alert.id}`)).body)).not.toContain(alert.webhook.secret);
    expect(JSON.stringify((await svc.api('GET', '/api/webhooks')).body)).not.toContain(alert.id);
  });

  it('finds the words of a live event while it is live, and alerts on them while it is live', async () => {
    const created = await svc.api('POST', '/api/events', { title: `Live <b>talk</b> on ${dialect}`, host: 'Ann Lee', source: { type: 'push' } });
    expect(created.status).toBe(201);
    eventId = created.body.id;
    slug = created.body.slug;
    push = pusher(created.body.ingest.url, created.body.ingest.key);
    const sending = push.sendAudio(SPEECH_SEC);

    const page = await until('a live hit', async () => {
      const r = await svc.api('GET', `/api/search?q=${WORD}`);
      expect(r.status).toBe(200);
      return r.body.total > 0 ? r.body : undefined;
    });
    expect((await svc.api('GET', `/api/events/${eventId}`)).body.status).toBe('live');
    const hit = page.hits[0];
    expect(hit).toMatchObject({ eventId, slug, host: 'Ann Lee', live: true });
    expect(hit.title).toBe(`Live <b>talk</b> on ${dialect}`);
    expect(hit.snippet).toContain(`<mark>${WORD}</mark>`);
    expect(hit.url).toBe(`${svc.url}/e/${slug}?t=${Math.ceil(hit.startSec * 100) / 100}`);
    expect((await svc.api('GET', `/api/search?q=${WORD}&status=live`)).body.total).toBeGreaterThan(0);
    expect((await svc.api('GET', `/api/search?q=${WORD}&status=published`)).body.total).toBe(0);
    // A live event cannot be deleted.
    const del = await svc.api('DELETE', `/api/events/${eventId}`);
    expect(del.status).toBe(409);
    expect(del.body.error).toContain('event is live');

    // The alert fires while the event is still live, signed with the alert's secret.
    const first = await until('a transcript.matched webhook', () =>
      Promise.resolve(receiver.received.find((h) => JSON.parse(h.body).data?.alert?.id === alert.id)),
    );
    expect((await svc.api('GET', `/api/events/${eventId}`)).body.status).toBe('live');
    expect(signatureValid(first, alert.webhook.secret)).toBe(true);
    const msg = JSON.parse(first.body);
    expect(msg.type).toBe('transcript.matched');
    expect(msg.data.event).toMatchObject({ id: eventId, slug, host: 'Ann Lee' });
    expect(msg.data.match.text).toContain(WORD);
    expect(msg.data.match.url).toContain(`/e/${slug}?t=`);

    await sending;
    expect((await svc.api('POST', `/api/events/${eventId}/end`)).status).toBe(202);
    await svc.waitFor(eventId, (e) => e.status === 'published' && e.transcript.status === 'complete', 120_000);
    await sleep(2000); // deliveries of the last window
  });

  it('sent each match once, and lists every match in the alert feed', async () => {
    const detail = (await svc.api('GET', `/api/alerts/${alert.id}`)).body;
    const matches: { id: string; text: string; url: string }[] = detail.matches;
    expect(matches.length).toBeGreaterThan(0);
    const mine = receiver.received.filter((h) => JSON.parse(h.body).data?.alert?.id === alert.id);
    const delivered = mine.map((h) => JSON.parse(h.body).data.match.id as string);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(new Set(delivered)).toEqual(new Set(matches.map((m) => m.id)));
    expect(new Set(mine.map((h) => h.headers['webhook-id'])).size).toBe(mine.length);
    for (const h of mine) expect(signatureValid(h, alert.webhook.secret)).toBe(true);
    // Every match is in the transcript, and the index holds every segment of it.
    const transcript = await (await fetch(`${svc.url}/api/events/${eventId}/transcript.json`)).json();
    const withWord = transcript.segments.filter((s: { body: string }) => s.body.toLowerCase().includes(WORD));
    expect(matches.length).toBe(withWord.length);

    const xml = await (await fetch(alert.feedUrl)).text();
    // A feed reader's parser (the alert feed is RSS for readers, not a podcast: no enclosures).
    const feed = await new Parser().parseString(xml);
    expect(feed.title).toBe(`Replay alert: ${WORD}`);
    expect(feed.items.map((i) => i.guid).sort()).toEqual(matches.map((m) => m.id).sort());
    for (const item of feed.items) expect(item.link).toContain(`/e/${slug}?t=`);
    // Another token (its first character changed, whatever it was) finds nothing.
    const other = alert.feedUrl.replace(/alerts\/(.)/, (_: string, c: string) => `alerts/${c === 'x' ? 'y' : 'x'}`);
    expect(other).not.toBe(alert.feedUrl);
    expect((await fetchHead(other)).status).toBe(404);
  });

  it('answers hostile queries with a 400 or results, never a server error', async () => {
    const hostile = [
      'NEAR(zebra budget)',
      'tokens:zebra',
      'tags : "e1"',
      '^zebra',
      '*',
      'AND OR',
      '"zeb',
      '((((',
      ')))',
      '{zebra}',
      'a:b:c',
      "'; DROP TABLE events; --",
      '%',
      '\\',
      'z'.repeat(5000),
      Array(1000).fill('zebra').join(' '),
      '\u0000zebra\u0001',
      '<script>alert(1)</script>',
      'zebra*****',
      '-zebra',
    ];
    for (const q of hostile) {
      for (const p of [
        `/api/search?q=${encodeURIComponent(q)}`,
        `/api/events/${eventId}/search?q=${encodeURIComponent(q)}`,
        `/search?q=${encodeURIComponent(q)}`,
      ]) {
        const r = await svc.api('GET', p);
        expect([200, 400], `${p}: ${r.status}`).toContain(r.status);
        if (p.startsWith('/search')) expect(String(r.body)).not.toContain('<script>alert(1)');
      }
    }
    for (const p of ['/api/search?q=zebra&sort=x', '/api/search?q=zebra&limit=0', '/api/search?q=zebra&cursor=garbage', '/api/search?q=zebra&from=yesterday']) {
      expect((await svc.api('GET', p)).status).toBe(400);
    }
    const csv = await fetch(`${svc.url}/api/search/export?format=csv&q=${WORD}`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('title,host,date,start,startSec,endSec,url,speaker,text');
    expect(lines.length).toBeGreaterThan(1);
    const json = await (await fetch(`${svc.url}/api/search/export?format=json&q=${WORD}`)).json();
    expect(json.hits[0]).toMatchObject({ title: `Live <b>talk</b> on ${dialect}`, host: 'Ann Lee' });
  });

  it('deletes an alert and its feed', async () => {
    expect((await svc.api('DELETE', `/api/alerts/${alert.id}`)).status).toBe(204);
    expect((await svc.api('GET', `/api/alerts/${alert.id}`)).status).toBe(404);
    expect((await fetchHead(alert.feedUrl)).status).toBe(404);
  });

  it.runIf(dialect === 'sqlite')('in a browser: search, open a hit at its second, and quote a span', async () => {
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${svc.url}/`);
      expect(await page.locator('#recent-list li.event').count()).toBeGreaterThan(0);
      await page.fill('#q', WORD);
      await Promise.all([page.waitForURL(/\/search\?/), page.press('#q', 'Enter')]);
      expect(await page.locator('ol#hits > li.hit').count()).toBeGreaterThan(0);
      expect(await page.locator('ol#hits > li.hit mark').first().textContent()).toBe(WORD);
      const link = page.locator('ol#hits > li.hit a.play').nth(1);
      const href = (await link.getAttribute('href'))!;
      const t = Number(new URL(href, svc.url).searchParams.get('t'));
      await Promise.all([page.waitForURL(/\/e\//), link.click()]);
      await page.waitForFunction(() => document.querySelector('audio')!.readyState >= 1);
      await page.evaluate(() => document.querySelector('audio')!.play());
      await page.waitForFunction(() => !document.querySelector('audio')!.paused);
      expect(await page.evaluate(() => document.querySelector('audio')!.currentTime)).toBeGreaterThanOrEqual(t - 0.5);
      const current = await page.waitForSelector('li.line.current');
      const lineStart = Number(await current.getAttribute('data-start'));
      expect(lineStart).toBeLessThanOrEqual(t + 0.01);
      expect(lineStart).toBeGreaterThan(t - 30);

      // Select two words of the transcript: the quote link plays exactly their span.
      const words = page.locator('li.line span.w[data-start]');
      expect(await words.count()).toBeGreaterThan(3);
      const span = await page.evaluate(() => {
        const ws = [...document.querySelectorAll<HTMLElement>('li.line span.w[data-start]')];
        const a = ws[1];
        const b = ws[2];
        const r = document.createRange();
        r.setStart(a.firstChild!, 0);
        r.setEnd(b.firstChild!, b.firstChild!.textContent!.length);
        const sel = window.getSelection()!;
        sel.removeAllRanges();
        sel.addRange(r);
        document.dispatchEvent(new Event('selectionchange'));
        a.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
        return { start: Number(a.dataset.start), end: Number(b.dataset.end) };
      });
      await page.waitForSelector('#quote-share', { state: 'visible' });
      const quoteUrl = await page.inputValue('#quote-url');
      const q = new URL(quoteUrl).searchParams;
      expect(Number(q.get('t'))).toBeCloseTo(span.start, 2);
      expect(Number(q.get('end'))).toBeCloseTo(span.end, 2);
      await page.goto(quoteUrl);
      expect(await page.locator('span.w.quoted').count()).toBe(2);
      expect(await page.getAttribute('meta[property="og:image"]', 'content')).toContain('/quote.png?t=');
      await page.waitForFunction(() => document.querySelector('audio')!.readyState >= 1);
      await page.click('#play-quote');
      await page.waitForFunction(() => !document.querySelector('audio')!.paused);
      const startedAt = await page.evaluate(() => document.querySelector('audio')!.currentTime);
      expect(startedAt).toBeGreaterThanOrEqual(span.start - 0.3);
      await page.waitForFunction(() => document.querySelector('audio')!.paused, undefined, { timeout: 30_000 });
      const stoppedAt = await page.evaluate(() => document.querySelector('audio')!.currentTime);
      expect(stoppedAt).toBeGreaterThanOrEqual(span.end - 0.05);
      expect(stoppedAt).toBeLessThan(span.end + 0.6);
      const card = await fetchHead(await page.getAttribute('meta[property="og:image"]', 'content').then((u) => new URL(u!, svc.url).href));
      expect(card.headers.get('content-type')).toBe('image/png');
    } finally {
      await browser.close();
    }
  });

  it('forgets a deleted event: gone at once from the API, pages, feed and search, and its rows and objects soon after', async () => {
    const before = (await svc.api('GET', `/api/events/${eventId}`)).body;
    const audioUrl: string = before.urls.audio;
    expect((await fetchHead(audioUrl)).status).toBe(200);
    expect((await svc.api('DELETE', `/api/events/${eventId}`, undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await svc.api('DELETE', `/api/events/${eventId}`)).status).toBe(202);

    expect((await svc.api('GET', `/api/events/${eventId}`)).status).toBe(404);
    expect((await svc.api('GET', '/api/events')).body.events.map((e: { id: string }) => e.id)).not.toContain(eventId);
    expect((await fetchHead(`${svc.url}/e/${slug}`)).status).toBe(404);
    expect((await fetchHead(`${svc.url}/api/events/${eventId}/transcript.json`)).status).toBe(404);
    expect(await (await fetch(`${svc.url}/feed.xml`)).text()).not.toContain(eventId);
    expect(await (await fetch(`${svc.url}/`)).text()).not.toContain(`/e/${slug}`);
    expect((await svc.api('GET', `/api/search?q=${WORD}`)).body.total).toBe(0);
    expect((await svc.api('GET', `/api/events/${eventId}/search?q=${WORD}`)).status).toBe(404);
    expect((await svc.api('DELETE', `/api/events/${eventId}`)).status).toBe(404);

    // Soon after, every stage has forgotten it: no object under its prefixes, no row in any stage's table.
    await until('the stored audio gone', async () => ((await fetchHead(audioUrl)).status === 404 ? true : undefined), 30_000);
    const db = openDatabase({ url: databaseUrl, sqliteFile: path.join(svc.dataDir, 'catalog.sqlite') }).as<Record<string, { event_id: string }>>();
    try {
      const purged = await until('the purge', async () => {
        const r = await sql<{ purged_at: string | null; title: string }>`SELECT purged_at, title FROM events WHERE id = ${eventId}`.execute(db);
        return r.rows[0]?.purged_at ? r.rows[0] : undefined;
      });
      expect(purged.title).toBe('');
      const tables = [
        'chunks',
        'sessions',
        'transcoder_chunks',
        'rendition_segments',
        'asr_windows',
        'asr_status',
        'publications',
        'search_segments',
        'search_events',
        'search_alert_matches',
        'webhook_deliveries',
        'gaps',
      ];
      for (const t of tables) {
        const n = await db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('event_id', '=', eventId)
          .executeTakeFirstOrThrow();
        expect(Number(n.n), t).toBe(0);
      }
    } finally {
      await db.destroy();
    }
    const left = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()) : []);
    expect(left(path.join(svc.dataDir, 'storage', 'events', eventId))).toEqual([]);
    expect(left(path.join(svc.dataDir, 'private', 'events', eventId))).toEqual([]);
    // The stored feed was rebuilt without it (its stored page went with its prefix, above).
    expect(fs.readFileSync(path.join(svc.dataDir, 'storage', 'feed.xml'), 'utf8')).not.toContain(eventId);
  });
});
