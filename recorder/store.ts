// The recorder's own tables: capture sessions (one ffmpeg segmenter each),
// archived chunks (with their place on the timeline and checksum), and per
// event the HLS progress to resume from and whether its end reached the
// queue. The recorder also keeps the captured-seconds counters on the event
// row, in the same transaction as each chunk, so listing events reads no
// chunk at all.
import { sql, type Generated, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { CatalogTables } from '../shared/catalog/tables.ts';
import type { Db } from '../shared/db/database.ts';
import type { Migrations } from '../shared/db/migrate.ts';
import { insertGap } from '../shared/catalog/events.ts';
import type { HlsState } from './hls-reader.ts';
import type { ReplicasTable } from './replica-leases.ts';
import { deleteEventRows } from '../shared/db/forget.ts';
import { GroupCommit } from './group-commit.ts';

export interface SessionsTable {
  event_id: string;
  no: number;
  timeline_start_sec: number;
  started_at: string;
  /** pid of the ffmpeg segmenter, so a restarted recorder can stop an orphan. */
  pid: number | null;
  closed_at: string | null;
}

export type ChunkState = 'archived' | 'queued';

export interface ChunksTable {
  event_id: string;
  seq: number;
  session_no: number;
  spool_name: string;
  start_sec: number;
  duration_sec: number;
  bytes: number;
  sha256: string;
  key: string;
  state: ChunkState;
  created_at: string;
}

export interface CaptureStateTable {
  event_id: string;
  /** HLS progress (SavedHls) of the current session, to resume after the last segment. */
  hls_json: string | null;
  /** 1 once the event's end was handed to the queue. */
  end_enqueued: Generated<number>;
  /** The process recording the event (see lease.ts), and until when its lease holds. */
  holder: Generated<string | null>;
  lease_until: Generated<string | null>;
  /** A process that received a push for the event asks the holder to hand it over. */
  handover_to: Generated<string | null>;
  /** When the last audio reached the recorder that let the event go: where a wall-clock gap starts. */
  last_audio_at: Generated<string | null>;
  /** The last process that took the lease (kept after it lets go), and how many times another one took the event from a previous holder. */
  recorded_by: Generated<string | null>;
  takeovers: Generated<number>;
}

export interface RecorderTables {
  sessions: SessionsTable;
  chunks: ChunksTable;
  capture_state: CaptureStateTable;
  capture_replicas: ReplicasTable;
}

/**
 * Where an HLS segment was placed, checked when it is registered: the
 * event's last chunk must still be the one it was placed after, and the gap
 * and new run its placement implies are written with it, or none of it is.
 */
export interface PlacementGuard {
  afterSeq: number | null;
  gap?: { startSec: number; endSec: number; reason: string };
  run?: { no: number; startSec: number };
}

/** An HLS segment arrived after its event ended: it is not archived. */
export class EventEndedError extends Error {
  /** The object uploaded for it. */
  key?: string;
}

/** Another recorder archived a chunk after the one a segment was placed after: place it again. */
export class PlacementChangedError extends Error {
  /** The object uploaded for the segment that was not registered. */
  key?: string;
}

export interface SessionRow {
  eventId: string;
  no: number;
  timelineStartSec: number;
  startedAt: string;
  pid: number | null;
  closedAt: string | null;
}

export interface ChunkRow {
  eventId: string;
  seq: number;
  sessionNo: number;
  spoolName: string;
  startSec: number;
  durationSec: number;
  bytes: number;
  sha256: string;
  key: string;
  state: ChunkState;
  createdAt: string;
}

/** HLS progress as saved: the reader's state plus where the current session started counting. */
export interface SavedHls extends HlsState {
  sessionNo: number;
  /** deliveredSec when the session opened: deliveredSec - baseSec is what the session was given. */
  baseSec: number;
}

const now = () => new Date().toISOString();

const toSession = (r: Selectable<SessionsTable>): SessionRow => ({
  eventId: r.event_id,
  no: r.no,
  timelineStartSec: r.timeline_start_sec,
  startedAt: r.started_at,
  pid: r.pid,
  closedAt: r.closed_at,
});

const toChunk = (r: Selectable<ChunksTable>): ChunkRow => ({
  eventId: r.event_id,
  seq: r.seq,
  sessionNo: r.session_no,
  spoolName: r.spool_name,
  startSec: r.start_sec,
  durationSec: r.duration_sec,
  bytes: r.bytes,
  sha256: r.sha256,
  key: r.key,
  state: r.state,
  createdAt: r.created_at,
});

export class CaptureStore {
  private readonly db: Kysely<RecorderTables & CatalogTables>;
  /** Chunk registrations and queue marks, one commit per batch on SQLite (group-commit.ts). */
  private readonly writes: GroupCommit<RecorderTables & CatalogTables>;

  constructor(db: Db) {
    this.db = db.as<RecorderTables & CatalogTables>();
    this.writes = new GroupCommit(this.db, db.dialect === 'sqlite');
  }

  /** Forgets a deleted event: its capture sessions, chunks and capture state. */
  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['sessions', 'chunks', 'capture_state', 'capture_replicas'], eventId);
  }

  // ---- capture sessions

  async openSession(eventId: string, timelineStartSec: number): Promise<SessionRow> {
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('sessions')
        .select((eb) => eb.fn.max('no').as('n'))
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      const no = Number(last?.n ?? 0) + 1;
      const row = { event_id: eventId, no, timeline_start_sec: timelineStartSec, started_at: now(), pid: null, closed_at: null };
      await trx.insertInto('sessions').values(row).execute();
      return toSession(row);
    });
  }

  async setSessionPid(eventId: string, no: number, pid: number | null): Promise<void> {
    await this.db.updateTable('sessions').set({ pid }).where('event_id', '=', eventId).where('no', '=', no).execute();
  }

  async closeSession(eventId: string, no: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set((eb) => ({ closed_at: eb.fn.coalesce('closed_at', eb.val(now())), pid: null }))
      .where('event_id', '=', eventId)
      .where('no', '=', no)
      .execute();
  }

  /** The highest session or run number the event used so far (0: none). */
  async lastSessionNo(eventId: string): Promise<number> {
    const r = await this.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.max('no').as('n'))
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async sessions(eventId: string): Promise<SessionRow[]> {
    return (await this.db.selectFrom('sessions').selectAll().where('event_id', '=', eventId).orderBy('no').execute()).map(toSession);
  }

  // ---- chunks

  /**
   * Records an archived chunk, and counts it on the event row, in one
   * transaction. Idempotent on (event, spool file): a chunk archived before a
   * crash keeps its sequence number when registered again.
   */
  async addChunk(c: Omit<ChunkRow, 'seq' | 'state' | 'createdAt'>, guard?: PlacementGuard): Promise<ChunkRow> {
    try {
      return await this.insertChunk(c, guard);
    } catch (err) {
      // Two recorders registering one media segment at once: the first row stands.
      const known = await this.chunkBySpoolName(c.eventId, c.spoolName);
      if (known) return known;
      // Two recorders placing different segments after the same chunk: the later one places again.
      if (guard && !(err instanceof PlacementChangedError) && !(err instanceof EventEndedError)) throw new PlacementChangedError((err as Error).message);
      throw err;
    }
  }

  private insertChunk(c: Omit<ChunkRow, 'seq' | 'state' | 'createdAt'>, guard?: PlacementGuard): Promise<ChunkRow> {
    return this.writes.run(async (trx) => {
      const existing = await trx.selectFrom('chunks').selectAll().where('event_id', '=', c.eventId).where('spool_name', '=', c.spoolName).executeTakeFirst();
      if (existing) return toChunk(existing);
      // The event row first: on PostgreSQL its row lock makes registrations of one event take turns (and
      // waits for an end being written), so what is read next is what the others committed.
      const endSec = c.startSec + c.durationSec;
      const counted = await trx
        .updateTable('events')
        .set((eb) => ({
          captured_sec: eb('captured_sec', '+', c.durationSec),
          chunk_count: eb('chunk_count', '+', 1),
          timeline_sec: eb.case().when('timeline_sec', '<', endSec).then(endSec).else(eb.ref('timeline_sec')).end(),
        }))
        .where('id', '=', c.eventId)
        // A segment fetched by a replica after the primary ended the event is not part of the recording.
        .$if(!!guard, (q) => q.where('status', '=', 'live'))
        .executeTakeFirst();
      if (guard && !Number(counted.numUpdatedRows)) throw new EventEndedError(`event ${c.eventId} is no longer live`);
      const last = await trx
        .selectFrom('chunks')
        .select((eb) => eb.fn.max('seq').as('n'))
        .where('event_id', '=', c.eventId)
        .executeTakeFirst();
      const lastSeq = last?.n === null || last?.n === undefined ? null : Number(last.n);
      // (Where the row lock does not serialize, a concurrent registration after the same chunk takes the same seq: the primary key lets one through.)
      if (guard && guard.afterSeq !== lastSeq) throw new PlacementChangedError(`the event's last chunk is ${lastSeq}, not ${guard.afterSeq}`);
      if (guard?.run) {
        await trx
          .insertInto('sessions')
          .values({ event_id: c.eventId, no: guard.run.no, timeline_start_sec: guard.run.startSec, started_at: now(), pid: null, closed_at: now() })
          .onConflict((oc) => oc.columns(['event_id', 'no']).doNothing())
          .execute();
      }
      if (guard?.gap) await insertGap<RecorderTables & CatalogTables>(trx, { eventId: c.eventId, ...guard.gap });
      const row: Selectable<ChunksTable> = {
        event_id: c.eventId,
        seq: lastSeq === null ? 0 : lastSeq + 1,
        session_no: c.sessionNo,
        spool_name: c.spoolName,
        start_sec: c.startSec,
        duration_sec: c.durationSec,
        bytes: c.bytes,
        sha256: c.sha256,
        key: c.key,
        state: 'archived',
        created_at: now(),
      };
      await trx.insertInto('chunks').values(row).execute();
      return toChunk(row);
    });
  }

  async chunkBySpoolName(eventId: string, spoolName: string): Promise<ChunkRow | undefined> {
    const r = await this.db.selectFrom('chunks').selectAll().where('event_id', '=', eventId).where('spool_name', '=', spoolName).executeTakeFirst();
    return r ? toChunk(r) : undefined;
  }

  /** The event's last archived chunk (highest sequence number). */
  async lastChunk(eventId: string): Promise<ChunkRow | undefined> {
    const r = await this.db.selectFrom('chunks').selectAll().where('event_id', '=', eventId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r ? toChunk(r) : undefined;
  }

  async markChunkQueued(eventId: string, seq: number): Promise<void> {
    await this.writes.run((trx) => trx.updateTable('chunks').set({ state: 'queued' }).where('event_id', '=', eventId).where('seq', '=', seq).execute());
  }

  async chunks(eventId: string): Promise<ChunkRow[]> {
    return (await this.db.selectFrom('chunks').selectAll().where('event_id', '=', eventId).orderBy('seq').execute()).map(toChunk);
  }

  /** Chunks archived but not yet handed to the queue (Redis was away, or the process died in between). */
  async unqueuedChunks(limit = 500): Promise<ChunkRow[]> {
    const rows = await this.db.selectFrom('chunks').selectAll().where('state', '=', 'archived').orderBy('event_id').orderBy('seq').limit(limit).execute();
    return rows.map(toChunk);
  }

  async sessionChunks(eventId: string, sessionNo: number): Promise<ChunkRow[]> {
    const rows = await this.db.selectFrom('chunks').selectAll().where('event_id', '=', eventId).where('session_no', '=', sessionNo).orderBy('seq').execute();
    return rows.map(toChunk);
  }

  /** Chunks archived by versions that kept the source archive beside the public objects (not under `private/`). */
  async chunksOutsidePrivate(limit = 500): Promise<ChunkRow[]> {
    const rows = await this.db.selectFrom('chunks').selectAll().where('key', 'not like', 'private/%').orderBy('event_id').orderBy('seq').limit(limit).execute();
    return rows.map(toChunk);
  }

  async setChunkKey(eventId: string, seq: number, key: string): Promise<void> {
    await this.db.updateTable('chunks').set({ key }).where('event_id', '=', eventId).where('seq', '=', seq).execute();
  }

  // ---- per-event capture state

  async hlsState(eventId: string): Promise<SavedHls | undefined> {
    const r = await this.db.selectFrom('capture_state').select('hls_json').where('event_id', '=', eventId).executeTakeFirst();
    return r?.hls_json ? (JSON.parse(r.hls_json) as SavedHls) : undefined;
  }

  async saveHlsState(eventId: string, s: SavedHls): Promise<void> {
    const hls_json = JSON.stringify(s);
    await this.db
      .insertInto('capture_state')
      .values({ event_id: eventId, hls_json })
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ hls_json }))
      .execute();
  }

  async markEndEnqueued(eventId: string): Promise<void> {
    await this.writes.run((trx) =>
      trx
        .insertInto('capture_state')
        .values({ event_id: eventId, hls_json: null, end_enqueued: 1 })
        .onConflict((oc) => oc.column('event_id').doUpdateSet({ end_enqueued: 1 }))
        .execute(),
    );
  }

  // ---- who records an event (lease.ts)

  /**
   * Takes the event's capture lease for `holder` when nobody holds it, its
   * holder's lease lapsed, or `holder` holds it already; a holder that
   * released it for a handover leaves it to the process that asked.
   */
  async acquire(eventId: string, holder: string, leaseMs: number): Promise<boolean> {
    // One transaction (shared with other writes on SQLite): a thousand recordings starting at once are not two thousand commits.
    return this.writes.run((trx) => this.acquireIn(trx, eventId, holder, leaseMs));
  }

  private async acquireIn(trx: Transaction<RecorderTables & CatalogTables>, eventId: string, holder: string, leaseMs: number): Promise<boolean> {
    const now = new Date();
    await trx
      .insertInto('capture_state')
      .values({ event_id: eventId, hls_json: null })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
    const r = await trx
      .updateTable('capture_state')
      .set({
        holder,
        lease_until: new Date(now.getTime() + leaseMs).toISOString(),
        handover_to: null,
        recorded_by: holder,
        takeovers: sql<number>`takeovers + CASE WHEN recorded_by IS NOT NULL AND recorded_by <> ${holder} THEN 1 ELSE 0 END`,
      })
      .where('event_id', '=', eventId)
      .where((eb) =>
        eb.or([
          eb.and([eb('holder', 'is', null), eb.or([eb('handover_to', 'is', null), eb('handover_to', '=', holder)])]),
          eb('holder', '=', holder),
          eb('lease_until', '<', now.toISOString()),
        ]),
      )
      // A process that records the event as a replica (replica-leases.ts) does not take its primary place too.
      .where(
        sql<boolean>`NOT EXISTS (SELECT 1 FROM capture_replicas r WHERE r.event_id = ${eventId} AND r.holder = ${holder} AND r.lease_until > ${now.toISOString()})`,
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Extends every lease `holder` has, in one statement, and reads back, in one
   * query, what it holds: with who asked for a handover and whether an end
   * was requested (by any process).
   */
  async renewAll(holder: string, leaseMs: number): Promise<{ eventId: string; handoverTo: string | null; endRequested: boolean }[]> {
    await this.db
      .updateTable('capture_state')
      .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
      .where('holder', '=', holder)
      .execute();
    const rows = await this.db
      .selectFrom('capture_state')
      .innerJoin('events', 'events.id', 'capture_state.event_id')
      .select(['capture_state.event_id', 'capture_state.handover_to', 'events.end_requested_at'])
      .where('capture_state.holder', '=', holder)
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, handoverTo: r.handover_to, endRequested: r.end_requested_at !== null }));
  }

  /** Lets the event go, noting when its last audio arrived. */
  async release(eventId: string, holder: string, lastAudioAt: string | null): Promise<void> {
    // Grouped on SQLite: a thousand events ending together (their source's ENDLIST) are not a thousand commits.
    await this.writes.run((trx) =>
      trx
        .updateTable('capture_state')
        .set((eb) => ({ holder: null, lease_until: null, last_audio_at: lastAudioAt ?? eb.ref('last_audio_at') }))
        .where('event_id', '=', eventId)
        .where('holder', '=', holder)
        .execute(),
    );
  }

  /** Asks the event's holder to hand it over to `holder` (a push arrived there). */
  async requestHandover(eventId: string, holder: string): Promise<void> {
    await this.db.updateTable('capture_state').set({ handover_to: holder }).where('event_id', '=', eventId).execute();
  }

  /** Who records each event now (a lease that has not lapsed), and how many takeovers it had. */
  async holdersOf(eventIds: string[]): Promise<Map<string, { holder: string | null; takeovers: number }>> {
    if (!eventIds.length) return new Map();
    const now = new Date().toISOString();
    const rows = await this.db
      .selectFrom('capture_state')
      .select(['event_id', 'holder', 'lease_until', 'takeovers'])
      .where('event_id', 'in', eventIds)
      .execute();
    return new Map(rows.map((r) => [r.event_id, { holder: r.lease_until && r.lease_until > now ? r.holder : null, takeovers: r.takeovers }]));
  }

  async lease(eventId: string): Promise<{ holder: string | null; leaseUntil: string | null; lastAudioAt: string | null }> {
    const r = await this.db.selectFrom('capture_state').select(['holder', 'lease_until', 'last_audio_at']).where('event_id', '=', eventId).executeTakeFirst();
    return { holder: r?.holder ?? null, leaseUntil: r?.lease_until ?? null, lastAudioAt: r?.last_audio_at ?? null };
  }

  /** Live events nobody records: no holder, or a lapsed lease (its process died). */
  async unheldLive(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('events')
      .leftJoin('capture_state', 'capture_state.event_id', 'events.id')
      .select('events.id')
      .where('events.status', '=', 'live')
      .where((eb) => eb.or([eb('capture_state.holder', 'is', null), eb('capture_state.lease_until', '<', new Date().toISOString())]))
      .orderBy('events.created_at')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Live events `holder` holds (after a restart: the ones it recorded before). */
  async heldBy(holder: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('events')
      .innerJoin('capture_state', 'capture_state.event_id', 'events.id')
      .select('events.id')
      .where('events.status', '=', 'live')
      .where('capture_state.holder', '=', holder)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Events no longer live whose end has not reached the queue (Redis was away at that moment). */
  async endsNotEnqueued(limit = 1000): Promise<string[]> {
    const rows = await this.db
      .selectFrom('events')
      .leftJoin('capture_state', 'capture_state.event_id', 'events.id')
      .select('events.id')
      .where('events.status', '!=', 'live')
      .where((eb) => eb.or([eb('capture_state.end_enqueued', 'is', null), eb('capture_state.end_enqueued', '=', 0)]))
      .orderBy('events.created_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}

interface LegacyKv {
  kv: { k: string; v: string };
}

export const recorderMigrations: Migrations = {
  '2026-11-01-recorder-1': {
    async up(db) {
      await db.schema
        .createTable('sessions')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('no', 'integer', (c) => c.notNull())
        .addColumn('timeline_start_sec', 'double precision', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('closed_at', 'text')
        .addPrimaryKeyConstraint('sessions_pk', ['event_id', 'no'])
        .execute();
      await db.schema
        .createTable('chunks')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('session_no', 'integer', (c) => c.notNull())
        .addColumn('spool_name', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('duration_sec', 'double precision', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('chunks_pk', ['event_id', 'seq'])
        .addUniqueConstraint('chunks_spool_name', ['event_id', 'spool_name'])
        .execute();
    },
  },
  '2026-12-01-recorder-2': {
    async up(db) {
      await db.schema
        .createTable('capture_state')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('hls_json', 'text')
        .addColumn('end_enqueued', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('holder', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('handover_to', 'text')
        .addColumn('last_audio_at', 'text')
        .execute();
      await db.schema.createIndex('chunks_unqueued').ifNotExists().on('chunks').columns(['state', 'event_id', 'seq']).execute();
      // The key-value rows of earlier versions (hls:<id>, ended-queued:<id>) move here.
      const kv = db as Kysely<LegacyKv & RecorderTables>;
      for (const { k, v } of await kv
        .selectFrom('kv')
        .selectAll()
        .where((eb) => eb.or([eb('k', 'like', 'hls:%'), eb('k', 'like', 'ended-queued:%')]))
        .execute()) {
        const hls = k.startsWith('hls:');
        const eventId = k.slice(k.indexOf(':') + 1);
        await kv
          .insertInto('capture_state')
          .values({ event_id: eventId, hls_json: hls ? v : null, end_enqueued: hls ? 0 : 1 })
          .onConflict((oc) => oc.column('event_id').doUpdateSet(hls ? { hls_json: v } : { end_enqueued: 1 }))
          .execute();
      }
      // The counters the event row now keeps (added by the catalog's migration before this one), from the chunks archived so far.
      const all = db as Kysely<RecorderTables & CatalogTables>;
      const sums = await all
        .selectFrom('chunks')
        .select((eb) => [
          'event_id',
          eb.fn.sum<number>('duration_sec').as('captured'),
          eb.fn.max(eb('start_sec', '+', eb.ref('duration_sec'))).as('timeline'),
          eb.fn.countAll<number>().as('n'),
        ])
        .groupBy('event_id')
        .execute();
      for (const s of sums) {
        await all
          .updateTable('events')
          .set({ captured_sec: Number(s.captured), timeline_sec: Number(s.timeline), chunk_count: Number(s.n) })
          .where('id', '=', s.event_id)
          .execute();
      }
    },
  },
  '2026-12-05-recorder-3': {
    async up(db) {
      await db.schema.alterTable('capture_state').addColumn('recorded_by', 'text').execute();
      await db.schema
        .alterTable('capture_state')
        .addColumn('takeovers', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE capture_state SET recorded_by = holder`.execute(db);
    },
  },
};
