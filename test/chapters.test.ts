// Markers and chapters, end to end on the real service: a host marks moments
// while a pushed event is live (one at "now", one at a given second), hostile
// and out-of-range requests are refused with the field named and change
// nothing; after publication the feed, read by a podcast feed parser, links
// the JSON chapters, which validate against the format; the replay page (as
// the app serves it and as it is stored) lists them, escaped, and in
// Chromium a chapter seeks the player; an edit (PUT) replaces them
// everywhere, and a marker set after the edit joins the edited chapters.
// Clips marked as soundbites are listed in the feed as <podcast:soundbite>.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parseFeed } from 'podcast-partytime';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, pageProblems } from './helpers/browser.ts';
import { pusher } from './helpers/hostile.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/chapters.schema.json'), 'utf8')) as object;
const validChapters = new Ajv({ allErrors: true }).compile(schema);

const HOSTILE_TITLE = `Intro </script><script>alert(1)</script> & "more"`;

let svc: RunningService;
let browser: Browser;
let ev: any;
/** What the API answered while the event was live. */
let liveMarkers: { now: any; given: any; timelineAtNow: number };
let refusals: { name: string; status: number; body: any }[];

const chaptersOf = async (id: string) => (await svc.api('GET', `/api/events/${id}/chapters`)).body;
const feedItem = async (id: string) => parseFeed(await (await fetch(`${svc.url}/feed.xml`)).text())!.items.find((i) => i.guid === id);

beforeAll(async () => {
  svc = await startService();
  browser = await launchChromium();
  const created = await svc.api('POST', '/api/events', { title: 'Chaptered', host: 'Ann', source: { type: 'push' } });
  expect(created.status).toBe(201);
  ev = created.body;
  const sending = pusher(ev.ingest.url, ev.ingest.key).sendAudio(16);
  const live = await svc.waitFor(ev.id, (e) => e.timelineSec > 6, 60_000);
  const now = await svc.api('POST', `/api/events/${ev.id}/markers`, { title: HOSTILE_TITLE });
  const given = await svc.api('POST', `/api/events/${ev.id}/markers`, { title: 'Opening', atSec: 1.5 });
  liveMarkers = { now, given, timelineAtNow: live.timelineSec };
  const bad: [string, unknown, string?][] = [
    ['no title', { atSec: 1 }],
    ['empty title', { title: '   ' }],
    ['control characters', { title: 'a\u0000b' }],
    ['title too long', { title: 'x'.repeat(201) }],
    ['atSec as text', { title: 'a', atSec: '3' }],
    ['atSec negative', { title: 'a', atSec: -1 }],
    ['atSec past what was recorded', { title: 'a', atSec: 3600 }],
    ['not an object', [1, 2]],
    ['not JSON', '{"title": '],
  ];
  refusals = [];
  for (const [name, body] of bad) {
    const r = await svc.api('POST', `/api/events/${ev.id}/markers`, body);
    refusals.push({ name, status: r.status, body: r.body });
  }
  refusals.push({ name: 'no token', ...(await svc.api('POST', `/api/events/${ev.id}/markers`, { title: 'a' }, { authorization: '' })) });
  refusals.push({ name: 'unknown event', ...(await svc.api('POST', `/api/events/ev_doesnotexist0000/markers`, { title: 'a' })) });
  refusals.push({ name: 'path traversal', ...(await svc.api('POST', `/api/events/..%2F..%2Fetc/markers`, { title: 'a' })) });
  await sending;
  expect((await svc.api('POST', `/api/events/${ev.id}/end`)).status).toBe(202);
  ev = await svc.waitFor(ev.id, (e) => e.status === 'published' || e.status === 'failed', 120_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
});

describe('markers while live', () => {
  it('default to now, the recording so far, or take the second given', () => {
    expect(liveMarkers.now.status).toBe(201);
    expect(liveMarkers.now.body.id).toMatch(/^mk_/);
    expect(liveMarkers.now.body.atSec).toBeGreaterThanOrEqual(liveMarkers.timelineAtNow);
    expect(liveMarkers.now.body.atSec).toBeLessThan(liveMarkers.timelineAtNow + 5);
    expect(liveMarkers.given.status).toBe(201);
    expect(liveMarkers.given.body).toMatchObject({ atSec: 1.5, title: 'Opening', chaptersRevision: 2 });
  });

  it('refuse bad requests with the field named, and keep nothing of them', async () => {
    const by = Object.fromEntries(refusals.map((r) => [r.name, r]));
    for (const [name, field] of [
      ['no title', 'title'],
      ['empty title', 'title'],
      ['control characters', 'title'],
      ['title too long', 'title'],
      ['atSec as text', 'atSec'],
      ['atSec negative', 'atSec'],
      ['atSec past what was recorded', 'atSec'],
      ['not an object', 'body'],
    ]) {
      expect(by[name].status, name).toBe(400);
      expect(by[name].body.field, name).toBe(field);
    }
    expect(by['not JSON'].status).toBe(400);
    expect(by['no token'].status).toBe(401);
    expect(by['unknown event'].status).toBe(404);
    expect(by['path traversal'].status).toBe(404);
    expect((await chaptersOf(ev.id)).chapters).toHaveLength(2);
  });
});

describe('after publication', () => {
  it('publishes the event', () => {
    expect(ev.status).toBe('published');
  });

  it('serves the chapters in time order, in the JSON chapters format', async () => {
    const r = await fetch(`${svc.url}/api/events/${ev.id}/chapters`);
    expect(r.headers.get('content-type')).toMatch(/^application\/json\+chapters/);
    const doc = await r.json();
    expect(validChapters(doc), JSON.stringify(validChapters.errors)).toBe(true);
    expect(doc.chapters.map((c: any) => c.title)).toEqual(['Opening', HOSTILE_TITLE]);
  });

  it('links them from the feed, which a podcast feed parser reads, and stores them where the link points', async () => {
    const item = await feedItem(ev.id);
    expect(item?.podcastChapters?.type).toBe('application/json+chapters');
    const r = await fetch(item!.podcastChapters!.url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json\+chapters/);
    const doc = await r.json();
    expect(validChapters(doc), JSON.stringify(validChapters.errors)).toBe(true);
    expect(doc).toEqual(await chaptersOf(ev.id));
  });

  it('lists them on the replay page, as served and as stored, with titles kept as text', async () => {
    for (const url of [`${svc.url}/e/${ev.slug}`, ev.urls.page]) {
      const html = await (await fetch(url)).text();
      expect(html, url).toContain('id="chapter-list"');
      expect(html, url).toContain('id="chapterbar"');
      expect(html, url).toContain('<a class="chapter" href="?t=1" data-t="1.5"><span class="ts">0:01</span> Opening</a>');
      expect(html, url).toContain('Intro &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
      expect(html, url).not.toContain('<script>alert(1)');
    }
  });

  it('seeks the player from a chapter in Chromium, and marks the chapter being heard', async () => {
    const page = await browser.newPage();
    const problems = pageProblems(page);
    await page.goto(`${svc.url}/e/${ev.slug}`);
    await page.waitForFunction(() => !document.querySelector('#chapterbar')?.hasAttribute('hidden'));
    expect(await page.locator('#chapterbar .mark').count()).toBe(2);
    await page.locator('#chapter-list a.chapter').nth(1).click();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 6);
    await page.waitForSelector('#chapter-list li.current:nth-child(2)');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('soundbites', () => {
  it('lists clips marked as soundbites in the feed, once ready, and drops one deleted', async () => {
    const make = async (body: object) => {
      const r = await svc.api('POST', `/api/events/${ev.id}/clips`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const c = (await svc.api('GET', `/api/clips/${r.body.id}`)).body;
        if (c.status === 'ready') return c;
        expect(c.status).not.toBe('failed');
        if (Date.now() > deadline) throw new Error('clip not ready');
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    const bite = await make({ startSec: 2, endSec: 9.5, title: 'The <best> bit & more', soundbite: true });
    await make({ startSec: 3, endSec: 5 }); // not a soundbite: not in the feed
    const item = await feedItem(ev.id);
    expect(item?.podcastSoundbites).toHaveLength(1);
    const sb = item!.podcastSoundbites![0];
    expect(sb.title).toBe('The <best> bit & more');
    expect(sb.startTime).toBeCloseTo(bite.startSec, 2);
    expect(sb.duration).toBeCloseTo(bite.endSec - bite.startSec, 2);
    expect(await (await fetch(`${svc.url}/feed.xml`)).text()).toContain('The &lt;best&gt; bit &amp; more</podcast:soundbite>');
    expect((await svc.api('DELETE', `/api/clips/${bite.id}`)).status).toBe(200);
    expect((await feedItem(ev.id))?.podcastSoundbites ?? []).toHaveLength(0);
  });
});

describe('editing the chapters', () => {
  it('refuses a bad document with the field named, and keeps the chapters as they were', async () => {
    const before = await chaptersOf(ev.id);
    const cases: [unknown, string][] = [
      [{ chapters: [] }, 'version'],
      [{ version: '1.2.0' }, 'chapters'],
      [{ version: '1.2.0', chapters: [{ title: 'a' }] }, 'chapters[0].startTime'],
      [{ version: '1.2.0', chapters: [{ startTime: 1 }, { startTime: 99999 }] }, 'chapters[1].startTime'],
      [{ version: '1.2.0', chapters: [{ startTime: 1, url: 'javascript:alert(1)' }] }, 'chapters[0].url'],
      [{ version: '1.2.0', chapters: [{ startTime: 1, img: 'https://user:pw@example.com/a.png' }] }, 'chapters[0].img'],
      [{ version: '1.2.0', chapters: [{ startTime: 5, endTime: 2 }] }, 'chapters[0].endTime'],
      [{ version: '1.2.0', chapters: [{ startTime: 1, onclick: 'x' }] }, 'chapters[0].onclick'],
      [{ version: '1.2.0', chapters: [{ startTime: 1, location: { name: 'x', geo: 'nowhere' } }] }, 'chapters[0].location.geo'],
    ];
    for (const [body, field] of cases) {
      const r = await svc.api('PUT', `/api/events/${ev.id}/chapters`, body);
      expect(r.status, field).toBe(400);
      expect(r.body.field, JSON.stringify(r.body)).toBe(field);
    }
    expect(await chaptersOf(ev.id)).toEqual(before);
  });

  it('replaces them everywhere, and a later marker joins the edited chapters', async () => {
    const doc = {
      version: '1.2.0',
      title: 'Chaptered',
      chapters: [
        { startTime: 8, title: 'Second part', url: 'https://example.com/more', img: 'https://example.com/a.png' },
        { startTime: 0, title: 'Start', toc: true },
        { startTime: 3, title: 'Hidden', toc: false },
      ],
    };
    const put = await svc.api('PUT', `/api/events/${ev.id}/chapters`, doc, { 'content-type': 'application/json+chapters' });
    expect(put.status).toBe(200);
    expect(put.body.chapters.map((c: any) => c.title)).toEqual(['Start', 'Hidden', 'Second part']);
    const marker = await svc.api('POST', `/api/events/${ev.id}/markers`, { title: 'Late note', atSec: 12 });
    expect(marker.status).toBe(201);
    const now = await chaptersOf(ev.id);
    expect(validChapters(now), JSON.stringify(validChapters.errors)).toBe(true);
    expect(now.chapters.map((c: any) => c.title)).toEqual(['Start', 'Hidden', 'Second part', 'Late note']);
    const item = await feedItem(ev.id);
    expect(await (await fetch(item!.podcastChapters!.url)).json()).toEqual(now);
    // The stored page is rewritten by the publisher's job: silent chapters are not listed.
    const deadline = Date.now() + 30_000;
    let html = '';
    while (Date.now() < deadline && !html.includes('Late note')) html = await (await fetch(ev.urls.page)).text();
    expect(html).toContain('Late note');
    expect(html).toContain('href="https://example.com/more"');
    expect(html).not.toContain('Hidden');
    expect(html).not.toContain('Opening');
  });

  it('closes a failed or unknown event', async () => {
    expect((await svc.api('PUT', `/api/events/ev_doesnotexist0000/chapters`, { version: '1.2.0', chapters: [] })).status).toBe(404);
    expect((await svc.api('PUT', `/api/events/${ev.id}/chapters`, { version: '1.2.0', chapters: [] }, { authorization: 'Bearer wrong' })).status).toBe(401);
  });
});
