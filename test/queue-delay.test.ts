// Queues.add's delay, on real BullMQ and redis-server: a held message waits in
// the delayed set, a repeat while it waits is folded into it, and it runs once
// its time comes (the end's stored page is queued this way, so that it does
// not compete with the publication).
import { Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openQueues, redisConnection, type EventPageJob, type Queues } from '../shared/queues.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';

let redis: TcpRedis;
let queues: Queues;
let worker: Worker<EventPageJob> | undefined;

beforeAll(async () => {
  redis = await tcpRedis();
  queues = openQueues(redisConnection(redis.url), 'test');
});

afterAll(async () => {
  await worker?.close();
  await queues?.close();
  await redis?.close();
});

it('holds a delayed message, folds a repeat into it, then runs it once', async () => {
  const eventId = 'ev_00000000000000aa';
  await queues.add('event-page', { eventId }, { delayMs: 1500 });
  await queues.add('event-page', { eventId });
  const q = queues.get('event-page');
  expect(await q.getDelayedCount()).toBe(1);
  expect(await q.getWaitingCount()).toBe(0);
  const job = (await q.getDelayed())[0];
  expect(job.data).toEqual({ eventId });
  expect(job.opts.delay).toBe(1500);

  const ran: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  worker = new Worker<EventPageJob>(
    'event-page',
    (j) => {
      ran.push(j.data.eventId);
      done();
      return Promise.resolve();
    },
    { connection: redisConnection(redis.url), prefix: 'test' },
  );
  // Still held while the worker is ready (well inside the delay).
  await worker.waitUntilReady();
  expect(ran).toEqual([]);
  expect(await q.getDelayedCount()).toBe(1);
  await finished;
  expect(ran).toEqual([eventId]);
  // Without a delay, the same queue runs a new message at once.
  const other = 'ev_00000000000000bb';
  const ranAgain = new Promise<void>((r) => worker!.on('completed', (j) => j.data.eventId === other && r()));
  await queues.add('event-page', { eventId: other });
  await ranAgain;
  expect(ran).toEqual([eventId, other]);
});
