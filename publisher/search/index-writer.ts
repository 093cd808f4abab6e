// Writes an event's transcript segments into the search index, as the
// transcriber's messages say: "the segments that start within [from, to)
// are these". A message replaces exactly its span, so messages commute and a
// repeated one changes nothing; a rebuild from the stored transcript
// replaces everything. One transaction per message: a reader sees all of it
// or none of it. Segments without words are not indexed.
import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from '../../shared/db/database.ts';
import { isMissingPartition, SegmentPartitions } from './partitions.ts';
import { pairsOf, tokensOf } from './tokens.ts';
import type { SearchTables } from './tables.ts';

export interface IndexWord {
  startSec: number;
  endSec: number;
  text: string;
}

export interface IndexSegment {
  startSec: number;
  endSec: number;
  text: string;
  speaker?: string;
  words?: IndexWord[];
}

/** What the index needs to know of the event for its filters. */
export interface IndexedEvent {
  id: string;
  host: string | null;
  createdAt: string;
}

/** The ids of the rows written (none: null), for the alerts to check. */
export interface WrittenRows {
  firstId: number | null;
  lastId: number | null;
  /** Segments the event has in the index now. */
  segments: number;
}

/** A span of the transcript: segments starting at or after `fromSec` and before `toSec`. */
export interface Span {
  fromSec: number;
  toSec: number;
}

/** The filter key of a host name: case, spacing and compatibility forms do not matter. */
export function hostKey(host: string | null | undefined): string | null {
  const h = (host ?? '').normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
  return h ? crypto.createHash('sha256').update(h).digest('hex').slice(0, 16) : null;
}

/** The event's date (UTC) as YYYY-MM-DD: the date filters' unit. */
export const dayOf = (createdAt: string) => new Date(createdAt).toISOString().slice(0, 10);

/** FTS5 tag tokens of an event: its id, host and date (day, month, year), so filters are index lookups. */
export function eventTags(ev: IndexedEvent): string {
  const day = dayOf(ev.createdAt).replaceAll('-', '');
  const host = hostKey(ev.host);
  return [eventTag(ev.id), host ? `h${host}` : '', `d${day}`, `m${day.slice(0, 6)}`, `y${day.slice(0, 4)}`].filter(Boolean).join(' ');
}

export const eventTag = (eventId: string) => `e${eventId.toLowerCase().replace(/[^a-z0-9]/g, '')}`;

const MAX_TS_POSITION = 16383;

/**
 * A PostgreSQL tsvector literal of the tokens and their pairs, each pair at
 * its first word's place (taken verbatim by the type's input function: no
 * parser, no dictionary).
 */
export function tsvectorLiteral(tokens: string[]): string {
  const positions = new Map<string, number[]>();
  const add = (t: string, i: number) => {
    const list = positions.get(t) ?? [];
    // PostgreSQL keeps at most 256 positions per lexeme.
    if (list.length < 256) list.push(Math.min(i + 1, MAX_TS_POSITION));
    positions.set(t, list);
  };
  tokens.forEach(add);
  pairsOf(tokens).forEach(add);
  return [...positions].map(([t, p]) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}':${p.join(',')}`).join(' ');
}

const wordsJson = (s: IndexSegment) => (s.words?.length ? JSON.stringify(s.words.map((w) => [w.startSec, w.endSec, w.text])) : null);

export class SearchIndexWriter {
  private readonly db: Kysely<SearchTables>;
  private readonly pg: boolean;
  /** PostgreSQL: the partitions rows go to, kept ahead of the ids. */
  private readonly partitions?: SegmentPartitions;

  constructor(db: Db) {
    this.db = db.as<SearchTables>();
    this.pg = db.dialect === 'postgres';
    if (this.pg) this.partitions = new SegmentPartitions(db.as<unknown>());
  }

  /** How many segments of the event are indexed (none: undefined). */
  async indexedSegments(eventId: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('search_events').select('segments').where('event_id', '=', eventId).executeTakeFirst();
    return r?.segments;
  }

  /** The segments starting within the span are `segments` now. */
  async replaceSpan(ev: IndexedEvent, span: Span, segments: IndexSegment[]): Promise<WrittenRows> {
    const once = () =>
      this.db.transaction().execute(async (trx) => {
        await this.ensureEvent(trx, ev);
        await this.deleteSpan(trx, ev.id, span);
        return this.write(trx, ev, segments);
      });
    if (!this.partitions) return once();
    const written = await once().catch(async (e: unknown) => {
      // Other writers took the ids this process made room for: room for the sequence as it is, then once more.
      if (!isMissingPartition(e)) throw e;
      await this.partitions?.makeRoom();
      return once();
    });
    await this.partitions.afterWrite(written.lastId);
    return written;
  }

  /** The event's whole index is `segments` now (a rebuild from the stored transcript). */
  async replaceAll(ev: IndexedEvent, segments: IndexSegment[]): Promise<WrittenRows> {
    return this.replaceSpan(ev, { fromSec: -Infinity, toSec: Infinity }, segments);
  }

  /** Takes the event out of the index. */
  async removeEvent(eventId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.deleteSpan(trx, eventId, { fromSec: -Infinity, toSec: Infinity });
      await trx.deleteFrom('search_events').where('event_id', '=', eventId).execute();
    });
  }

  /** The event's row, taken for this transaction (PostgreSQL; SQLite serializes writers anyway). */
  private async ensureEvent(trx: Transaction<SearchTables>, ev: IndexedEvent): Promise<void> {
    await trx
      .insertInto('search_events')
      .values({ event_id: ev.id, segments: 0, host_key: hostKey(ev.host), day: dayOf(ev.createdAt), updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
    if (this.pg) await trx.selectFrom('search_events').select('event_id').where('event_id', '=', ev.id).forUpdate().execute();
  }

  private async deleteSpan(trx: Transaction<SearchTables>, eventId: string, span: Span): Promise<void> {
    const from = Number.isFinite(span.fromSec) ? span.fromSec : -1e308;
    const to = Number.isFinite(span.toSec) ? span.toSec : 1e308;
    if (!this.pg) {
      await sql`DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_segments WHERE event_id = ${eventId} AND start_sec >= ${from} AND start_sec < ${to})`.execute(
        trx,
      );
    }
    await trx.deleteFrom('search_segments').where('event_id', '=', eventId).where('start_sec', '>=', from).where('start_sec', '<', to).execute();
  }

  private async write(trx: Transaction<SearchTables>, ev: IndexedEvent, segments: IndexSegment[]): Promise<WrittenRows> {
    const keys = { host: hostKey(ev.host), day: dayOf(ev.createdAt) };
    const rows = segments.map((s) => ({ s, tokens: tokensOf(s.text) })).filter((r) => r.tokens.length);
    let firstId: number | null = null;
    let lastId: number | null = null;
    for (let at = 0; at < rows.length; at += BATCH) {
      const ids = await this.insertBatch(trx, ev, rows.slice(at, at + BATCH), keys);
      firstId ??= ids[0];
      lastId = ids[ids.length - 1];
    }
    const n = await trx
      .selectFrom('search_segments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('event_id', '=', ev.id)
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('search_events')
      .set({ segments: Number(n.n), host_key: keys.host, day: keys.day, updated_at: new Date().toISOString() })
      .where('event_id', '=', ev.id)
      .execute();
    return { firstId, lastId, segments: Number(n.n) };
  }

  /** Inserts segments in one statement (and their FTS5 rows in another); their ids in the batch's order. */
  private async insertBatch(
    trx: Transaction<SearchTables>,
    ev: IndexedEvent,
    batch: { s: IndexSegment; tokens: string[] }[],
    keys: { host: string | null; day: string },
  ): Promise<number[]> {
    const rows = batch.map(({ s }) => ({
      event_id: ev.id,
      start_sec: s.startSec,
      end_sec: s.endSec,
      text: s.text,
      speaker: s.speaker ?? null,
      words_json: wordsJson(s),
    }));
    let inserted: { id: number }[];
    if (this.pg) {
      const pgRows = rows.map((r, i) => ({ ...r, host_key: keys.host, day: keys.day, tsv: sql<string>`${tsvectorLiteral(batch[i].tokens)}::tsvector` }));
      inserted = await (trx as Kysely<PgSegments>).insertInto('search_segments').values(pgRows).returning('id').execute();
    } else {
      inserted = await trx.insertInto('search_segments').values(rows).returning('id').execute();
    }
    // Ids are given in the order the rows are written, and both databases return them in the order of the VALUES list.
    const ids = inserted.map((r) => Number(r.id)).sort((a, b) => a - b);
    if (!this.pg) {
      const tags = eventTags(ev);
      const values = batch.map((b, i) => sql`(${ids[i]}, ${b.tokens.join(' ')}, ${pairsOf(b.tokens).join(' ')}, ${tags})`);
      await sql`INSERT INTO search_fts(rowid, tokens, pairs, tags) VALUES ${sql.join(values)}`.execute(trx);
    }
    return ids;
  }
}

/** Rows per statement: well under SQLite's 32,766 bound parameters. */
const BATCH = 500;

/** search_segments as PostgreSQL has it: with the tsvector. */
interface PgSegments {
  search_segments: SearchTables['search_segments'] & { tsv: string };
}
