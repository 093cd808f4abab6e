// The shared event catalog: every event's public record (its row, its gaps
// and the failures any stage reported), on SQLite or PostgreSQL through one
// query layer. The texts it keeps for the public are redacted on the way in.
// An event's status changes only through transition() (status.ts).
import type { Kysely, Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import { redactText } from '../redact.ts';
import { ALLOWED_FROM, type EventStatus } from './status.ts';
import type { CatalogTables, EventsTable, FailuresTable, GapsTable } from './tables.ts';

export type { EventStatus } from './status.ts';
/** Event ids are ours (`ev_` + 16 hex digits): anything else is not an event, wherever it comes from. */
export const isEventId = (x: unknown): x is string => typeof x === 'string' && /^ev_[0-9a-f]{16}$/.test(x);

export type SourceSpec = { url: string } | { type: 'push' };

export interface EventRow {
  id: string;
  slug: string;
  title: string;
  /** Who hosts the conversation, shown on the page, card and artwork. */
  host: string | null;
  /** Fingerprint of the API token that created the event (live events are capped per token). */
  owner: string | null;
  source: SourceSpec;
  streamKeyHash: string | null;
  reconnectWindowSec: number;
  status: EventStatus;
  createdAt: string;
  endedAt: string | null;
  endRequestedAt: string | null;
  endReason: string | null;
  error: string | null;
  /** Seconds of audio archived so far. */
  capturedSec: number;
  /** End of the last archived audio on the event timeline (gaps included). */
  timelineSec: number;
  chunkCount: number;
}

export interface GapRow {
  eventId: string;
  startSec: number;
  endSec: number;
  reason: string;
}

export interface FailureRow {
  eventId: string;
  stage: string;
  startSec: number | null;
  endSec: number | null;
  reason: string;
  at: string;
}

export type NewEvent = Pick<EventRow, 'id' | 'slug' | 'title' | 'source' | 'streamKeyHash' | 'reconnectWindowSec'> & {
  host?: string | null;
  owner?: string | null;
};

const now = () => new Date().toISOString();

/** What a purged tombstone keeps of its source: nothing (a source URL can hold credentials). */
const TOMBSTONE_SOURCE: SourceSpec = { type: 'push' };

function toEvent(r: Selectable<EventsTable>): EventRow {
  return {
    id: r.id,
    slug: r.slug,
    title: r.title,
    host: r.host ?? null,
    owner: r.owner ?? null,
    source: JSON.parse(r.source_json) as SourceSpec,
    streamKeyHash: r.stream_key_hash,
    reconnectWindowSec: r.reconnect_window_sec,
    status: r.status,
    createdAt: r.created_at,
    endedAt: r.ended_at,
    endRequestedAt: r.end_requested_at,
    endReason: r.end_reason,
    error: r.error,
    capturedSec: r.captured_sec,
    timelineSec: r.timeline_sec,
    chunkCount: r.chunk_count,
  };
}

/**
 * Records a span of the timeline nothing was captured for (empty spans are
 * rounding, not gaps; one gap per start). Also for a stage that writes a gap
 * in its own transaction (an HLS segment placed after one: recorder/store.ts).
 */
export async function insertGap<T>(db: Kysely<T>, g: GapRow): Promise<void> {
  if (!(g.endSec > g.startSec)) return;
  // (Any Kysely of a stage holds the catalog tables too; TypeScript cannot see that through its table map.)
  await (db as unknown as Kysely<CatalogTables>)
    .insertInto('gaps')
    .values({ event_id: g.eventId, start_sec: g.startSec, end_sec: g.endSec, reason: redactText(g.reason) })
    .onConflict((oc) => oc.columns(['event_id', 'start_sec']).doNothing())
    .execute();
}

const toGap = (r: Selectable<GapsTable>): GapRow => ({ eventId: r.event_id, startSec: r.start_sec, endSec: r.end_sec, reason: r.reason });
const toFailure = (r: Selectable<FailuresTable>): FailureRow => ({
  eventId: r.event_id,
  stage: r.stage,
  startSec: r.start_sec,
  endSec: r.end_sec,
  reason: r.reason,
  at: r.at,
});

/** Groups rows by event id, every id present (an event without rows gets []). */
function byEvent<T extends { eventId: string }>(ids: string[], rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const r of rows) out.get(r.eventId)?.push(r);
  return out;
}

export class EventCatalog {
  private readonly db: Kysely<CatalogTables>;

  constructor(db: Db) {
    this.db = db.as<CatalogTables>();
  }

  // ---- events

  async createEvent(e: NewEvent): Promise<EventRow> {
    await this.db
      .insertInto('events')
      .values({
        id: e.id,
        slug: e.slug,
        title: e.title,
        host: e.host ?? null,
        owner: e.owner ?? null,
        source_json: JSON.stringify(e.source),
        stream_key_hash: e.streamKeyHash,
        reconnect_window_sec: e.reconnectWindowSec,
        status: 'live',
        created_at: now(),
        ended_at: null,
        end_requested_at: null,
        end_reason: null,
        error: null,
      })
      .execute();
    return (await this.getEvent(e.id))!;
  }

  /** An event, unless it is absent or deleted (`includeDeleted`: its tombstone too). */
  async getEvent(id: string, opts: { includeDeleted?: boolean } = {}): Promise<EventRow | undefined> {
    const r = await this.db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', id)
      .$if(!opts.includeDeleted, (q) => q.where('status', '!=', 'deleted'))
      .executeTakeFirst();
    return r ? toEvent(r) : undefined;
  }

  async getEventBySlug(slug: string): Promise<EventRow | undefined> {
    const r = await this.db.selectFrom('events').selectAll().where('slug', '=', slug).where('status', '!=', 'deleted').executeTakeFirst();
    return r ? toEvent(r) : undefined;
  }

  async listEvents(limit = 100): Promise<EventRow[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('status', '!=', 'deleted')
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** Events by id, in one query (absent and deleted ids are left out). */
  async eventsById(ids: string[]): Promise<Map<string, EventRow>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('events').selectAll().where('id', 'in', ids).where('status', '!=', 'deleted').execute();
    return new Map(rows.map((r) => [r.id, toEvent(r)]));
  }

  /** Deleted events whose data the stages have not all forgotten yet. */
  async deletedUnpurged(): Promise<string[]> {
    const rows = await this.db.selectFrom('events').select('id').where('status', '=', 'deleted').where('purged_at', 'is', null).execute();
    return rows.map((r) => r.id);
  }

  /**
   * The catalog's part of forgetting a deleted event, once every stage forgot
   * theirs: its gaps and failures go, and its tombstone keeps only the id,
   * the slug and the dates (no title, host, source or key).
   */
  async purgeDeleted(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('events')
        .set({
          title: '',
          host: null,
          source_json: JSON.stringify(TOMBSTONE_SOURCE),
          stream_key_hash: null,
          end_reason: null,
          error: null,
          purged_at: now(),
        })
        .where('id', '=', id)
        .where('status', '=', 'deleted')
        .executeTakeFirst();
      if (!Number(r.numUpdatedRows)) return; // not a deleted event: nothing of it goes
      await trx.deleteFrom('gaps').where('event_id', '=', id).execute();
      await trx.deleteFrom('failures').where('event_id', '=', id).execute();
    });
  }

  async liveEvents(): Promise<EventRow[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('status', '=', 'live').orderBy('created_at').execute();
    return rows.map(toEvent);
  }

  /** Live events, all tokens. */
  async liveTotal(): Promise<number> {
    const r = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'live')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Live events created with one token. */
  async liveCount(owner: string): Promise<number> {
    const r = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'live')
      .where('owner', '=', owner)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Records that an end was asked for; returns false when it had been asked already. */
  async requestEnd(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('events')
      .set({ end_requested_at: now() })
      .where('id', '=', id)
      .where('end_requested_at', 'is', null)
      .where('status', '=', 'live')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * The one way an event's status changes (status.ts): applied only from an
   * allowed status, atomically. `reason` is the end reason (to ended), `error`
   * what went wrong (to failed). Returns true when the status changed.
   */
  async transition(id: string, to: EventStatus, detail: { reason?: string; error?: string } = {}): Promise<boolean> {
    const from = ALLOWED_FROM[to];
    if (!from.length) return false;
    const r = await this.db
      .updateTable('events')
      .set({
        status: to,
        ...(to === 'ended' ? { ended_at: now(), end_reason: redactText(detail.reason ?? 'ended') } : {}),
        ...(to === 'failed' && detail.error !== undefined ? { error: redactText(detail.error) } : {}),
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---- gaps and failures

  async addGap(g: GapRow): Promise<void> {
    await insertGap(this.db, g);
  }

  async gaps(eventId: string): Promise<GapRow[]> {
    return (await this.gapsOf([eventId])).get(eventId) ?? [];
  }

  /** Gaps of several events in one query. */
  async gapsOf(ids: string[]): Promise<Map<string, GapRow[]>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('gaps').selectAll().where('event_id', 'in', ids).orderBy('event_id').orderBy('start_sec').execute();
    return byEvent(ids, rows.map(toGap));
  }

  async addFailure(f: Omit<FailureRow, 'at'>): Promise<void> {
    await this.db
      .insertInto('failures')
      .values({ event_id: f.eventId, stage: f.stage, start_sec: f.startSec, end_sec: f.endSec, reason: redactText(f.reason), at: now() })
      .execute();
  }

  async failures(eventId: string): Promise<FailureRow[]> {
    return (await this.failuresOf([eventId])).get(eventId) ?? [];
  }

  /** Failures of several events in one query. */
  async failuresOf(ids: string[]): Promise<Map<string, FailureRow[]>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('failures').selectAll().where('event_id', 'in', ids).orderBy('event_id').orderBy('at').execute();
    return byEvent(ids, rows.map(toFailure));
  }
}
