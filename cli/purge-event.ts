// Deleting an event. The API moves it to `deleted` (catalog status.ts: only a
// published or failed event, on which no stage works any more), which makes
// it vanish from every read, and queues event-deleted. This job then makes
// every stage forget it: each stage's rows (the search index, alert matches
// and webhook deliveries included), every object under the event's public
// and private prefixes, and last the catalog's own details, which marks the
// tombstone purged. Each step is idempotent, so a retried or repeated purge
// finishes what an interrupted one started; at start, deleted events not yet
// purged are queued again.
import { UnrecoverableError, type Job } from 'bullmq';
import { isEventId, type EventCatalog } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import type { EventDeletedJob, Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';

export interface PurgeDeps {
  catalog: EventCatalog;
  storage: Storage;
  /** Each stage's way of forgetting an event's rows, by the stage's name. */
  forget: Record<string, (eventId: string) => Promise<void>>;
  log: Logger;
}

export async function processEventDeleted(job: Job<EventDeletedJob>, deps: PurgeDeps): Promise<string> {
  const { eventId } = job.data ?? {};
  if (!isEventId(eventId)) throw new UnrecoverableError('event-deleted: no valid eventId');
  const ev = await deps.catalog.getEvent(eventId, { includeDeleted: true });
  if (ev?.status !== 'deleted') return 'not deleted';
  const objects = await purgeEvent(eventId, deps);
  deps.log.info('deleted event purged', { event: eventId, objects });
  return 'purged';
}

/** Forgets a deleted event everywhere; returns how many stored objects went. */
async function purgeEvent(eventId: string, deps: PurgeDeps): Promise<number> {
  for (const forget of Object.values(deps.forget)) await forget(eventId);
  let objects = 0;
  for (const prefix of keys.eventPrefixes(eventId)) {
    for (const o of await deps.storage.list(prefix)) {
      await deps.storage.delete(o.key);
      objects++;
    }
  }
  await deps.catalog.purgeDeleted(eventId);
  return objects;
}

/** Deleted events whose purge never finished (a process died, Redis lost the message): queued again. */
export async function requeuePurges(catalog: EventCatalog, queues: Queues): Promise<number> {
  const ids = await catalog.deletedUnpurged();
  for (const eventId of ids) await queues.add('event-deleted', { eventId });
  return ids.length;
}
