// kill -9 of the service mid-event, then a restart on the same data dir:
// spooled and torn chunks are archived, recording resumes into the same
// events, and the only loss is a gap no longer than the downtime.
import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { probeAudio } from '../shared/ffmpeg.ts';
import { concatDuration, hlsSegmentFiles } from './helpers/audio.ts';
import { liveHls, liveHttpStream } from './helpers/live-source.ts';
import { freePort, startService, type RunningService } from './helpers/service.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

it('survives kill -9 of the recorder: finished events whose only loss is a gap within the downtime', async () => {
  const hls = await liveHls({ durationSec: 45 });
  const stream = await liveHttpStream({ durationSec: 45 });
  cleanup.push(
    () => hls.close(),
    () => stream.close(),
  );
  const port = await freePort();
  let svc: RunningService = await startService({ port });
  const dataDir = svc.dataDir;
  cleanup.push(() => svc.stop());

  const a = (await svc.api('POST', '/api/events', { title: 'Crash HLS', source: { url: hls.url } })).body;
  const b = (await svc.api('POST', '/api/events', { title: 'Crash stream', source: { url: stream.url }, reconnectWindowSec: 30 })).body;
  await svc.waitFor(a.id, (e) => e.chunks >= 2);
  await sleep(2500); // mid-chunk: the torn chunk must be recovered, not dropped

  const killedAt = Date.now();
  await svc.kill9();
  await sleep(3000);
  svc = await startService({ port, dataDir });
  const downtimeSec = (Date.now() - killedAt) / 1000;

  const evA = await svc.waitFor(a.id, (e) => e.status !== 'live', 120_000);
  await stream.finished;
  await sleep(1000);
  await svc.api('POST', `/api/events/${b.id}/end`);
  const evB = await svc.waitFor(b.id, (e) => e.status !== 'live');

  console.log(JSON.stringify({ downtimeSec, hls: { gaps: evA.gaps, capturedSec: evA.capturedSec }, stream: { gaps: evB.gaps, capturedSec: evB.capturedSec } }));
  // HLS: the playlist still held the segments: only what ffmpeg had not yet written is lost.
  await hls.finished;
  const sourceSec = await concatDuration(hlsSegmentFiles(hls.dir));
  expect(evA.status).toBe('ended');
  const gapA = evA.gaps.reduce((s: number, g: any) => s + g.endSec - g.startSec, 0);
  expect(gapA).toBeLessThanOrEqual(downtimeSec);
  expect(evA.capturedSec).toBeLessThanOrEqual(sourceSec + 0.1); // nothing duplicated
  expect(evA.capturedSec + gapA).toBeGreaterThan(sourceSec - 0.1); // nothing lost outside the gap

  // A live stream: what was said while the recorder was down is the gap.
  expect(evB.status).toBe('ended');
  expect(evB.gaps.length).toBe(1);
  const gapB = evB.gaps[0].endSec - evB.gaps[0].startSec;
  expect(gapB).toBeLessThanOrEqual(downtimeSec + 1);
  expect(gapB).toBeGreaterThan(1);
  expect(evB.capturedSec).toBeLessThan(stream.sinceFirstListenerSec() - gapB + 0.3);
  expect(evB.capturedSec + gapB).toBeGreaterThan(stream.sinceFirstListenerSec() - 1);

  // The stages downstream were killed too (jobs in flight are recovered as stalled jobs):
  // the event still publishes, its rendition as long as the timeline, gaps as silence.
  const pubA = await svc.waitFor(a.id, (e) => e.status === 'published' || e.status === 'failed', 150_000);
  expect(pubA.status).toBe('published');
  const m4a = Buffer.from(await (await fetch(pubA.urls.audio)).arrayBuffer());
  const file = `${dataDir}/check-${a.id}.m4a`;
  fs.writeFileSync(file, m4a);
  expect(Math.abs((await probeAudio(file)).durationSec - evA.timelineSec)).toBeLessThan(0.03);

  // The spool is empty again: everything reached the archive.
  expect(fs.existsSync(`${dataDir}/spool/${a.id}`)).toBe(false);
  const chunks = (await svc.api('GET', `/api/events/${a.id}/chunks`)).body.chunks;
  expect(new Set(chunks.map((c: any) => c.seq)).size).toBe(chunks.length);
});
