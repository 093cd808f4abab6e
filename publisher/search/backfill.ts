// At start, in the background: events whose transcripts were published before
// the search index existed (or whose index was lost) are indexed from their
// stored transcripts, so upgrading makes old recordings searchable without
// anyone asking; and events that failed or were deleted while they had rows
// in the index lose them, so the list of hidden events searches leave out
// stays short.
import type { Kysely } from 'kysely';
import type { EventCatalog } from '../../shared/catalog/events.ts';
import type { CatalogTables } from '../../shared/catalog/tables.ts';
import type { Db } from '../../shared/db/database.ts';
import type { PublisherTables } from '../publication-store.ts';
import { rebuildFromStorage, type SearchIndexDeps } from './process-segments.ts';
import { hiddenIndexedEvents } from './search.ts';
import type { SearchTables } from './tables.ts';

/** Published events with a transcript and no index yet. */
async function unindexed(db: Kysely<PublisherTables & SearchTables>, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('publications as p')
    .leftJoin('search_events as s', 's.event_id', 'p.event_id')
    .select('p.event_id')
    .where('p.transcript_revision', '>', 0)
    .where('s.event_id', 'is', null)
    .limit(limit)
    .execute();
  return rows.map((r) => r.event_id);
}

export async function backfillSearchIndex(db: Db, catalog: EventCatalog, deps: SearchIndexDeps): Promise<number> {
  for (const id of await hiddenIndexedEvents(db.as<SearchTables & CatalogTables>())) await deps.writer.removeEvent(id);
  let done = 0;
  for (const id of await unindexed(db.as<PublisherTables & SearchTables>(), 10_000)) {
    const ev = await catalog.getEvent(id);
    if (!ev || ev.status === 'failed') continue;
    const rows = await rebuildFromStorage(ev, deps);
    // An event without a stored transcript gets an empty index row, so it is not looked at again.
    if (!rows) await deps.writer.replaceAll({ id: ev.id, host: ev.host, createdAt: ev.createdAt }, []);
    done++;
  }
  return done;
}
