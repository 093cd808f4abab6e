// The `event-page` job: write an event's stored page as the catalog stands
// (queued when the event starts, so the live page is in the bucket at once,
// when its chapters change, and when it ends). Publication writes the
// replay page itself; this job never goes back to the live page once the
// event is published, since it renders whatever the catalog says now.
// The event's start is also when its artwork (title, host, date) is drawn,
// rather than at its end, where it would cost half a second; later runs find
// it current and leave it.
import { UnrecoverableError, type Job } from 'bullmq';
import { isEventId } from '../shared/catalog/events.ts';
import type { EventPageJob } from '../shared/queues.ts';
import { prepareArtwork } from './prepared-images.ts';
import { writeStoredPage, type StoredPageDeps } from './stored-page.ts';

export async function processEventPage(job: Job<EventPageJob>, deps: StoredPageDeps): Promise<string> {
  const { eventId } = job.data ?? {};
  if (!isEventId(eventId)) throw new UnrecoverableError('event-page: no valid eventId');
  const written = await writeStoredPage(eventId, deps);
  const ev = await deps.catalog.getEvent(eventId);
  if (ev) await prepareArtwork(ev, deps.storage);
  return written;
}
