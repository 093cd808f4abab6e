// At a publisher's start: publications made before pages were stored beside
// the media (or whose page write never happened) get their stored page, and
// the stored feed is written if it is missing. Each write is idempotent, so
// several publishers starting together only repeat one another.
import { keys } from '../shared/layout.ts';
import { writeFeed, type FeedDeps } from './feed-document.ts';
import { writeStoredPage, type StoredPageDeps } from './stored-page.ts';

/** How many publications are looked at (newest first), as many as the feed lists and more. */
const LOOK_AT = 10_000;

export async function backfillStoredPages(deps: StoredPageDeps & FeedDeps): Promise<number> {
  let written = 0;
  for (const p of await deps.publications.published(LOOK_AT)) {
    if (await deps.storage.head(keys.page(p.eventId))) continue;
    if ((await writeStoredPage(p.eventId, deps)) === 'written') written++;
  }
  if (written || !(await deps.storage.head(keys.feed()))) await writeFeed(deps);
  return written;
}
