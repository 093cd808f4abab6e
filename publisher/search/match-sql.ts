// The two engines behind one set of questions: which visible segments match
// a query (newest first, from a snapshot), how many there are, and which of
// the newest are, with their text for ranking (rank.ts ranks them, the same
// way for both). SQLite answers from FTS5, PostgreSQL from a tsvector with a
// GIN index; both get the same normalized tokens and the same query (compiled
// per engine), so they return the same hits.
//
// Neither engine joins the events table: which events are hidden (failed or
// deleted and not yet out of the index, or unfinished ones when only
// published ones are asked for) is a short list the caller passes, so FTS5
// answers from its index alone and PostgreSQL from search_segments alone.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { dateRangeTags, type SearchFilters } from './filters.ts';
import { eventTag, hostKey } from './index-writer.ts';
import { PARTITION_ROWS } from './partitions.ts';
import { toFts5Match, toTsquery, type ParsedQuery } from './query.ts';
import type { Candidate } from './rank.ts';

/** A query and its filters, ready for one engine. */
export interface MatchSpec {
  query: ParsedQuery;
  filters: SearchFilters;
  /** Only rows of these events (the status filter `live`: the events not finished yet, few). */
  onlyEvents?: string[];
  /** Never rows of these events: failed or deleted ones not yet out of the index (few), and unfinished ones for `published`. */
  exceptEvents: string[];
  /** The date range's open ends, closed with the first and last day indexed. */
  dayBounds?: { first: string; last: string };
  /** Only rows within these ids (inclusive): a snapshot, or the rows an alert checks. */
  minId?: number;
  maxId: number;
  /** Only rows below this id: the next page by date. */
  beforeId?: number;
}

/** The engines answer which rows match; ranking is done once, for both, in rank.ts. */
export interface MatchSql {
  /** Ids of the newest visible matches, newest first. */
  newest(spec: MatchSpec, limit: number): Promise<number[]>;
  /** The first page by date: its ids (up to `limit`, plus one if there are more) and the total up to `cap`, each engine its cheapest way. */
  firstPage(spec: MatchSpec, limit: number, cap: number): Promise<{ ids: number[]; total: number }>;
  count(spec: MatchSpec, cap: number): Promise<number>;
  /** The newest visible matches with their text, newest first: what relevance ranks. */
  candidates(spec: MatchSpec, limit: number): Promise<Candidate[]>;
}

const inList = (values: readonly string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

const quoted = (tags: string[]) => tags.map((t) => `"${t}"`).join(' OR ');

/** The FTS5 MATCH text: the query on the tokens column, the filters as tag terms, hidden events taken out. */
export function fts5Match(spec: MatchSpec): string {
  const parts = [toFts5Match(spec.query)];
  const f = spec.filters;
  if (f.eventId) parts.push(`tags : (${quoted([eventTag(f.eventId)])})`);
  const host = f.host !== undefined ? hostKey(f.host) : undefined;
  if (f.host !== undefined) parts.push(`tags : (${quoted([`h${host ?? 'none'}`])})`);
  if (f.from || f.to) {
    const from = f.from ?? spec.dayBounds?.first;
    const to = f.to ?? spec.dayBounds?.last;
    parts.push(`tags : (${from && to && from <= to ? quoted(dateRangeTags(from, to)) : '"nothing"'})`);
  }
  if (spec.onlyEvents) parts.push(`tags : (${spec.onlyEvents.length ? quoted(spec.onlyEvents.map(eventTag)) : '"nothing"'})`);
  const match = parts.join(' AND ');
  return spec.exceptEvents.length ? `(${match}) NOT tags : (${quoted(spec.exceptEvents.map(eventTag))})` : match;
}

export class SqliteMatchSql implements MatchSql {
  constructor(private readonly db: Kysely<unknown>) {}

  /** Every filter is in the MATCH: FTS5 answers alone, reading no table row. */
  private matching(spec: MatchSpec, limit: number): RawBuilder<{ id: number }> {
    return sql<{ id: number }>`SELECT rowid AS id FROM search_fts
      WHERE search_fts MATCH ${fts5Match(spec)}
        AND rowid >= ${spec.minId ?? 0} AND rowid <= ${spec.maxId} AND rowid < ${spec.beforeId ?? Number.MAX_SAFE_INTEGER}
      ORDER BY rowid DESC
      LIMIT ${limit}`;
  }

  async newest(spec: MatchSpec, limit: number): Promise<number[]> {
    return (await this.matching(spec, limit).execute(this.db)).rows.map((r) => r.id);
  }

  /** FTS5 hands out rowids from its index alone: reading every id up to the cap is one pass, and counts them too. */
  async firstPage(spec: MatchSpec, limit: number, cap: number): Promise<{ ids: number[]; total: number }> {
    const ids = await this.newest(spec, cap);
    return { ids: ids.slice(0, limit + 1), total: ids.length };
  }

  async count(spec: MatchSpec, cap: number): Promise<number> {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM (${this.matching(spec, cap)})`.execute(this.db);
    return Number(r.rows[0]?.n ?? 0);
  }

  async candidates(spec: MatchSpec, limit: number): Promise<Candidate[]> {
    const r = await sql<Candidate>`SELECT s.id AS id, s.text AS text FROM (${this.matching(spec, limit)}) AS m
      CROSS JOIN search_segments s ON s.id = m.id
      ORDER BY m.id DESC`.execute(this.db);
    return r.rows;
  }
}

/** How the newest matches are walked: the first window's ids, and whether windows are whole partitions (the earlier way, kept for bench:search --walk partitions). */
export interface WalkOptions {
  firstWindow: number;
  aligned: boolean;
}

export const PARTITION_WALK: WalkOptions = { firstWindow: PARTITION_ROWS, aligned: true };

/** An eighth of a partition: a word said in one segment of a hundred fills a page of 20 from it, and 1,000 candidates from about four. */
export const FIRST_WINDOW_ROWS = PARTITION_ROWS / 8;

export class PostgresMatchSql implements MatchSql {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly walk: WalkOptions = { firstWindow: FIRST_WINDOW_ROWS, aligned: false },
  ) {}

  /** The query's conditions; `range` (ids [lo, hi)) as plain conditions on id, so only the partitions it covers are read. */
  private conditions(spec: MatchSpec, range?: { lo: number; hi: number }): RawBuilder<unknown> {
    const f = spec.filters;
    const conds = [
      sql`s.tsv @@ ${toTsquery(spec.query)}::tsquery`,
      // The snapshot bound holds nearly every row: as an expression it is a filter, not a
      // reason for the planner to read the whole primary key (a bitmap of every row).
      sql`(s.id + 0) <= ${spec.maxId}`,
    ];
    if (range) conds.push(sql`s.id >= ${range.lo}`, sql`s.id < ${range.hi}`);
    if (spec.minId !== undefined) conds.push(sql`s.id >= ${spec.minId}`);
    if (spec.beforeId !== undefined) conds.push(sql`(s.id + 0) < ${spec.beforeId}`);
    if (f.eventId) conds.push(sql`s.event_id = ${f.eventId}`);
    if (f.host !== undefined) conds.push(sql`s.host_key = ${hostKey(f.host) ?? 'none'}`);
    if (f.from) conds.push(sql`s.day >= ${f.from}`);
    if (f.to) conds.push(sql`s.day <= ${f.to}`);
    if (spec.onlyEvents) conds.push(spec.onlyEvents.length ? sql`s.event_id IN (${inList(spec.onlyEvents)})` : sql`false`);
    if (spec.exceptEvents.length) conds.push(sql`s.event_id NOT IN (${inList(spec.exceptEvents)})`);
    return sql.join(conds, sql` AND `);
  }

  /**
   * The newest `limit` matches, walking back through the ids from the newest:
   * first a window of the newest ids, then as many more as the matches found
   * so far say are needed (all the rest when none were found). A GIN index
   * returns matches in no order, and the planner, which cannot tell how many
   * rows a word matches, would otherwise sort every match of the word in
   * every partition. A window inside a partition is a range on its primary
   * key, which the planner ANDs with the word's GIN bitmap, so only the rows
   * of the window that hold the word are read from the table: a word said
   * often costs about `limit` rows, however often it was said before.
   */
  private async walkNewest<R extends { id: number }>(spec: MatchSpec, columns: RawBuilder<unknown>, limit: number): Promise<R[]> {
    const out: R[] = [];
    const floor = spec.minId ?? 0;
    const top = Math.min(spec.maxId + 1, spec.beforeId ?? Infinity);
    let hi = top;
    let rows = this.walk.aligned ? hi - Math.floor((hi - 1) / PARTITION_ROWS) * PARTITION_ROWS : this.walk.firstWindow;
    while (out.length < limit && hi > floor) {
      const lo = this.walk.aligned ? Math.max(floor, Math.floor((hi - rows) / PARTITION_ROWS) * PARTITION_ROWS) : Math.max(floor, Math.floor(hi - rows));
      const r = await sql<R>`SELECT ${columns} FROM search_segments s WHERE ${this.conditions(spec, { lo, hi })}
        ORDER BY s.id DESC LIMIT ${limit - out.length}`.execute(this.db);
      out.push(...r.rows);
      hi = lo;
      // Matches per id so far say how far back the rest lie (with a margin); none yet: all the rest.
      const perRow = out.length / (top - hi);
      rows = perRow > 0 ? Math.max(1000, (1.25 * (limit - out.length)) / perRow) : Infinity;
    }
    return out;
  }

  async newest(spec: MatchSpec, limit: number): Promise<number[]> {
    return (await this.walkNewest<{ id: number }>(spec, sql`s.id`, limit)).map((r) => Number(r.id));
  }

  /** Ordering every match costs a heap visit each: the page is ordered, the total counted in any order, and only when the page is not all. */
  async firstPage(spec: MatchSpec, limit: number, cap: number): Promise<{ ids: number[]; total: number }> {
    const ids = await this.newest(spec, limit + 1);
    return { ids, total: ids.length > limit ? await this.count(spec, cap) : ids.length };
  }

  async count(spec: MatchSpec, cap: number): Promise<number> {
    // Any `cap` matches will do for a count: no order, so the scan stops as soon as it has them.
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT 1 FROM search_segments s WHERE ${this.conditions(spec)} LIMIT ${cap}) AS m`.execute(
      this.db,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async candidates(spec: MatchSpec, limit: number): Promise<Candidate[]> {
    return (await this.walkNewest<Candidate>(spec, sql`s.id, s.text`, limit)).map((r) => ({ id: Number(r.id), text: r.text }));
  }
}
