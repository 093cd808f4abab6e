// The whole loop on real parts: a 2-minute live HLS source (a 1 kHz tone from
// a real-time ffmpeg encoder) recorded by two services at once, one on SQLite
// with the fs driver and one on PostgreSQL (a fresh database) with S3
// (s3rver), each with the real whisper.cpp binary and a tiny random-weight
// model; a webhook receiver on loopback; Chromium for the page. Both get the
// same assertions; then a fresh process with an empty data dir on the same
// PostgreSQL and bucket serves the published event unchanged.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFeed } from 'podcast-partytime';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBuffers, probeAudio } from '../shared/ffmpeg.ts';
import { residualsAt, scanTone } from '../transcoder/verify.ts';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { concatDuration, hlsSegmentFiles } from './helpers/audio.ts';
import { liveHls, type LiveSource } from './helpers/live-source.ts';
import { s3rverProcess, s3rverStorage, type S3rverProcess } from './helpers/s3rver.ts';
import { signatureValid, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';
import { freshPostgres } from './helpers/db.ts';
import { fetchHead } from './helpers/http.ts';

const PRIVATE_BUCKET = 'replay-pipeline-private';

const SOURCE_SEC = 120;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let receiver: WebhookReceiver;
let src: LiveSource & { dir: string };
let s3: S3rverProcess;
let fsSvc: RunningService;
let s3Svc: RunningService;
let fsEvent: any;
let s3Event: any;
let tmp: string;
let sourceSec: number;
let pgdb: Awaited<ReturnType<typeof freshPostgres>>;
let s3Env: Record<string, string>;
interface LiveChecks {
  playlistBefore: string;
  playlistAfter: string;
  transcriptLive: any;
  statusDuring: string;
}
const liveChecks = new Map<string, LiveChecks>();
const secrets = new Map<string, string>();

const RUNS = ['SQLite + fs', 'PostgreSQL + S3'] as const;
type Run = (typeof RUNS)[number];
const run = (r: Run) => (r === 'SQLite + fs' ? { svc: fsSvc, ev: fsEvent } : { svc: s3Svc, ev: s3Event });
const TITLE = 'Pipeline <b>fs</b> & friends';
const HOST = 'Ada & <Grace>';

async function getText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text(), headers: r.headers };
}

/** Parses WebVTT strictly enough to fail on broken output: header, cue timings in order, text. */
function parseVtt(text: string) {
  expect(text.startsWith('WEBVTT')).toBe(true);
  const cues = [...text.matchAll(/^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})[^\n]*\n((?:.+\n?)+)/gm)];
  const sec = (t: string) => t.split(':').reduce((a, x) => a * 60 + Number(x), 0);
  let last = -1;
  for (const c of cues) {
    expect(sec(c[2])).toBeGreaterThanOrEqual(sec(c[1]));
    expect(sec(c[1])).toBeGreaterThanOrEqual(last);
    last = sec(c[1]);
    for (const line of c[3].trim().split('\n')) expect(line.length).toBeLessThanOrEqual(65);
  }
  return cues;
}

function parseSrt(text: string) {
  const blocks = text.trim() ? text.trim().split(/\n\n+/) : [];
  blocks.forEach((b, i) => {
    const [n, timing] = b.split('\n');
    expect(Number(n)).toBe(i + 1);
    expect(timing).toMatch(/^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$/);
  });
  return blocks;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-pipeline-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const model = path.join(tmp, 'tiny.bin');
  makeTinyModel(model, { seed: 4 });

  receiver = await webhookReceiver();

  s3 = await s3rverProcess('replay-pipeline', [PRIVATE_BUCKET]);
  pgdb = await freshPostgres();
  const env = { WHISPER_MODEL: model };
  s3Env = { ...env, ...s3.env, S3_PUBLIC_BASE_URL: `${s3.endpoint}/${s3.bucket}`, S3_PRIVATE_BUCKET: PRIVATE_BUCKET, DATABASE_URL: pgdb.url };
  [fsSvc, s3Svc] = await Promise.all([startService({ env }), startService({ env: s3Env })]);

  for (const svc of [fsSvc, s3Svc]) {
    const hook = await svc.api('POST', '/api/webhooks', { url: receiver.url, events: ['event.started', 'event.ended', 'event.published', 'event.updated'] });
    expect(hook.status).toBe(201);
    secrets.set(svc.url, hook.body.secret);
  }

  src = await liveHls({ durationSec: SOURCE_SEC, freq: 1000 });
  [fsEvent, s3Event] = (
    await Promise.all([fsSvc, s3Svc].map((svc) => svc.api('POST', '/api/events', { title: TITLE, host: HOST, source: { url: src.url } })))
  ).map((r) => r.body);

  // While live: the playlist grows and the partial transcript covers some of the timeline.
  await Promise.all(
    RUNS.map(async (r) => {
      const { svc, ev } = run(r);
      const withHls = await svc.waitFor(ev.id, (e) => !!e.urls?.hls, 60_000);
      const playlistBefore = (await getText(withHls.urls.hls)).text;
      const live = await svc.waitFor(ev.id, (e) => e.transcribedSec > 0, 100_000);
      const transcriptLive = await (await fetch(`${svc.url}/api/events/${ev.id}/transcript.json`)).json();
      const playlistAfter = (await getText(withHls.urls.hls)).text;
      liveChecks.set(r, { playlistBefore, playlistAfter, transcriptLive, statusDuring: live.status });
    }),
  );

  await src.finished;
  sourceSec = await concatDuration(hlsSegmentFiles(src.dir));
  // Published first; a transcript still finishing then follows (event.updated), so wait for both.
  // (urls.transcript appears once the publication carries the transcript.)
  const done = (e: any) =>
    e.status === 'failed' || (e.status === 'published' && e.transcript.status !== 'pending' && e.transcript.status !== 'running' && !!e.urls.transcript);
  fsEvent = await fsSvc.waitFor(fsEvent.id, done, 180_000);
  s3Event = await s3Svc.waitFor(s3Event.id, done, 180_000);
}, 600_000);

afterAll(async () => {
  await Promise.all([fsSvc?.stop(), s3Svc?.stop()]);
  await src?.close();
  await s3?.close();
  await pgdb?.drop();
  receiver?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('while the event is live', () => {
  it.each(RUNS)('serves a growing EVENT playlist and a partial transcript (%s)', (r) => {
    const { playlistBefore, playlistAfter, transcriptLive, statusDuring } = liveChecks.get(r)!;
    expect(statusDuring).toBe('live');
    for (const p of [playlistBefore, playlistAfter]) {
      expect(p).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
      expect(p).not.toContain('#EXT-X-ENDLIST');
    }
    const count = (p: string) => (p.match(/#EXTINF/g) ?? []).length;
    expect(count(playlistAfter)).toBeGreaterThan(count(playlistBefore));
    expect(transcriptLive.version).toBe('1.0.0');
    expect(transcriptLive.coveredSec).toBeGreaterThan(0);
    expect(transcriptLive.coveredSec).toBeLessThan(SOURCE_SEC);
  });
});

describe('after the end', () => {
  it('publishes on both drivers, with a gapless m4a as long as the source', async () => {
    for (const ev of [fsEvent, s3Event]) {
      expect(ev.status, JSON.stringify(ev)).toBe('published');
      expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);
      expect(typeof ev.publishLatencyMs).toBe('number');
      expect(ev.transcript.status).toBe('complete');
      const m4a = path.join(tmp, `${ev.id}.m4a`);
      const res = await fetch(ev.urls.audio);
      expect(res.status).toBe(200);
      fs.writeFileSync(m4a, Buffer.from(await res.arrayBuffer()));
      const probe = await probeAudio(m4a);
      expect(probe.codec).toBe('aac');
      expect(Math.abs(probe.durationSec - sourceSec)).toBeLessThan(0.02);
      // Decode the whole recording and fit the tone window by window: a click,
      // dropout or phase jump at any chunk or segment boundary would stand out.
      const { stdout } = await ffmpegBuffers(['-i', m4a, '-f', 'f32le', '-ac', '1', '-ar', '48000', 'pipe:1']);
      const pcm = new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
      // Every join (source chunk boundaries and rendition segment boundaries) is held to -30 dB;
      // the whole-file scan to -27 dB, since a per-segment AAC encode's rate control alone
      // reaches about -30 dB mid-segment on a pure tone (measured; see the transcoder's tests).
      const chunks = (await (ev === fsEvent ? fsSvc : s3Svc).api('GET', `/api/events/${ev.id}/chunks`)).body.chunks;
      const joins = [...chunks.slice(1).map((c: any) => c.startSec), ...Array.from({ length: Math.floor(sourceSec / 6.016) }, (_, k) => (k + 1) * 6.016)];
      for (const r of residualsAt(
        pcm,
        joins.filter((t) => t < sourceSec - 0.05),
        { freq: 1000 },
      ))
        expect(r.residualDb, `join at ${r.atSec}`).toBeLessThan(-30);
      const scan = scanTone(pcm, { freq: 1000, fromSec: 0.1, toSec: pcm.length / 48000 - 0.1 });
      expect(scan.worstDb).toBeLessThan(-27);
    }
  });

  it('writes a manifest listing every file with size, sha256 and duration, plus gaps and loudness', async () => {
    for (const ev of [fsEvent, s3Event]) {
      const manifest = await (await fetch(ev.urls.manifest)).json();
      expect(manifest.gaps).toEqual([]);
      expect(manifest.loudness.integratedLufs).toBeLessThan(0);
      const roles = new Set(manifest.files.map((f: any) => f.role));
      for (const r of [
        'audio',
        'hls-playlist',
        'hls-init',
        'hls-segment',
        'card',
        'artwork',
        'peaks',
        'transcript-vtt',
        'transcript-srt',
        'transcript-json',
        'transcript-txt',
      ])
        expect(roles.has(r), r).toBe(true);
      const audio = manifest.files.find((f: any) => f.role === 'audio');
      const bytes = Buffer.from(await (await fetch(audio.url)).arrayBuffer());
      expect(bytes.length).toBe(audio.size);
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(audio.sha256);
      expect(audio.durationSec).toBeCloseTo(sourceSec, 1);
    }
  });

  it('serves a VOD playlist that ffprobe reads, and VTT and SRT that parse', async () => {
    for (const ev of [fsEvent, s3Event]) {
      const pl = (await getText(ev.urls.hls)).text;
      expect(pl).toContain('#EXT-X-ENDLIST');
      const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', ev.urls.hls]).toString();
      expect(Math.abs(Number(out) - sourceSec)).toBeLessThan(0.1);
      const vtt = await getText(ev.urls.transcript.vtt);
      expect(vtt.headers.get('content-type')).toMatch(/text\/vtt/);
      expect(parseVtt(vtt.text).length).toBeGreaterThan(0);
      expect(parseSrt((await getText(ev.urls.transcript.srt)).text).length).toBeGreaterThan(0);
    }
  });

  it.each(RUNS)('lists the recording in a podcast feed that a feed parser reads (%s)', async (r) => {
    const { svc, ev } = run(r);
    const feed = parseFeed((await getText(`${svc.url}/feed.xml`)).text);
    expect(feed).not.toBeNull();
    const item = feed!.items.find((i) => i.guid === ev.id)!;
    expect(item.title).toBe(TITLE);
    expect(item.enclosure.url).toBe(ev.urls.audio);
    expect(item.enclosure.length).toBe(fs.statSync(path.join(tmp, `${ev.id}.m4a`)).size);
    expect(Math.abs((item.duration ?? 0) - sourceSec)).toBeLessThan(1.5);
    expect(item.podcastTranscripts?.map((t) => t.url)).toEqual([ev.urls.transcript.vtt, ev.urls.transcript.srt, ev.urls.transcript.json]);
  });

  it.each(RUNS)('delivers correctly signed webhooks, event.published once (%s)', async (r) => {
    const { svc, ev } = run(r);
    const secret = secrets.get(svc.url)!;
    const mine = () => receiver.received.filter((h) => JSON.parse(h.body).data.id === ev.id);
    await svc.waitFor(ev.id, () => mine().some((h) => JSON.parse(h.body).type === 'event.published'), 30_000);
    const types = mine().map((h) => JSON.parse(h.body).type);
    expect(types).toContain('event.started');
    expect(types).toContain('event.ended');
    for (const h of mine()) expect(signatureValid(h, secret)).toBe(true);
    const published = mine().filter((h) => JSON.parse(h.body).type === 'event.published');
    expect(published).toHaveLength(1);
    const data = JSON.parse(published[0].body).data;
    expect(data.id).toBe(ev.id);
    expect(data.urls.audio).toBe(ev.urls.audio);
    // A forged signature does not verify.
    expect(signatureValid({ ...published[0], body: published[0].body.replace('published', 'publishef') }, secret)).toBe(false);
  });

  it.each(RUNS)('renders the page with the transcript server-side, escaped, and link-preview tags (%s)', async (r) => {
    const { ev } = run(r);
    const fsEvent = ev;
    const page = (await getText(fsEvent.urls.page)).text;
    const transcript = await (await fetch(fsEvent.urls.transcript.json)).json();
    expect(transcript.segments.length).toBeGreaterThan(0);
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    for (const s of transcript.segments.slice(0, 5)) expect(page).toContain(esc(s.body.trim()).slice(0, 20));
    expect(page).toContain('Pipeline &lt;b&gt;fs&lt;/b&gt; &amp; friends');
    expect(page).toContain('Hosted by Ada &amp; &lt;Grace&gt;');
    expect(page).not.toContain('<b>fs</b>');
    expect(page).toMatch(/<meta property="og:image" content="[^"]+card\.png"/);
    expect(page).toMatch(/<meta name="twitter:card" content="player"/);
    const card = await fetchHead(fsEvent.urls.card);
    expect(card.headers.get('content-type')).toBe('image/png');
  });

  it('leaves no 16 kHz work audio behind once the transcript is complete (fs)', async () => {
    // Deleted after the publisher is told the transcript is complete, so within moments of the publication.
    const dir = path.join(fsSvc.dataDir, 'private', 'events', fsEvent.id, 'work', 'pcm16');
    const left = () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    for (const until = Date.now() + 15_000; left().length && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    expect(left()).toEqual([]);
  });

  it('keeps the source archive out of the public bucket: not reachable through the public base URL', async () => {
    const { chunks } = (await s3Svc.api('GET', `/api/events/${s3Event.id}/chunks`)).body;
    expect(chunks.length).toBeGreaterThan(5);
    const priv = s3rverStorage(s3.endpoint, PRIVATE_BUCKET);
    try {
      for (const c of chunks) {
        expect(c.key.startsWith('private/')).toBe(true);
        const viaPublic = await fetch(`${s3.endpoint}/${s3.bucket}/${c.key}`);
        expect(viaPublic.status, c.key).toBe(404);
        await viaPublic.arrayBuffer();
        // It is in the private bucket, intact.
        expect(
          crypto
            .createHash('sha256')
            .update(await priv.get(c.key))
            .digest('hex'),
        ).toBe(c.sha256);
      }
      // The public objects are where the public base URL says.
      expect((await fetchHead(s3Event.urls.audio)).status).toBe(200);
    } finally {
      priv.client.destroy();
    }
  });

  it.each(RUNS)('gives one publication with the same URLs when the end is signalled again (%s)', async (r) => {
    const { svc, ev: first } = run(r);
    const again = await svc.api('POST', `/api/events/${first.id}/end`);
    expect(again.status).toBe(202);
    await sleep(1500);
    const ev = (await svc.api('GET', `/api/events/${first.id}`)).body;
    expect(ev.publishedAt).toBe(first.publishedAt);
    expect(ev.urls).toEqual(first.urls);
    const deliveries = (await svc.api('GET', '/api/webhooks')).body.webhooks[0];
    const log = (await svc.api('GET', `/api/webhooks/${deliveries.id}/deliveries`)).body.deliveries;
    expect(log.filter((d: any) => d.eventType === 'event.published')).toHaveLength(1);
  });

  it('serves the published event unchanged from a fresh process with an empty data dir on the same PostgreSQL and bucket', async () => {
    const fresh = await startService({ env: s3Env });
    try {
      const ev = (await fresh.api('GET', `/api/events/${s3Event.id}`)).body;
      for (const k of ['status', 'transcript', 'publishedAt', 'capturedSec', 'timelineSec', 'gaps', 'title', 'host']) expect(ev[k], k).toEqual(s3Event[k]);
      // Every URL is the same, the page's but for the address of the process answering (behind one REPLAY_PUBLIC_URL in production).
      const pagePath = (u: { page: string }) => ({ ...u, page: new URL(u.page).pathname });
      expect(pagePath(ev.urls)).toEqual(pagePath(s3Event.urls));
      const page = await getText(`${fresh.url}/e/${s3Event.slug}`);
      expect(page.status).toBe(200);
      const transcript = await (await fetch(s3Event.urls.transcript.json)).json();
      const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
      expect(page.text).toContain(esc(transcript.segments[0].body.trim()).slice(0, 20));
      const feed = parseFeed((await getText(`${fresh.url}/feed.xml`)).text);
      expect(feed!.items.find((i) => i.guid === s3Event.id)?.enclosure.url).toBe(s3Event.urls.audio);
      const chunks = (await fresh.api('GET', `/api/events/${s3Event.id}/chunks`)).body.chunks;
      expect(chunks).toEqual((await s3Svc.api('GET', `/api/events/${s3Event.id}/chunks`)).body.chunks);
    } finally {
      await fresh.stop();
    }
  });
});

describe('in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });
  afterAll(async () => browser?.close());

  it.each(RUNS)('plays, seeks with ?t=, and the highlighted line follows playback (%s)', async (r) => {
    const fsEvent = run(r).ev;
    const page = await browser.newPage();
    const lines = (await (await fetch(fsEvent.urls.transcript.json)).json()).segments as { startTime: number; endTime: number }[];
    const target = lines[Math.floor(lines.length / 2)];
    const t = Math.ceil(target.startTime * 10) / 10 + 0.05;
    await page.goto(`${fsEvent.urls.page}?t=${t}`);
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).readyState >= 1);
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).play());
    await page.waitForFunction(() => !(document.querySelector('audio') as HTMLAudioElement).paused);
    const at = await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentTime);
    expect(at).toBeGreaterThanOrEqual(t - 0.5);
    const current = async () => {
      const el = await page.$('li.line.current');
      if (!el) return undefined;
      return Number(await el.getAttribute('data-start'));
    };
    await page.waitForFunction(() => !!document.querySelector('li.line.current'));
    const audioTime = await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentTime);
    const start = (await current())!;
    expect(start).toBeLessThanOrEqual(audioTime + 0.3);
    // Click a later line: playback jumps there and the highlight follows it.
    const later = lines.find((l) => l.startTime > audioTime + 10) ?? lines[lines.length - 1];
    await page.evaluate((s) => {
      const el = [...document.querySelectorAll('li.line')].find((l) => Number(l.getAttribute('data-start')) >= s - 0.001);
      (el!.querySelector('.ts') as HTMLElement).click();
    }, later.startTime);
    await page.waitForFunction((s) => {
      const el = document.querySelector('li.line.current');
      return el && Number(el.getAttribute('data-start')) >= s - 0.001;
    }, later.startTime);
    const now = await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentTime);
    expect(now).toBeGreaterThanOrEqual(later.startTime - 0.5);
    await page.close();
  });
});
