// The `event-page` job: write an event's stored page as the catalog stands
// (queued when the event starts, so the live page is in the bucket at once,
// and when it ends). Publication writes the replay page itself; this job
// never goes back to the live page once the event is published, since it
// renders whatever the catalog says now.
import { UnrecoverableError, type Job } from 'bullmq';
import { isEventId } from '../shared/catalog/events.ts';
import type { EventPageJob } from '../shared/queues.ts';
import { writeStoredPage, type StoredPageDeps } from './stored-page.ts';

export async function processEventPage(job: Job<EventPageJob>, deps: StoredPageDeps): Promise<string> {
  const { eventId } = job.data ?? {};
  if (!isEventId(eventId)) throw new UnrecoverableError('event-page: no valid eventId');
  return writeStoredPage(eventId, deps);
}
