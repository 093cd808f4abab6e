// What operators read from a running service: /readyz follows Redis going
// away and coming back, /metrics is Prometheus text a parser reads and that
// counts what the test did, the queue dashboard wants the token, and
// LOG_FORMAT=json writes JSON lines.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUE } from '../shared/queues.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';
import { startService, TOKEN, type RunningService } from './helpers/service.ts';
import { fetchHead } from './helpers/http.ts';

let redis: TcpRedis;
let svc: RunningService;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  redis = await tcpRedis({ persist: true });
  svc = await startService({ env: { REDIS_URL: redis.url, LOG_FORMAT: 'json' } });
});

afterAll(async () => {
  await svc?.stop();
  await redis?.close();
});

const readyz = async () => {
  const r = await fetch(`${svc.url}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; checks: Record<string, string>; error?: string } };
};

it('answers /readyz 503 naming Redis while Redis is down, and 200 when it is back', async () => {
  expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, checks: { redis: 'ok', database: 'ok', storage: 'ok' } } });
  await redis.kill();
  const down = await readyz();
  expect(down.status).toBe(503);
  expect(down.body.checks).toMatchObject({ redis: 'failing', database: 'ok', storage: 'ok' });
  expect(down.body.error).toMatch(/^redis: /);
  expect((await fetchHead(`${svc.url}/healthz`)).status).toBe(200);
  await redis.start();
  let back = await readyz();
  for (let i = 0; i < 40 && back.status !== 200; i++) {
    await sleep(250);
    back = await readyz();
  }
  expect(back).toMatchObject({ status: 200, body: { ready: true } });
});

it('serves Prometheus text that counts the events this test ran', async () => {
  const family = async (name: string) => parsePrometheusTextFormat(await (await fetch(`${svc.url}/metrics`)).text()).find((f) => f.name === name);
  const created = Number((await family('replay_events_created_total'))?.metrics[0].value ?? 0);
  for (let i = 0; i < 3; i++) {
    const { body } = await svc.api('POST', '/api/events', { title: `metered ${i}`, source: { type: 'push' }, reconnectWindowSec: 0 });
    await svc.api('POST', `/api/events/${body.id}/end`);
  }
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const families = parsePrometheusTextFormat(text);
  const names = new Set(families.map((f) => f.name));
  for (const n of [
    'replay_events_created_total',
    'replay_events_published_total',
    'replay_jobs_total',
    'replay_job_duration_seconds',
    'replay_live_events',
    'replay_captured_seconds_total',
    'replay_publish_latency_seconds',
    'replay_whisper_real_time_factor',
    'bullmq_job_count',
    'replay_process_cpu_seconds_total',
  ]) {
    expect(names.has(n), n).toBe(true);
  }
  expect(Number((await family('replay_events_created_total'))!.metrics[0].value)).toBe(created + 3);
  // Every queue's depth, each metric family once.
  const depth = families.find((f) => f.name === 'bullmq_job_count')!;
  expect(new Set(depth.metrics.map((m) => m.labels!.queue))).toEqual(new Set(Object.values(QUEUE)));
  expect(text.match(/^# TYPE bullmq_job_count /gm)).toHaveLength(1);
});

it('keeps the queue dashboard behind the API token', async () => {
  const none = await fetchHead(`${svc.url}/admin/queues`);
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
  expect((await fetchHead(`${svc.url}/admin/queues`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  expect(
    (await fetchHead(`${svc.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from('x:wrong').toString('base64')}` } })).status,
  ).toBe(401);
  const bearer = await fetch(`${svc.url}/admin/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(bearer.status).toBe(200);
  expect(await bearer.text()).toMatch(/<html/i);
  const api = await fetch(`${svc.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } });
  expect(api.status).toBe(200);
  expect(JSON.stringify(await api.json())).toContain('chunk-archived');
});

it('writes JSON log lines with LOG_FORMAT=json', () => {
  const lines = svc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  expect(lines.length).toBeGreaterThan(3);
  for (const l of lines)
    expect(JSON.parse(l)).toMatchObject({ time: expect.any(String), level: expect.any(String), scope: expect.any(String), msg: expect.any(String) });
});
