// Search over every indexed transcript segment: a page of hits, the total,
// and a cursor for the next page (search/cursor.ts says why pages stay put).
// Sorting by date pages through every hit; by relevance it ranks the newest
// RANK_WINDOW matches (rank.ts) and pages through the best RELEVANCE_DEPTH
// of them, as search engines bound their result windows, so a query costs
// the same at ten hours of audio or ten thousand.
import { sql, type Kysely } from 'kysely';
import type { Db } from '../../shared/db/database.ts';
import { HttpError } from '../../shared/http.ts';
import { decodeCursor, encodeCursor, fingerprint, type SearchSort, type SnapshotStore } from './cursor.ts';
import { HIDDEN_STATUSES, statusesFor, VISIBLE_STATUSES, type SearchFilters } from './filters.ts';
import type { IndexWord } from './index-writer.ts';
import { PostgresMatchSql, SqliteMatchSql, type MatchSpec, type MatchSql, type WalkOptions } from './match-sql.ts';
import { rankCandidates, scoreText } from './rank.ts';
import { describeQuery, type ParsedQuery } from './query.ts';
import { SEGMENT_ID_SEQUENCE } from './partitions.ts';
import type { SearchTables } from './tables.ts';

/** Totals are counted up to here, then reported as "at least". */
export const TOTAL_CAP = 1_000;
export const RELEVANCE_DEPTH = 1_000;
/**
 * Relevance ranks the newest matches, one more than the cap: a word said
 * more often than that is reported "more than 1,000" without counting it
 * again, and every page of the best 1,000 comes from one ranking.
 */
export const RANK_WINDOW = TOTAL_CAP + 1;

export interface SegmentHit {
  id: number;
  eventId: string;
  startSec: number;
  endSec: number;
  text: string;
  speaker: string | null;
  words: IndexWord[] | null;
  score: number;
}

export interface SearchPage {
  hits: SegmentHit[];
  total: number;
  /** The total is a lower bound (there are at least that many). */
  totalCapped: boolean;
  nextCursor: string | null;
}

export interface SearchRequest {
  query: ParsedQuery;
  filters: SearchFilters;
  sort: SearchSort;
  limit: number;
  cursor?: string;
}

/**
 * Events the index still holds that no one may see: failed or deleted ones
 * whose rows have not gone yet (the purge and the index's own sweep remove
 * them), so a short list; found through the catalog's status index.
 */
export async function hiddenIndexedEvents(db: Kysely<SearchTables & EventsTable>): Promise<string[]> {
  const rows = await db
    .selectFrom('events')
    .select('id')
    .where('status', 'in', HIDDEN_STATUSES)
    .where((eb) => eb.exists(eb.selectFrom('search_events').select('event_id').whereRef('search_events.event_id', '=', 'events.id')))
    .execute();
  return rows.map((r) => r.id);
}

interface EventsTable {
  events: { id: string; status: string };
}

function parseWords(json: string | null): IndexWord[] | null {
  if (!json) return null;
  return (JSON.parse(json) as [number, number, string][]).map(([startSec, endSec, text]) => ({ startSec, endSec, text }));
}

export class SearchEngine {
  private readonly db: Kysely<SearchTables & EventsTable>;
  private readonly match: MatchSql;
  private readonly pg: boolean;

  /** `walk`: how PostgreSQL walks back to the newest matches (match-sql.ts; the default, or the earlier way for a benchmark). */
  constructor(
    db: Db,
    private readonly snapshots: SnapshotStore,
    walk?: WalkOptions,
  ) {
    this.db = db.as<SearchTables & EventsTable>();
    this.pg = db.dialect === 'postgres';
    this.match = db.dialect === 'postgres' ? new PostgresMatchSql(db.as<unknown>(), walk) : new SqliteMatchSql(db.as<unknown>());
  }

  async search(req: SearchRequest): Promise<SearchPage> {
    const fp = fingerprint([describeQuery(req.query), req.filters]);
    const cursor = req.cursor ? decodeCursor(req.cursor, fp, req.sort) : undefined;
    if (cursor?.sort === 'relevance' || (!cursor && req.sort === 'relevance')) {
      return this.byRelevance(req, fp, cursor?.sort === 'relevance' ? cursor : undefined);
    }
    const spec = await this.spec(req.query, req.filters, cursor?.sort === 'date' ? cursor.snap : await this.maxId());
    if (cursor?.sort === 'date') spec.beforeId = cursor.before;
    const { ids, total, capped } =
      cursor?.sort === 'date'
        ? { ...cursor, ids: await this.match.newest(spec, req.limit + 1) }
        : await this.match
            .firstPage(spec, req.limit, TOTAL_CAP + 1)
            .then((f) => ({ ids: f.ids, total: Math.min(f.total, TOTAL_CAP), capped: f.total > TOTAL_CAP }));
    const page = ids.slice(0, req.limit);
    const more = ids.length > req.limit;
    const nextCursor = more ? encodeCursor({ sort: 'date', fp, snap: spec.maxId, before: page[page.length - 1], total, capped }) : null;
    return { hits: await this.details(page, req.query), total, totalCapped: capped, nextCursor };
  }

  private async byRelevance(req: SearchRequest, fp: string, cursor?: { key: string; offset: number }): Promise<SearchPage> {
    let key = cursor?.key;
    let snapshot = key ? await this.snapshots.get(key) : undefined;
    if (cursor && !snapshot) throw new HttpError(410, 'this search has expired (rankings are kept 30 minutes): search again');
    if (!snapshot) {
      const spec = await this.spec(req.query, req.filters, await this.maxId());
      const candidates = await this.match.candidates(spec, RANK_WINDOW);
      // All the matches were candidates unless the window is full; then count on (a window wider than the cap already says "more than the cap").
      const n = candidates.length < RANK_WINDOW || RANK_WINDOW > TOTAL_CAP ? candidates.length : await this.match.count(spec, TOTAL_CAP + 1);
      const ranked = rankCandidates(req.query, candidates, RELEVANCE_DEPTH);
      snapshot = { ids: ranked.map((r) => r.id), total: Math.min(n, TOTAL_CAP), capped: n > TOTAL_CAP };
    }
    const offset = cursor?.offset ?? 0;
    const page = snapshot.ids.slice(offset, offset + req.limit);
    const end = offset + page.length;
    let nextCursor: string | null = null;
    if (end < snapshot.ids.length) {
      key ??= await this.snapshots.put(snapshot);
      nextCursor = encodeCursor({ sort: 'relevance', fp, key, offset: end });
    }
    return { hits: await this.details(page, req.query), total: snapshot.total, totalCapped: snapshot.capped, nextCursor };
  }

  /** Every hit in one event, in transcript order (find in transcript). */
  async inEvent(eventId: string, query: ParsedQuery, limit = 2000): Promise<{ hits: SegmentHit[]; total: number; totalCapped: boolean }> {
    const spec = await this.spec(query, { eventId }, await this.maxId());
    const ids = await this.match.newest(spec, limit + 1);
    const hits = (await this.details(ids.slice(0, limit), query)).sort((a, b) => a.startSec - b.startSec || a.id - b.id);
    return { hits, total: Math.min(ids.length, limit), totalCapped: ids.length > limit };
  }

  /** The visible hits among rows [minId, maxId]: what an alert checks when new segments are indexed. */
  async matchRows(query: ParsedQuery, filters: SearchFilters, minId: number, maxId: number, limit = 1000): Promise<SegmentHit[]> {
    const spec = await this.spec(query, filters, maxId);
    spec.minId = minId;
    return (await this.details(await this.match.newest(spec, limit), query)).sort((a, b) => a.id - b.id);
  }

  /** The event's indexed segments with their word timings, in transcript order (the replay page's words). */
  async segmentsOf(eventId: string): Promise<{ startSec: number; endSec: number; words: IndexWord[] | null }[]> {
    const rows = await this.db
      .selectFrom('search_segments')
      .select(['start_sec', 'end_sec', 'words_json'])
      .where('event_id', '=', eventId)
      .orderBy('start_sec')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ startSec: r.start_sec, endSec: r.end_sec, words: parseWords(r.words_json) }));
  }

  /** The highest segment id now: a snapshot's bound. */
  /**
   * The newest id handed out: a search's snapshot. On PostgreSQL the id
   * sequence says it in one read, where max(id) would plan a scan of every
   * partition. Either way a row still being written with a lower id shows up
   * once committed, as it would with max(id) and several writers.
   */
  async maxId(): Promise<number> {
    if (this.pg) {
      const r = await sql<{ m: number }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS m FROM ${sql.id(SEGMENT_ID_SEQUENCE)}`.execute(this.db);
      return Number(r.rows[0]?.m ?? 0);
    }
    const r = await this.db
      .selectFrom('search_segments')
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  private async spec(query: ParsedQuery, filters: SearchFilters, maxId: number): Promise<MatchSpec> {
    // One statement after the other: a search keeps to one pooled connection, whose caches of the partitions stay warm.
    const hidden = await hiddenIndexedEvents(this.db);
    const spec: MatchSpec = { query, filters, maxId, exceptEvents: hidden };
    if (filters.status) {
      const unfinished = (await this.db.selectFrom('events').select('id').where('status', 'in', statusesFor('live')).execute()).map((r) => r.id);
      if (filters.status === 'live') spec.onlyEvents = unfinished;
      else spec.exceptEvents = [...hidden, ...unfinished];
    }
    if ((filters.from && !filters.to) || (!filters.from && filters.to)) {
      const r = await this.db
        .selectFrom('search_events')
        .select((eb) => [eb.fn.min('day').as('first'), eb.fn.max('day').as('last')])
        .executeTakeFirst();
      if (r?.first && r.last) spec.dayBounds = { first: String(r.first), last: String(r.last) };
    }
    return spec;
  }

  /** The rows behind ids, in the same order, scored; an event that failed since a ranking was kept drops out. */
  private async details(ids: number[], query: ParsedQuery): Promise<SegmentHit[]> {
    if (!ids.length) return [];
    const rows = await this.db
      .selectFrom('search_segments as s')
      .innerJoin('events as e', 'e.id', 's.event_id')
      .select(['s.id', 's.event_id', 's.start_sec', 's.end_sec', 's.text', 's.speaker', 's.words_json'])
      .where('s.id', 'in', ids)
      .where('e.status', 'in', [...VISIBLE_STATUSES])
      .execute();
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      if (!row) return [];
      return [
        {
          id,
          eventId: row.event_id,
          startSec: row.start_sec,
          endSec: row.end_sec,
          text: row.text,
          speaker: row.speaker,
          words: parseWords(row.words_json),
          score: scoreText(query, row.text),
        },
      ];
    });
  }
}
