// Holds the service's downstream stages still, so a capture benchmark measures
// capture only: every BullMQ queue the recorder feeds (and those after it) is
// paused globally in the service's Redis, all but `record` (the recordings
// themselves run as record jobs). The recorder still enqueues its jobs
// (that cost is part of capture); the transcoder, transcriber, publisher and
// webhook workers just find nothing to take.
import path from 'node:path';
import { openQueues, QUEUE, redisConnection } from '../../shared/queues.ts';

/** Pauses every queue of the service whose data dir (embedded Redis) is given; returns how to let go of the connection. */
export async function pauseStages(dataDir: string): Promise<{ paused: string[]; close(): Promise<void> }> {
  const queues = openQueues(redisConnection(path.join(dataDir, 'redis', 'redis.sock')), process.env.REPLAY_QUEUE_PREFIX || 'replay');
  // Not `record`: its jobs are the live recordings themselves (a pull event is recorded as a long-running record job).
  const list = Object.values(QUEUE)
    .filter((name) => name !== QUEUE.record)
    .map((name) => queues.get(name));
  await Promise.all(list.map((q) => q.pause()));
  const paused: string[] = [];
  for (const q of list) if (await q.isPaused()) paused.push(q.name);
  return { paused, close: () => queues.close() };
}
