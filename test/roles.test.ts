// replay on many machines, played on one: two `replay start` processes with
// their own data dirs and roles (api+recorder; transcoder+transcriber+
// publisher) sharing one redis-server, one PostgreSQL database and s3rver.
// A live event publishes; the worker process is killed with SIGKILL mid-
// transcode and started again, and the event still publishes, whole. (How
// soon after the end is a speed figure: it is printed, not asserted; the
// benchmarks measure publish latency.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeAudio } from '../shared/ffmpeg.ts';
import { makeTinyModel } from './fixtures/tiny-model.ts';
import { concatDuration, hlsSegmentFiles } from './helpers/audio.ts';
import { freshPostgres } from './helpers/db.ts';
import { liveHls } from './helpers/live-source.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';
import { s3rverProcess, type S3rverProcess } from './helpers/s3rver.ts';
import { ROOT, startService, type RunningService } from './helpers/service.ts';

let redis: TcpRedis;
let s3: S3rverProcess;
let pg: Awaited<ReturnType<typeof freshPostgres>>;
let tmp: string;
let env: Record<string, string>;
const services: RunningService[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-roles-'));
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const model = path.join(tmp, 'tiny.bin');
  makeTinyModel(model, { seed: 7 });
  [redis, s3, pg] = await Promise.all([tcpRedis({ persist: true }), s3rverProcess('replay-roles'), freshPostgres()]);
  env = {
    ...s3.env,
    S3_PUBLIC_BASE_URL: `${s3.endpoint}/${s3.bucket}`,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    WHISPER_MODEL: model,
    REPLAY_LEASE_SEC: '6',
  };
});

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => {});
  await redis?.close();
  await s3?.close();
  await pg?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('refuses a role split without a shared database, Redis and S3', () => {
  let out = '';
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'bin/replay.js'), 'start', '--role', 'transcoder'], {
      cwd: ROOT,
      env: { ...process.env, REPLAY_DATA_DIR: path.join(tmp, 'lonely'), DATABASE_URL: '', REDIS_URL: '', STORAGE: 'fs' },
      stdio: 'pipe',
    });
  } catch (e) {
    out = String((e as { stderr: Buffer }).stderr);
  }
  expect(out).toMatch(/--role transcoder runs part of replay/);
  expect(out).toMatch(/DATABASE_URL/);
  expect(out).toMatch(/REDIS_URL/);
  expect(out).toMatch(/STORAGE=s3/);
});

it('publishes a live event recorded by one process and transcoded, transcribed and published by another, killed mid-transcode', async () => {
  const api = await startService({ env: { ...env, REPLAY_ROLES: 'api,recorder' } });
  services.push(api);
  const workerDir = fs.mkdtempSync(path.join(tmp, 'worker-'));
  let worker = await startService({ dataDir: workerDir, env: { ...env, REPLAY_ROLES: 'transcoder,transcriber,publisher' } });
  services.push(worker);
  const src = await liveHls({ durationSec: 45, freq: 1000 });
  try {
    const { status, body } = await api.api('POST', '/api/events', { title: 'Split roles', source: { url: src.url } });
    expect(status).toBe(201);
    // Mid-transcode: some of the rendition is made, more is to come.
    await api.waitFor(body.id, (e) => e.transcodedSec > 6, 90_000);
    await worker.kill9();
    await sleep(3000);
    const during = (await api.api('GET', `/api/events/${body.id}`)).body;
    expect(during.status).toBe('live');
    worker = await startService({ dataDir: workerDir, env: { ...env, REPLAY_ROLES: 'transcoder,transcriber,publisher' } });
    services.push(worker);
    await src.finished;
    const sourceSec = await concatDuration(hlsSegmentFiles(src.dir));
    const ev = await api.waitFor(body.id, (e) => e.status === 'published' || e.status === 'failed', 180_000);
    expect(ev.status, JSON.stringify(ev)).toBe('published');
    expect(ev.gaps).toEqual([]);
    expect(Math.abs(ev.capturedSec - sourceSec)).toBeLessThan(0.1);
    console.log(JSON.stringify({ splitRoles: { publishLatencyMs: ev.publishLatencyMs, sourceSec } }));
    expect(ev.publishLatencyMs).toBeGreaterThan(0);
    const m4a = path.join(tmp, 'audio.m4a');
    fs.writeFileSync(m4a, Buffer.from(await (await fetch(ev.urls.audio)).arrayBuffer()));
    expect(Math.abs((await probeAudio(m4a)).durationSec - sourceSec)).toBeLessThan(0.05);
    // The transcript made by the worker, found through the API process.
    const done = await api.waitFor(body.id, (e) => e.transcript.status === 'complete' && !!e.urls.transcript, 60_000);
    expect((await (await fetch(done.urls.transcript.json)).json()).segments.length).toBeGreaterThan(0);
    // Each process ran its own roles.
    expect(api.output()).not.toMatch(/\[replay:transcoder\]/);
    expect(worker.output()).not.toMatch(/\[replay:recorder/);
  } finally {
    await src.close();
  }
});
