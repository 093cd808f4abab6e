// One end-to-end run through real BullMQ and redis-server: emit -> queue ->
// processWebhook -> retry with backoff -> delivered.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../shared/log.ts';
import { testDatabase } from './helpers/db.ts';
import { AddressPolicy } from '../shared/net-policy.ts';
import { openQueues, redisConnection, type Queues, type WebhookJob } from '../shared/queues.ts';
import { WebhookStore } from '../publisher/webhook-store.ts';
import { emit, processWebhook, verify } from '../publisher/webhooks.ts';

process.env.LOG_LEVEL ??= 'error';

let dir: string;
let redis: ChildProcess;
let queues: Queues;
let worker: Worker<WebhookJob>;
let server: http.Server;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-wh-'));
  const sock = path.join(dir, 'redis.sock');
  redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  queues = openQueues(redisConnection(sock), 'test');
});

afterAll(async () => {
  await worker?.close();
  await queues?.close();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  redis?.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

it('retries a failed delivery with backoff until the endpoint accepts it', async () => {
  const hits: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  let delivered!: () => void;
  const done = new Promise<void>((r) => (delivered = r));
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      if (hits.length === 1) return void res.writeHead(503).end();
      res.writeHead(200).end('ignored');
      delivered();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const store = new WebhookStore((await testDatabase('sqlite')).db);
  const endpoint = await store.createEndpoint({ url, events: ['event.published'] });
  const log = createLogger('test');
  const deps = { store, policy: new AddressPolicy({ allowPrivate: true }), log };
  worker = new Worker<WebhookJob>('webhook', (job) => processWebhook(job, deps), {
    connection: redisConnection(path.join(dir, 'redis.sock')),
    prefix: 'test',
  });

  const emitDeps = { store, queue: queues.get('webhook'), log, jobOptions: { backoff: { type: 'exponential', delay: 100 } } };
  const [r] = await emit('event.published', { id: 'ev_1', title: 'Hello' }, emitDeps);
  expect(r.enqueued).toBe(true);
  // emitting again while the job exists adds nothing
  await emit('event.published', { id: 'ev_1', title: 'Hello' }, emitDeps);
  const job = await queues.get('webhook').getJob(r.deliveryId);
  expect(job?.opts.attempts).toBe(10);

  await done;
  for (let i = 0; i < 50 && (await store.getDelivery(r.deliveryId))!.status !== 'delivered'; i++) await new Promise((res) => setTimeout(res, 20));
  expect(await store.getDelivery(r.deliveryId)).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
  expect(hits).toHaveLength(2);
  expect(hits[0].headers['webhook-id']).toBe(r.deliveryId);
  expect(hits[1].headers['webhook-id']).toBe(r.deliveryId);
  expect(hits[1].body).toBe(hits[0].body);
  expect(verify(endpoint.secret, hits[1].body, hits[1].headers)).toBe(true);
});
