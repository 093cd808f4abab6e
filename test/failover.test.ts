// No single point of failure in capture: three `replay start` processes with
// their own data dirs (two api+recorder, one transcoder+transcriber+
// publisher) share one redis-server, one PostgreSQL database and s3rver. A
// live HLS event and a pushed event run on one recorder, which is killed with
// SIGKILL mid-event: the other takes the HLS event over within the lease and
// records on from the next media sequence (no gap, nothing twice), the pusher
// reconnects to it and goes on, and both events publish.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { concatDuration, hlsSegmentFiles } from './helpers/audio.ts';
import { freshPostgres } from './helpers/db.ts';
import { liveHls } from './helpers/live-source.ts';
import { reconnectingPusher } from './helpers/reconnecting-pusher.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';
import { s3rverProcess, type S3rverProcess } from './helpers/s3rver.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';

const LEASE_SEC = 6;
/** The default chunk length (REPLAY_CHUNK_SEC). */
const CHUNK_SEC = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let redis: TcpRedis;
let s3: S3rverProcess;
let pg: Awaited<ReturnType<typeof freshPostgres>>;
let tmp: string;
let env: Record<string, string>;
const services: RunningService[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-failover-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const model = path.join(tmp, 'tiny.bin');
  makeTinyModel(model, { seed: 7 });
  [redis, s3, pg] = await Promise.all([tcpRedis({ persist: true }), s3rverProcess('replay-failover'), freshPostgres()]);
  env = {
    ...s3.env,
    S3_PUBLIC_BASE_URL: `${s3.endpoint}/${s3.bucket}`,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    WHISPER_MODEL: model,
    REPLAY_LEASE_SEC: String(LEASE_SEC),
  };
});

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => {});
  await redis?.close();
  await s3?.close();
  await pg?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const start = async (roles: string) => {
  const s = await startService({ dataDir: fs.mkdtempSync(path.join(tmp, 'data-')), env: { ...env, REPLAY_ROLES: roles } });
  services.push(s);
  return s;
};

it('an HLS event and a pushed event go on when the recorder holding them is killed', async () => {
  const [a] = await Promise.all([start('api,recorder'), start('transcoder,transcriber,publisher')]);
  const src = await liveHls({ durationSec: 45, freq: 1000 });
  const hls = (await a.api('POST', '/api/events', { title: 'Failover HLS', source: { url: src.url } })).body;
  const push = (await a.api('POST', '/api/events', { title: 'Failover push', source: { type: 'push' }, reconnectWindowSec: 30 })).body;
  expect(hls.id && push.id).toBeTruthy();
  const b = await start('api,recorder');
  const pusher = reconnectingPusher([`${a.url}/ingest/${push.id}`, `${b.url}/ingest/${push.id}`], push.ingest.key, 40);
  try {
    // Both recorded by the first process, some of each archived.
    const holderA = (await a.waitFor(hls.id, (e) => e.chunks >= 3 && !!e.capture?.holder, 60_000)).capture.holder;
    await a.waitFor(push.id, (e) => e.chunks >= 2 && e.capture?.holder === holderA, 60_000);
    // Mid-chunk: the pushed audio the killed process had not archived yet is lost with it.
    await sleep(3000);

    const killedAt = Date.now();
    await a.kill9();
    const hlsTaken = await b.waitFor(hls.id, (e) => !!e.capture.holder && e.capture.holder !== holderA, 30_000);
    const hlsTakeoverMs = Date.now() - killedAt;
    const pushTaken = await b.waitFor(push.id, (e) => !!e.capture.holder && e.capture.holder !== holderA, 30_000);
    const pushTakeoverMs = Date.now() - killedAt;
    expect(hlsTaken.capture.takeovers).toBe(1);
    expect(pushTaken.capture.takeovers).toBe(1);
    expect(hlsTakeoverMs).toBeLessThan(LEASE_SEC * 1000 + 1500);

    await src.finished;
    await pusher.done;
    await b.api('POST', `/api/events/${push.id}/end`);
    const sourceSec = await concatDuration(hlsSegmentFiles(src.dir));
    const [hlsEv, pushEv] = await Promise.all(
      [hls.id, push.id].map((id: string) => b.waitFor(id, (e) => e.status === 'published' || e.status === 'failed', 120_000)),
    );
    console.log(
      JSON.stringify({
        failover: { hlsTakeoverMs, pushTakeoverMs, pushGaps: pushEv.gaps, pusherDroppedSec: pusher.droppedSec(), connections: pusher.connections.length },
      }),
    );

    // HLS: taken over at the next media sequence: every one archived once, no gap, the whole source.
    expect(hlsEv.status, JSON.stringify(hlsEv)).toBe('published');
    expect(hlsEv.gaps).toEqual([]);
    expect(Math.abs(hlsEv.capturedSec - sourceSec)).toBeLessThan(0.1);
    const chunks = (await b.api('GET', `/api/events/${hls.id}/chunks`)).body.chunks as { media: { mediaSeq: number } | null }[];
    const seqs = chunks.map((c) => c.media?.mediaSeq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(chunks.length).toBe(hlsSegmentFiles(src.dir).length);

    // Push: the pusher reached the other process and went on. The gap: what the killed process had
    // received but not archived (under one chunk, REPLAY_CHUNK_SEC) and the time until the other took over.
    expect(pushEv.status, JSON.stringify(pushEv)).toBe('published');
    expect(pusher.connections.length).toBeGreaterThanOrEqual(2);
    expect(pusher.connections.some((c) => c.url.startsWith(b.url))).toBe(true);
    expect(pushEv.gaps.length).toBe(1);
    const gapSec = pushEv.gaps[0].endSec - pushEv.gaps[0].startSec;
    expect(gapSec).toBeLessThan(pushTakeoverMs / 1000 + CHUNK_SEC + 1);
  } finally {
    pusher.stop();
    await src.close();
  }
});
