// The recorder against real parts: `replay start` as a child process with its
// embedded redis-server, real ffmpeg encoders serving live HLS and an
// Icecast-like stream on loopback, and pushed audio over HTTP.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatDuration, hlsSegmentFiles, sha256 } from './helpers/audio.ts';
import { liveHls, liveHttpStream } from './helpers/live-source.ts';
import { startService, storedFile, type RunningService } from './helpers/service.ts';
import { liveToneArgs } from './helpers/tone.ts';
import { fetchHead } from './helpers/http.ts';

let svc: RunningService;

beforeAll(async () => {
  svc = await startService();
});

afterAll(async () => {
  await svc?.stop();
});

const ended = (e: any) => e.status !== 'live';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every chunk in the catalog is in storage, byte for byte, and the chunks tile the timeline between gaps. */
async function expectArchiveConsistent(id: string) {
  const { body } = await svc.api('GET', `/api/events/${id}/chunks`);
  const ev = (await svc.api('GET', `/api/events/${id}`)).body;
  let t = 0;
  for (const c of body.chunks) {
    const file = storedFile(svc.dataDir, c.key);
    expect(fs.existsSync(file), c.key).toBe(true);
    expect(sha256(file)).toBe(c.sha256);
    const gap = ev.gaps.find((g: any) => Math.abs(g.startSec - t) < 0.002);
    if (gap) t = gap.endSec;
    expect(c.startSec).toBeCloseTo(t, 3);
    t = c.startSec + c.durationSec;
  }
  return body.chunks as any[];
}

describe.concurrent('live capture', () => {
  it('archives a 60 s live HLS source with its captured duration within 0.1 s of the source', async () => {
    const src = await liveHls({ durationSec: 60 });
    try {
      const { status, body } = await svc.api('POST', '/api/events', { title: 'Sixty seconds', source: { url: src.url } });
      expect(status).toBe(201);
      const ev = await svc.waitFor(body.id, ended, 150_000);
      await src.finished;
      const sourceSec = await concatDuration(hlsSegmentFiles(src.dir));
      expect(ev.status).toBe('ended');
      expect(ev.endReason).toBe('source ended');
      expect(ev.gaps).toEqual([]);
      expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);
      // One chunk per source segment, in media-sequence order, each as long as the segment.
      const chunks = await expectArchiveConsistent(body.id);
      const segments = hlsSegmentFiles(src.dir);
      expect(chunks.map((c) => c.media?.mediaSeq)).toEqual(segments.map((_, i) => i));
      for (const [i, c] of chunks.entries()) expect(c.durationSec).toBeCloseTo(await concatDuration([segments[i]]), 2);
    } finally {
      await src.close();
    }
  });

  it('re-joins an HLS source after a 5 s outage with no gap and no duplicated audio', async () => {
    const src = await liveHls({ durationSec: 36 });
    try {
      const { body } = await svc.api('POST', '/api/events', { title: 'Outage', source: { url: src.url } });
      await sleep(12_000);
      src.drop(5000);
      const ev = await svc.waitFor(body.id, ended, 120_000);
      await src.finished;
      const sourceSec = await concatDuration(hlsSegmentFiles(src.dir));
      expect(ev.gaps).toEqual([]);
      expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);
      await expectArchiveConsistent(body.id);
    } finally {
      await src.close();
    }
  });

  it('records a 5 s drop of a live stream as one gap of about 5 s, without duplicating audio', async () => {
    const src = await liveHttpStream({ durationSec: 34 });
    try {
      const { body } = await svc.api('POST', '/api/events', { title: 'Drop', source: { url: src.url }, reconnectWindowSec: 20 });
      await sleep(12_000);
      src.drop(5000);
      await src.finished;
      await sleep(1000);
      await svc.api('POST', `/api/events/${body.id}/end`);
      const ev = await svc.waitFor(body.id, ended);
      expect(ev.gaps).toHaveLength(1);
      const gapSec = ev.gaps[0].endSec - ev.gaps[0].startSec;
      expect(gapSec).toBeGreaterThan(4.5);
      expect(gapSec).toBeLessThan(7.5);
      // Nothing duplicated: never more audio than the encoder produced, and
      // nothing lost but the gap.
      const produced = src.sinceFirstListenerSec();
      expect(ev.capturedSec).toBeLessThan(produced - 4.5);
      expect(ev.capturedSec + gapSec).toBeGreaterThan(produced - 1);
      // (Each figure is rounded to the millisecond in the JSON: their sum may differ by one.)
      expect(Math.abs(ev.timelineSec - (ev.capturedSec + gapSec))).toBeLessThan(0.0025);
      await expectArchiveConsistent(body.id);
    } finally {
      await src.close();
    }
  });

  it('takes pushed audio with the stream key, and refuses a wrong key with 401 writing nothing', async () => {
    const { status, body } = await svc.api('POST', '/api/events', { title: 'Pushed', source: { type: 'push' }, reconnectWindowSec: 5 });
    expect(status).toBe(201);
    expect(body.ingest.url).toBe(`${svc.url}/ingest/${body.id}`);
    expect(body.ingest.key).toMatch(/^sk_/);
    // The key is shown once: it is not part of the event's JSON afterwards.
    expect(JSON.stringify((await svc.api('GET', `/api/events/${body.id}`)).body)).not.toContain(body.ingest.key);

    const push = (key: string, seconds: number) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const enc = spawn('ffmpeg', [...liveToneArgs({ freq: 300, seconds }), '-f', 'adts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
        fetch(body.ingest.url, { method: 'PUT', headers: { authorization: `Bearer ${key}` }, body: enc.stdout as any, duplex: 'half' } as any).then(
          (res) => {
            enc.kill();
            resolve({ status: res.status });
          },
          (err: Error) => {
            enc.kill();
            reject(err);
          },
        );
      });

    expect((await push('sk_wrong', 3)).status).toBe(401);
    expect((await svc.api('GET', `/api/events/${body.id}`)).body.chunks).toBe(0);
    // Only the live page the publisher stored when the event started: no audio, no transcript.
    const published = path.join(svc.dataDir, 'storage', 'events', body.id);
    // The live page is rewritten while this runs: a write in flight shows as its dot-named temporary file.
    const pageObjects = ['index.html', 'oembed.json', 'state.json'].flatMap((f) => [f, `.${f}.meta.json`]);
    const isPageObject = (f: string) => pageObjects.some((o) => f === o || (f.startsWith(`.${o}.`) && f.endsWith('.tmp')));
    expect((fs.existsSync(published) ? fs.readdirSync(published) : []).filter((f) => !isPageObject(f))).toEqual([]);
    expect(fs.existsSync(path.join(svc.dataDir, 'private', 'events', body.id))).toBe(false);
    const spool = path.join(svc.dataDir, 'spool', body.id);
    expect(fs.existsSync(spool) ? fs.readdirSync(spool) : []).toEqual([]);

    expect((await push(body.ingest.key, 8)).status).toBe(200);
    await svc.api('POST', `/api/events/${body.id}/end`);
    const ev = await svc.waitFor(body.id, ended);
    expect(ev.status).toBe('ended');
    expect(Math.abs(ev.capturedSec - 8)).toBeLessThan(0.1);
    await expectArchiveConsistent(body.id);
  });
});

describe('events API', () => {
  it('answers malformed creates with 400 naming the field, and creates nothing', async () => {
    const before = (await svc.api('GET', '/api/events')).body.events.length;
    const cases: [unknown, string][] = [
      [{ source: { type: 'push' } }, 'title'],
      [{ title: '  ', source: { type: 'push' } }, 'title'],
      [{ title: 'x' }, 'source'],
      [{ title: 'x', source: 'http://a' }, 'source'],
      [{ title: 'x', source: { url: 'not a url' } }, 'source.url'],
      [{ title: 'x', source: { url: 'ftp://example.com/a' } }, 'source.url'],
      [{ title: 'x', source: { url: 'concat:http://a|http://b' } }, 'source.url'],
      [{ title: 'x', source: { type: 'weird' } }, 'source.type'],
      [{ title: 'x', source: { type: 'push' }, reconnectWindowSec: 1801 }, 'reconnectWindowSec'],
      [{ title: 'x', source: { type: 'push' }, reconnectWindowSec: -1 }, 'reconnectWindowSec'],
      [{ title: 'x', source: { type: 'push' }, reconnectWindowSec: '60' }, 'reconnectWindowSec'],
      [{ title: 'x', host: 5, source: { type: 'push' } }, 'host'],
      [{ title: 'x', source: { type: 'push' }, redundancy: 2 }, 'redundancy'],
      ...[0, 4, -1, 1.5, '2', 1e308, null, [2]].map((redundancy): [unknown, string] => [
        { title: 'x', source: { url: 'http://127.0.0.1:9/live.m3u8' }, redundancy },
        'redundancy',
      ]),
      [[1, 2], 'body'],
    ];
    for (const [body, field] of cases) {
      const r = await svc.api('POST', '/api/events', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field, JSON.stringify(body)).toBe(field);
      expect(typeof r.body.error).toBe('string');
    }
    const bad = await svc.api('POST', '/api/events', '{"title": ');
    expect(bad.status).toBe(400);
    expect((await svc.api('GET', '/api/events')).body.events.length).toBe(before);
  });

  it('needs the bearer token for mutating calls, and answers 404 for unknown ids', async () => {
    const noAuth = await fetchHead(`${svc.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x', source: { type: 'push' } }),
    });
    expect(noAuth.status).toBe(401);
    const wrong = await svc.api('POST', '/api/events', { title: 'x', source: { type: 'push' } }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect((await svc.api('GET', '/api/events/ev_0000000000000000')).status).toBe(404);
    expect((await svc.api('GET', '/api/events/..%2f..%2fetc')).status).toBe(404);
    expect((await svc.api('POST', '/api/events/ev_0000000000000000/end')).status).toBe(404);
    const endNoAuth = await fetchHead(`${svc.url}/api/events/ev_0000000000000000/end`, { method: 'POST' });
    expect(endNoAuth.status).toBe(401);
  });

  it('ends an event once, however often the end is signalled', async () => {
    const { body } = await svc.api('POST', '/api/events', { title: 'Twice', source: { type: 'push' } });
    const [a, b] = await Promise.all([svc.api('POST', `/api/events/${body.id}/end`), svc.api('POST', `/api/events/${body.id}/end`)]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    const ev = await svc.waitFor(body.id, ended);
    const again = await svc.api('POST', `/api/events/${body.id}/end`);
    expect(again.body.endedAt).toBe(ev.endedAt);
    // Nothing was ever pushed: the event says so rather than pretending.
    expect(ev.status).toBe('failed');
    expect(ev.error).toMatch(/no audio/);
  });
});
