// The recorder's outage guarantee, against real parts: "Storage or Redis
// outage: capture goes on into the local spool; archiving and enqueueing catch
// up when they return. Nothing lost."
//
// `replay start` runs as a child process following a live HLS origin (real
// ffmpeg). Mid-event, either its Redis (a redis-server of the test's own on a
// loopback port) or its S3 endpoint (a real s3rver child process) is killed for
// about 12 s and started again on the same port and directory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openSqlite } from '../shared/db/sqlite.ts';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { redisConnection } from '../shared/queues.ts';
import { concatDuration, hlsSegmentFiles, sha256 } from './helpers/audio.ts';
import { liveHls } from './helpers/live-source.ts';
import { tcpRedis } from './helpers/redis.ts';
import { s3rverProcess, s3rverStorage } from './helpers/s3rver.ts';
import { startService, storedFile, type RunningService } from './helpers/service.ts';

const OUTAGE_MS = 12_000;
const SOURCE_SEC = 38;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ended = (e: any) => e.status !== 'live';
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

interface ChunkJson {
  seq: number;
  startSec: number;
  durationSec: number;
  bytes: number;
  sha256: string;
  key: string;
}

async function chunksOf(svc: RunningService, id: string): Promise<ChunkJson[]> {
  return (await svc.api('GET', `/api/events/${id}/chunks`)).body.chunks;
}

/** Sequence numbers 1..n without a hole, and chunks tiling the timeline from 0 with no gap. */
function expectContiguous(chunks: ChunkJson[]): void {
  expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => chunks[0].seq + i));
  let t = 0;
  for (const c of chunks) {
    expect(c.startSec, `chunk ${c.seq}`).toBeCloseTo(t, 3);
    t = c.startSec + c.durationSec;
  }
}

/** Chunk files still waiting in the event's spool (sealed, or the one being written). */
function spooledFiles(dataDir: string, id: string): string[] {
  const root = path.join(dataDir, 'spool', id);
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((s) => {
    try {
      return fs
        .readdirSync(path.join(root, s))
        .filter((f) => /^(c\d{6}|(e\d+-)?m\d+)\.ts$/.test(f))
        .map((f) => `${s}/${f}`);
    } catch {
      return [];
    }
  });
}

/** What the source produced, for comparison with what was captured. */
async function sourceSeconds(dir: string): Promise<number> {
  return concatDuration(hlsSegmentFiles(dir));
}

describe.concurrent('recorder outages: capture goes on into the spool, nothing is lost', () => {
  it('Redis outage: every chunk still gets exactly one chunk-archived job once Redis is back', async () => {
    // AOF fsynced on every write: what Redis acknowledged before the kill is still
    // there after it, so "every chunk has its job" can be asserted for all chunks,
    // not only for the ones sealed during and after the outage.
    const redis = await tcpRedis({ persist: true });
    cleanup.push(() => redis.close());
    const src = await liveHls({ durationSec: SOURCE_SEC, freq: 520 });
    cleanup.push(() => src.close());
    const svc = await startService({ env: { REDIS_URL: redis.url, REPLAY_QUEUE_PREFIX: 'outage' } });
    cleanup.push(
      () => fs.promises.rm(svc.dataDir, { recursive: true, force: true }),
      () => svc.stop(),
    );

    const { status, body } = await svc.api('POST', '/api/events', { title: 'Redis outage', source: { url: src.url } });
    expect(status).toBe(201);
    const id: string = body.id;
    await svc.waitFor(id, (e) => e.chunks >= 1, 60_000);

    const beforeOutage = await chunksOf(svc, id);
    const killedAt = Date.now();
    await redis.kill();
    await sleep(OUTAGE_MS);
    // Capture and archiving went on without Redis.
    const duringOutage = await chunksOf(svc, id);
    await redis.start();
    const outageSec = (Date.now() - killedAt) / 1000;
    const sealedDuringOutage = duringOutage.filter((c) => c.seq > beforeOutage[beforeOutage.length - 1].seq);
    expect(sealedDuringOutage.length).toBeGreaterThanOrEqual(1);
    // The recorder noticed: those chunks' enqueue failed and was left to the sweep.
    expect(svc.output()).toMatch(/queue unreachable; chunk will be enqueued by the sweep/);

    const ev = await svc.waitFor(id, ended, 150_000);
    await src.finished;
    const sourceSec = await sourceSeconds(src.dir);
    expect(ev.status).toBe('ended');
    expect(ev.endReason).toBe('source ended');
    expect(ev.gaps).toEqual([]);
    expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);

    const chunks = await chunksOf(svc, id);
    expectContiguous(chunks);
    for (const c of chunks) {
      const file = storedFile(svc.dataDir, c.key);
      expect(fs.existsSync(file), c.key).toBe(true);
      expect(sha256(file)).toBe(c.sha256);
    }
    expect(fs.existsSync(path.join(svc.dataDir, 'spool', id))).toBe(false);

    // Enqueueing catches up: the sweep hands every chunk to the queue, once.
    const connection = redisConnection(redis.url);
    const chunkQ = new Queue('chunk-archived', { prefix: 'outage', connection });
    const endedQ = new Queue('event-ended', { prefix: 'outage', connection });
    cleanup.push(
      () => chunkQ.close(),
      () => endedQ.close(),
    );
    const t0 = Date.now();
    let jobs = await chunkQ.getJobs();
    while (jobs.length < chunks.length && Date.now() - t0 < 30_000) {
      await sleep(500);
      jobs = await chunkQ.getJobs();
    }
    const catchUpSec = (Date.now() - t0) / 1000;
    expect(jobs.map((j) => j.id).sort()).toEqual(chunks.map((c) => `${id}-chunk-${c.seq}`).sort());
    for (const c of chunks) {
      const job = await chunkQ.getJob(`${id}-chunk-${c.seq}`);
      expect(job, `job for chunk ${c.seq}`).toBeDefined();
      expect(job!.data).toEqual({
        eventId: id,
        seq: c.seq,
        sessionNo: expect.any(Number),
        key: c.key,
        startSec: c.startSec,
        durationSec: c.durationSec,
        sha256: c.sha256,
      });
    }
    const counts = await chunkQ.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(chunks.length);
    expect(await endedQ.getJob(`${id}-ended`)).toBeDefined();

    // The catalog agrees: no chunk is left "archived but not queued".
    await svc.stop();
    const db = openSqlite(path.join(svc.dataDir, 'catalog.sqlite'), { readonly: true });
    try {
      const states = db.prepare('SELECT state, count(*) AS n FROM chunks WHERE event_id = ? GROUP BY state').all(id);
      expect(states).toEqual([{ state: 'queued', n: chunks.length }]);
    } finally {
      db.close();
    }
    console.log(
      JSON.stringify({
        redisOutage: {
          outageSec,
          sourceSec,
          capturedSec: ev.capturedSec,
          chunks: chunks.length,
          beforeOutage: beforeOutage.length,
          sealedDuringOutage: sealedDuringOutage.length,
          catchUpAfterEndSec: catchUpSec,
        },
      }),
    );
  });

  it('storage outage: chunks wait in the spool, then all reach the bucket intact and in order', async () => {
    const s3 = await s3rverProcess();
    cleanup.push(() => s3.close());
    const src = await liveHls({ durationSec: SOURCE_SEC, freq: 740 });
    cleanup.push(() => src.close());
    const svc = await startService({ env: s3.env });
    cleanup.push(
      () => fs.promises.rm(svc.dataDir, { recursive: true, force: true }),
      () => svc.stop(),
    );

    const { status, body } = await svc.api('POST', '/api/events', { title: 'Storage outage', source: { url: src.url } });
    expect(status).toBe(201);
    const id: string = body.id;
    await svc.waitFor(id, (e) => e.chunks >= 1, 60_000);

    const killedAt = Date.now();
    await s3.kill();
    await sleep(500); // an upload that completed just before the kill may still be recorded
    const atKill = await chunksOf(svc, id);
    await sleep(OUTAGE_MS - 500);
    // Nothing could be archived, yet capture went on into the spool.
    const atRestart = await chunksOf(svc, id);
    const spooled = spooledFiles(svc.dataDir, id);
    await s3.start();
    const outageSec = (Date.now() - killedAt) / 1000;
    expect(atRestart.length).toBe(atKill.length);
    expect(spooled.length).toBeGreaterThanOrEqual(2);
    expect(svc.output()).toMatch(/archiving failed; the chunk stays in the spool and is retried/);

    const ev = await svc.waitFor(id, ended, 150_000);
    await src.finished;
    const sourceSec = await sourceSeconds(src.dir);
    expect(ev.status).toBe('ended');
    expect(ev.endReason).toBe('source ended');
    expect(ev.gaps).toEqual([]);
    expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);
    expect(ev.archivedSec).toBeCloseTo(ev.capturedSec, 3);

    const chunks = await chunksOf(svc, id);
    expectContiguous(chunks);
    expect(chunks.length).toBeGreaterThan(atRestart.length + 1);
    // Every chunk is in the bucket, byte for byte; nothing else is.
    const storage = s3rverStorage(s3.endpoint, s3.bucket);
    cleanup.push(() => Promise.resolve(storage.client.destroy()));
    for (const c of chunks) {
      const buf = await storage.get(c.key);
      expect(buf.length, c.key).toBe(c.bytes);
      expect(crypto.createHash('sha256').update(buf).digest('hex'), c.key).toBe(c.sha256);
    }
    const listed = (await storage.list(`private/events/${id}/source/`)).map((o) => o.key).sort();
    expect(listed).toEqual(chunks.map((c) => c.key).sort());
    // The spool was emptied: everything left the machine.
    expect(fs.existsSync(path.join(svc.dataDir, 'spool', id))).toBe(false);
    console.log(
      JSON.stringify({
        storageOutage: {
          outageSec,
          sourceSec,
          capturedSec: ev.capturedSec,
          chunks: chunks.length,
          archivedAtKill: atKill.length,
          spooledAtRestart: spooled.length,
        },
      }),
    );
  });
});
