// The two engines behind one set of questions: which visible segments match
// a query (newest first, from a snapshot), how many there are, and which of
// the newest rank best. SQLite answers from FTS5, PostgreSQL from a tsvector
// with a GIN index; both get the same normalized tokens and the same query
// (compiled per engine), so they return the same hits.
//
// SQLite: the full-text match drives every query (CROSS JOIN keeps the
// planner from starting at a joined table and probing the index per row).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { dateRangeTags, statusesFor, type SearchFilters } from './filters.ts';
import { eventTag, hostKey } from './index-writer.ts';
import { toFts5Match, toTsquery, type ParsedQuery } from './query.ts';

/** A visible match and its rank (higher is better). */
export interface RankedId {
  id: number;
  rank: number;
}

/** A query and its filters, ready for one engine. */
export interface MatchSpec {
  query: ParsedQuery;
  filters: SearchFilters;
  /** Ids of the events that are live now, when the filter asks for them (few). */
  liveEventIds?: string[];
  /** The date range's open ends, closed with the first and last day indexed. */
  dayBounds?: { first: string; last: string };
  /** Only rows within these ids (inclusive): a snapshot, or the rows an alert checks. */
  minId?: number;
  maxId: number;
  /** Only rows below this id: the next page by date. */
  beforeId?: number;
}

export interface MatchSql {
  newest(spec: MatchSpec, limit: number): Promise<RankedId[]>;
  count(spec: MatchSpec, cap: number): Promise<number>;
  best(spec: MatchSpec, window: number, depth: number): Promise<RankedId[]>;
}

const inList = (values: readonly string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

const quoted = (tags: string[]) => tags.map((t) => `"${t}"`).join(' OR ');

/** The FTS5 MATCH text: the query on the tokens column, the filters as tag terms. */
export function fts5Match(spec: MatchSpec): string {
  const parts = [toFts5Match(spec.query, 'tokens')];
  const f = spec.filters;
  if (f.eventId) parts.push(`tags : (${quoted([eventTag(f.eventId)])})`);
  const host = f.host !== undefined ? hostKey(f.host) : undefined;
  if (f.host !== undefined) parts.push(`tags : (${quoted([`h${host ?? 'none'}`])})`);
  if (f.from || f.to) {
    const from = f.from ?? spec.dayBounds?.first;
    const to = f.to ?? spec.dayBounds?.last;
    parts.push(`tags : (${from && to && from <= to ? quoted(dateRangeTags(from, to)) : '"nothing"'})`);
  }
  if (spec.liveEventIds) parts.push(`tags : (${spec.liveEventIds.length ? quoted(spec.liveEventIds.map(eventTag)) : '"nothing"'})`);
  return parts.join(' AND ');
}

export class SqliteMatchSql implements MatchSql {
  constructor(private readonly db: Kysely<unknown>) {}

  private visible(spec: MatchSpec, limit: number): RawBuilder<RankedId> {
    return sql<RankedId>`SELECT search_fts.rowid AS id, -bm25(search_fts, 1.0, 0.0) AS rank
      FROM search_fts
      CROSS JOIN search_segments s ON s.id = search_fts.rowid
      CROSS JOIN events e ON e.id = s.event_id
      WHERE search_fts MATCH ${fts5Match(spec)}
        AND search_fts.rowid >= ${spec.minId ?? 0} AND search_fts.rowid <= ${spec.maxId}
        AND search_fts.rowid < ${spec.beforeId ?? Number.MAX_SAFE_INTEGER}
        AND e.status IN (${inList(statusesFor(spec.filters.status))})
      ORDER BY search_fts.rowid DESC
      LIMIT ${limit}`;
  }

  async newest(spec: MatchSpec, limit: number): Promise<RankedId[]> {
    return (await this.visible(spec, limit).execute(this.db)).rows;
  }

  async count(spec: MatchSpec, cap: number): Promise<number> {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM (${this.visible(spec, cap)})`.execute(this.db);
    return Number(r.rows[0]?.n ?? 0);
  }

  async best(spec: MatchSpec, window: number, depth: number): Promise<RankedId[]> {
    const r = await sql<RankedId>`SELECT id, rank FROM (${this.visible(spec, window)}) ORDER BY rank DESC, id DESC LIMIT ${depth}`.execute(this.db);
    return r.rows;
  }
}

export class PostgresMatchSql implements MatchSql {
  constructor(private readonly db: Kysely<unknown>) {}

  private visible(spec: MatchSpec, limit: number): RawBuilder<RankedId & { tsv?: string }> {
    const f = spec.filters;
    const tsq = toTsquery(spec.query);
    const conds = [
      sql`s.tsv @@ ${tsq}::tsquery`,
      sql`s.id >= ${spec.minId ?? 0}`,
      sql`s.id <= ${spec.maxId}`,
      sql`s.id < ${spec.beforeId ?? Number.MAX_SAFE_INTEGER}`,
      sql`e.status IN (${inList(statusesFor(f.status))})`,
    ];
    if (f.eventId) conds.push(sql`s.event_id = ${f.eventId}`);
    if (f.host !== undefined) conds.push(sql`s.host_key = ${hostKey(f.host) ?? 'none'}`);
    if (f.from) conds.push(sql`s.day >= ${f.from}`);
    if (f.to) conds.push(sql`s.day <= ${f.to}`);
    if (spec.liveEventIds) conds.push(spec.liveEventIds.length ? sql`s.event_id IN (${inList(spec.liveEventIds)})` : sql`false`);
    return sql<RankedId>`SELECT s.id, ts_rank(s.tsv, ${tsq}::tsquery, 1)::float8 AS rank
      FROM search_segments s JOIN events e ON e.id = s.event_id
      WHERE ${sql.join(conds, sql` AND `)}
      ORDER BY s.id DESC
      LIMIT ${limit}`;
  }

  async newest(spec: MatchSpec, limit: number): Promise<RankedId[]> {
    return (await this.visible(spec, limit).execute(this.db)).rows.map((r) => ({ id: Number(r.id), rank: Number(r.rank) }));
  }

  async count(spec: MatchSpec, cap: number): Promise<number> {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM (${this.visible(spec, cap)}) AS m`.execute(this.db);
    return Number(r.rows[0]?.n ?? 0);
  }

  async best(spec: MatchSpec, window: number, depth: number): Promise<RankedId[]> {
    const r = await sql<RankedId>`SELECT id, rank FROM (${this.visible(spec, window)}) AS m ORDER BY rank DESC, id DESC LIMIT ${depth}`.execute(this.db);
    return r.rows.map((x) => ({ id: Number(x.id), rank: Number(x.rank) }));
  }
}
