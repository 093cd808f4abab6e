// Embeds: the oEmbed endpoint answers for a replay, a moment (`?t=`) and a
// clip URL with a "rich" iframe of the embed player, within the consumer's
// bounds; anything that is not a URL replay gave out is a 404, a bad bound a
// 400 naming it, another format a 501. In headless Chromium, a page on
// another origin embeds the player with the HTML oEmbed gave: it starts at
// the moment's second, plays on, and shows the transcript line being heard.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { launchChromium, pageProblems } from './helpers/browser.ts';
import { pusher } from './helpers/hostile.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';

const WORD = 'walrus';

let tmp: string;
let svc: RunningService;
let browser: Browser;
let ev: any;
let clip: any;
/** A plain page on another origin that embeds whatever HTML it is given. */
let host: http.Server;
let hostUrl: string;
let embedHtml = '';

const oembed = async (query: Record<string, string>) => {
  const r = await fetch(`${svc.url}/oembed?${new URLSearchParams(query)}`);
  return { status: r.status, body: await r.json(), cache: r.headers.get('cache-control') };
};
const iframeSrc = (html: string) => new URL(/src="([^"]+)"/.exec(html)![1].replace(/&amp;/g, '&'));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-embeds-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const model = path.join(tmp, 'walrus.bin');
  makeTinyModel(model, { alwaysSay: WORD });
  svc = await startService({ env: { WHISPER_MODEL: model } });
  browser = await launchChromium();
  host = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>blog</title>${embedHtml}`));
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  hostUrl = `http://localhost:${(host.address() as AddressInfo).port}/`;

  const created = await svc.api('POST', '/api/events', { title: 'Embedded <talk>', host: 'Bo', source: { type: 'push' } });
  expect(created.status).toBe(201);
  ev = created.body;
  await pusher(ev.ingest.url, ev.ingest.key).sendAudio(40);
  expect((await svc.api('POST', `/api/events/${ev.id}/end`)).status).toBe(202);
  ev = await svc.waitFor(ev.id, (e) => e.status === 'failed' || (e.status === 'published' && e.transcript.status === 'complete'), 180_000);
  const c = await svc.api('POST', `/api/events/${ev.id}/clips`, { startSec: 12, endSec: 20, title: 'The bit about <walruses>' });
  expect(c.status).toBe(201);
  clip = c.body;
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
  await new Promise((r) => host?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('oEmbed', () => {
  it('answers for a replay with the embed player in an iframe', async () => {
    const r = await oembed({ url: `${svc.url}/e/${ev.slug}` });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      version: '1.0',
      type: 'rich',
      title: 'Embedded <talk>',
      author_name: 'Bo',
      width: 480,
      height: 180,
      thumbnail_url: ev.urls.card,
    });
    expect(r.body.html).toMatch(/^<iframe src="[^"]+" width="480" height="180" title="Embedded &lt;talk&gt;"/);
    const src = iframeSrc(r.body.html);
    expect(`${src.origin}${src.pathname}`).toBe(`${svc.url}/e/${ev.slug}`);
    expect(src.searchParams.get('embed')).toBe('1');
    expect(src.searchParams.has('t')).toBe(false);
    expect(r.cache).toBe('public, max-age=60');
  });

  it('answers for a moment, starting the player at its second, within the bounds asked', async () => {
    const r = await oembed({ url: `${svc.url}/e/${ev.slug}?t=25`, maxwidth: '320', maxheight: '150' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ width: 320, height: 150 });
    expect(r.body.html).toContain('width="320" height="150"');
    expect(iframeSrc(r.body.html).searchParams.get('t')).toBe('25');
  });

  it('answers for a clip with its title, playing its span', async () => {
    expect(clip.id).toMatch(/^cl_/);
    const r = await oembed({ url: `${svc.url}/c/${clip.id}` });
    expect(r.status).toBe(200);
    expect(r.body.title).toBe('The bit about <walruses>');
    const src = iframeSrc(r.body.html);
    expect([src.searchParams.get('t'), src.searchParams.get('end'), src.searchParams.get('embed')]).toEqual([String(clip.startSec), String(clip.endSec), '1']);
  });

  it('refuses what is not a URL replay gave out, bad bounds and other formats', async () => {
    const notFound = [
      `http://elsewhere.example/e/${ev.slug}`,
      `${svc.url.replace('http://', 'http://user:pw@')}/e/${ev.slug}`,
      `${svc.url}/e/no-such-event`,
      `${svc.url}/e/${ev.slug}/../../api/events`,
      `${svc.url}/c/cl_0000000000000000`,
      `${svc.url}/files/events/${ev.id}/audio.m4a`,
      'javascript:alert(1)//',
      `file:///etc/passwd`,
    ];
    for (const url of notFound) expect((await oembed({ url })).status, url).toBe(404);
    for (const [query, field] of [
      [{}, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: `${svc.url}/e/${ev.slug}?t=abc` }, 'url'],
      [{ url: `${svc.url}/e/${ev.slug}`, maxwidth: '-5' }, 'maxwidth'],
      [{ url: `${svc.url}/e/${ev.slug}`, maxheight: '1e3' }, 'maxheight'],
      [{ url: 'x'.repeat(3000) }, 'url'],
    ] as [Record<string, string>, string][]) {
      const r = await oembed(query);
      expect(r.status, JSON.stringify(query).slice(0, 80)).toBe(400);
      expect(r.body.field).toBe(field);
    }
    expect((await oembed({ url: `${svc.url}/e/${ev.slug}`, format: 'xml' })).status).toBe(501);
  });

  it("is announced by the clip page, which carries the replay page's player card and audio tags", async () => {
    const html = await (await fetch(`${svc.url}/c/${clip.id}`)).text();
    const href = /<link rel="alternate" type="application\/json\+oembed"[^>]+href="([^"]+)">/.exec(html)?.[1].replace(/&amp;/g, '&');
    expect(href).toBe(`${svc.url}/oembed?url=${encodeURIComponent(`${svc.url}/c/${clip.id}`)}`);
    const o = await (await fetch(href!)).json();
    expect(o).toMatchObject({ type: 'rich', title: 'The bit about <walruses>' });
    const json = (await svc.api('GET', `/api/clips/${clip.id}`)).body;
    const metaOf = (name: string) => new RegExp(`<meta (?:name|property)="${name}" content="([^"]*)">`).exec(html)?.[1].replace(/&amp;/g, '&');
    expect(metaOf('twitter:card')).toBe('player');
    expect(metaOf('twitter:player')).toBe(json.urls.player);
    expect(new URL(json.urls.player).searchParams.get('embed')).toBe('1');
    expect([metaOf('twitter:player:width'), metaOf('twitter:player:height')]).toEqual(['480', '180']);
    if (json.status === 'ready') {
      expect(metaOf('og:audio')).toBe(json.urls.audio);
      expect(metaOf('twitter:player:stream')).toBe(json.urls.audio);
    }
  });

  it('is announced by the replay page', async () => {
    const html = await (await fetch(`${svc.url}/e/${ev.slug}`)).text();
    expect(html).toMatch(/<link rel="alternate" type="application\/json\+oembed"[^>]+href="[^"]+oembed\.json">/);
  });
});

describe('the embed player, in an iframe on another site', () => {
  it('starts at the moment, plays on, and shows the line being heard', async () => {
    embedHtml = (await oembed({ url: `${svc.url}/e/${ev.slug}?t=25` })).body.html;
    const page = await browser.newPage();
    const problems = pageProblems(page);
    await page.goto(hostUrl);
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    expect(frame).not.toBeNull();
    await frame!.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 24.9);
    expect(await frame!.evaluate(() => document.body.classList.contains('embed'))).toBe(true);
    // The player, the title and the line fit the iframe oEmbed sized: nothing to scroll.
    expect(await frame!.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(180);
    await frame!.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).play());
    await frame!.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime > 25.5);
    const t = await frame!.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentTime);
    expect(t).toBeLessThan(40);
    const transcript = (await svc.api('GET', `/api/events/${ev.id}/transcript.json`)).body;
    const heard = transcript.segments.find((s: any) => s.startTime <= t && t < s.endTime);
    expect(heard?.body).toContain(WORD);
    await frame!.waitForFunction((text) => document.getElementById('embed-line')?.textContent?.trim() === text, heard.body.trim());
    expect(problems).toEqual([]);
    await page.close();
  });
});
