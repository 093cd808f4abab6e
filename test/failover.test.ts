// No single point of failure in capture: three `replay start` processes with
// their own data dirs (two api+recorder, one transcoder+transcriber+
// publisher) share one redis-server, one PostgreSQL database and s3rver. A
// live HLS event and a pushed event run on one recorder, which is killed with
// SIGKILL mid-event: the other takes the HLS event over within the lease and
// records on from the next media sequence (no gap, nothing twice), the pusher
// reconnects to it and goes on, and both events publish.
//
// Redundant capture: two recorders on one HLS event (`redundancy: 2`), and
// either one killed: the recording has no gap, each media sequence once, and
// no pause while a lease lapses (the other was fetching all along).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { concatDuration, hlsSegmentFiles } from './helpers/audio.ts';
import { TAIL_MIRROR_MS } from '../recorder/tail-mirror.ts';
import { holderId } from '../shared/holder-id.ts';
import { freshPostgres } from './helpers/db.ts';
import { liveHls } from './helpers/live-source.ts';
import { reconnectingPusher } from './helpers/reconnecting-pusher.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';
import { s3rverProcess, type S3rverProcess } from './helpers/s3rver.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';

const LEASE_SEC = 6;
/** Seconds of audio the pusher produces. */
const PUSH_SEC = 40;
/** Chunks long enough (REPLAY_CHUNK_SEC) that the kill, about 3 s into one, tears it. */
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
    REPLAY_CHUNK_SEC: String(CHUNK_SEC),
  };
});

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => {});
  await redis?.close();
  await s3?.close();
  await pg?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Each test starts its own processes: none of one test may record the next one's events.
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop().catch(() => {});
});

const start = async (roles: string, extra: Record<string, string> = {}) => {
  const s = await startService({ dataDir: fs.mkdtempSync(path.join(tmp, 'data-')), env: { ...env, REPLAY_ROLES: roles, ...extra } });
  services.push(s);
  return s;
};

interface ChunkJson {
  media: { epoch: number; mediaSeq: number } | null;
  archivedAt: string;
}

/** The HLS event's archive: every media sequence of the source once, in order, and the whole source. */
async function expectWholeSource(s: RunningService, ev: { id: string; gaps: unknown[]; capturedSec: number }, dir: string): Promise<ChunkJson[]> {
  expect(ev.gaps).toEqual([]);
  expect(Math.abs(ev.capturedSec - (await concatDuration(hlsSegmentFiles(dir))))).toBeLessThan(0.1);
  const chunks = (await s.api('GET', `/api/events/${ev.id}/chunks`)).body.chunks as ChunkJson[];
  const seqs = chunks.map((c) => c.media?.mediaSeq);
  expect(seqs).toEqual(seqs.map((_, i) => i));
  expect(chunks.length).toBe(hlsSegmentFiles(dir).length);
  return chunks;
}

it('an HLS event and a pushed event go on when the recorder holding them is killed', async () => {
  const [a] = await Promise.all([start('api,recorder'), start('transcoder,transcriber,publisher')]);
  const src = await liveHls({ durationSec: 45, freq: 1000 });
  const hls = (await a.api('POST', '/api/events', { title: 'Failover HLS', source: { url: src.url } })).body;
  const push = (await a.api('POST', '/api/events', { title: 'Failover push', source: { type: 'push' }, reconnectWindowSec: 30 })).body;
  expect(hls.id && push.id).toBeTruthy();
  const b = await start('api,recorder');
  const pusher = reconnectingPusher([`${a.url}/ingest/${push.id}`, `${b.url}/ingest/${push.id}`], push.ingest.key, PUSH_SEC);
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
    const [hlsEv, pushEv] = await Promise.all(
      [hls.id, push.id].map((id: string) => b.waitFor(id, (e) => e.status === 'published' || e.status === 'failed', 120_000)),
    );
    console.log(
      JSON.stringify({
        failover: {
          hlsTakeoverMs,
          pushTakeoverMs,
          pushGaps: pushEv.gaps,
          pushCapturedSec: pushEv.capturedSec,
          pusherDroppedSec: pusher.droppedSec(),
          connections: pusher.connections.length,
        },
      }),
    );

    // HLS: taken over at the next media sequence: every one archived once, no gap, the whole source.
    expect(hlsEv.status, JSON.stringify(hlsEv)).toBe('published');
    await expectWholeSource(b, hlsEv, src.dir);

    // Push: the pusher reached the other process and went on. Audio lost: what the pusher produced while it
    // had no connection, and what the killed process received after its last copy of the chunk it was writing
    // (a second at most). What the pusher sent while the other process took over waited in its connection:
    // it is archived after the gap, which is the wall-clock time from the last audio kept to the next.
    expect(pushEv.status, JSON.stringify(pushEv)).toBe('published');
    expect(pusher.connections.length).toBeGreaterThanOrEqual(2);
    expect(pusher.connections.some((c) => c.url.startsWith(b.url))).toBe(true);
    expect(pushEv.gaps.length).toBe(1);
    const lostSec = PUSH_SEC - pushEv.capturedSec;
    expect(lostSec).toBeLessThan(pusher.droppedSec() + TAIL_MIRROR_MS / 1000 + 0.5);
    const gapSec = pushEv.gaps[0].endSec - pushEv.gaps[0].startSec;
    // (Besides the takeover: the last copy's age, and the new holder archiving that copy before it reads on.)
    expect(gapSec).toBeLessThan(pushTakeoverMs / 1000 + TAIL_MIRROR_MS / 1000 + 3);
    // The chunk the killed process was writing (killed about 3 s into it) was archived from its copy.
    const pushChunks = (await b.api('GET', `/api/events/${push.id}/chunks`)).body.chunks as { startSec: number; durationSec: number }[];
    const torn = pushChunks.find((c) => Math.abs(c.startSec + c.durationSec - pushEv.gaps[0].startSec) < 0.01);
    expect(torn, JSON.stringify(pushChunks)).toBeDefined();
    expect(torn!.durationSec).toBeGreaterThan(0.5);
    expect(torn!.durationSec).toBeLessThan(CHUNK_SEC - 0.5);
  } finally {
    pusher.stop();
    await src.close();
  }
});

/** A lease long enough that a takeover would show: 0.6 of it (12 s) before anyone else could record. */
const REDUNDANT_LEASE_SEC = 20;

for (const victim of ['primary', 'replica'] as const) {
  it(`a redundant HLS capture loses nothing when its ${victim} recorder is killed`, async () => {
    const slow = { REPLAY_LEASE_SEC: String(REDUNDANT_LEASE_SEC) };
    const [a] = await Promise.all([start('api,recorder', slow), start('transcoder,transcriber,publisher', slow)]);
    const src = await liveHls({ durationSec: 40, freq: 660 });
    try {
      const created = await a.api('POST', '/api/events', { title: `Redundant ${victim}`, source: { url: src.url }, redundancy: 2 });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.redundancy).toBe(2);
      // The first process takes the primary place; it may not take the replica place too, the second one does.
      const b = await start('api,recorder', slow);
      const both = await a.waitFor(created.body.id, (e) => e.chunks >= 3 && !!e.capture.holder && !!e.capture.replicas[0]?.holder, 60_000);
      expect(both.capture.holder).not.toBe(both.capture.replicas[0].holder);
      const wanted = victim === 'primary' ? both.capture.holder : both.capture.replicas[0].holder;
      const [doomed, survivor] = holderId(a.dataDir) === wanted ? [a, b] : [b, a];
      expect(holderId(doomed.dataDir)).toBe(wanted);

      await sleep(1000);
      const killedAt = Date.now();
      await doomed.kill9();
      await src.finished;
      const ev = await survivor.waitFor(created.body.id, (e) => e.status === 'published' || e.status === 'failed', 120_000);
      expect(ev.status, JSON.stringify(ev)).toBe('published');
      const chunks = await expectWholeSource(survivor, ev, src.dir);

      // No takeover pause: the survivor archived the segments that followed as they came (a takeover
      // would have waited 12 s for the lease to lapse, then caught up in a burst).
      const times = chunks.map((c) => Date.parse(c.archivedAt)).filter((t) => t > killedAt - 5000);
      const pauses = times.slice(1).map((t, i) => t - times[i]);
      console.log(JSON.stringify({ redundancy: { victim, longestPauseMs: Math.max(...pauses), chunks: chunks.length } }));
      expect(Math.max(...pauses)).toBeLessThan(REDUNDANT_LEASE_SEC * 300);
      // A killed primary's place went to the replica (a takeover); a killed replica left the primary alone.
      expect(ev.capture.takeovers).toBe(victim === 'primary' ? 1 : 0);
    } finally {
      await src.close();
    }
  });
}
