// After a marker or an edit: the chapters as they stand go where listeners
// read them. `events/<id>/chapters.json` (the feed's <podcast:chapters>
// points at it) is written whole from the store, or removed when no chapter
// is left; the stored page is queued for a rewrite (its stamp carries the
// chapters' revision, so a change made while it renders is picked up); a
// published event's feed is written again, since it names the chapters.
import type { EventRow } from '../../shared/catalog/events.ts';
import { CACHE_CONTROL } from '../../shared/layout.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import type { FeedDeps } from '../feed-document.ts';
import { writeFeed } from '../feed-document.ts';
import type { ChapterStore, EventChapters } from './chapter-store.ts';
import { CHAPTERS_TYPE } from './chapters-format.ts';

/** Where an event's chapters are stored, public, beside its page and media. */
export const chaptersKey = (eventId: string) => `events/${eventId}/chapters.json`;

export interface PublishChaptersDeps extends FeedDeps {
  chapters: ChapterStore;
  /** Queues the stored page's rewrite. */
  refreshPage: (eventId: string) => Promise<void>;
}

/** Writes the chapters document (or removes it when empty). */
export async function storeChapters(storage: Storage, eventId: string, current: EventChapters): Promise<void> {
  if (!current.doc.chapters.length) return storage.delete(chaptersKey(eventId));
  await storage.put(chaptersKey(eventId), JSON.stringify(current.doc, null, 2), { contentType: CHAPTERS_TYPE, cacheControl: CACHE_CONTROL.short });
}

export async function publishChapters(ev: EventRow, deps: PublishChaptersDeps): Promise<EventChapters> {
  const current = await deps.chapters.chapters(ev.id);
  await storeChapters(deps.storage, ev.id, current);
  await deps.refreshPage(ev.id);
  if (await deps.publications.get(ev.id)) await writeFeed(deps);
  return current;
}
