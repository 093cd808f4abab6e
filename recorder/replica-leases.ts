// Redundant capture: the extra recorders of an HLS event. An event created
// with `redundancy: n` has n - 1 replica slots besides its primary lease
// (capture_state): each is held by one recorder process through a lease of
// its own, and no process holds two places of one event, so n processes
// fetch the same playlist. They archive into one timeline: each media
// sequence once, whoever fetched it first (archiver.ts), so any of them may
// die with nothing lost and nothing twice.
import { sql, type Kysely } from 'kysely';
import type { CatalogTables } from '../shared/catalog/tables.ts';
import type { Db } from '../shared/db/database.ts';
import type { Migrations } from '../shared/db/migrate.ts';

export interface ReplicasTable {
  event_id: string;
  slot: number;
  holder: string | null;
  lease_until: string | null;
  recorded_by: string | null;
  takeovers: number;
}

interface Tables {
  capture_replicas: ReplicasTable;
}

export class ReplicaLeases {
  private readonly db: Kysely<Tables & CatalogTables>;

  constructor(db: Db) {
    this.db = db.as<Tables & CatalogTables>();
  }

  /** Gives a new event `count` replica slots (1, 2, ...), held by nobody yet. */
  async addSlots(eventId: string, count: number): Promise<number[]> {
    const slots = Array.from({ length: count }, (_, i) => i + 1);
    if (!slots.length) return [];
    await this.db
      .insertInto('capture_replicas')
      .values(slots.map((slot) => ({ event_id: eventId, slot, holder: null, lease_until: null, recorded_by: null, takeovers: 0 })))
      .onConflict((oc) => oc.columns(['event_id', 'slot']).doNothing())
      .execute();
    return slots;
  }

  /** A slot that can never be recorded (the source is not HLS): taken out, so nobody waits for it. */
  async dropSlot(eventId: string, slot: number): Promise<void> {
    await this.db.deleteFrom('capture_replicas').where('event_id', '=', eventId).where('slot', '=', slot).execute();
  }

  /** Takes a slot for `holder` when it is free or lapsed, unless `holder` records the event in another place already. */
  async acquire(eventId: string, slot: number, holder: string, leaseMs: number): Promise<boolean> {
    const now = new Date().toISOString();
    const r = await this.db
      .updateTable('capture_replicas')
      .set({
        holder,
        lease_until: new Date(Date.now() + leaseMs).toISOString(),
        recorded_by: holder,
        takeovers: sql<number>`takeovers + CASE WHEN recorded_by IS NOT NULL AND recorded_by <> ${holder} THEN 1 ELSE 0 END`,
      })
      .where('event_id', '=', eventId)
      .where('slot', '=', slot)
      .where((eb) => eb.or([eb('holder', 'is', null), eb('holder', '=', holder), eb('lease_until', '<', now)]))
      // One place of an event per process: not while it holds the primary lease or another replica place.
      .where(sql<boolean>`NOT EXISTS (SELECT 1 FROM capture_state c WHERE c.event_id = ${eventId} AND c.holder = ${holder} AND c.lease_until > ${now})`)
      .where(
        sql<boolean>`NOT EXISTS (SELECT 1 FROM capture_replicas o WHERE o.event_id = ${eventId} AND o.slot <> ${slot} AND o.holder = ${holder} AND o.lease_until > ${now})`,
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Extends every slot `holder` has and says which it holds, with whether the event's end was requested. */
  async renewAll(holder: string, leaseMs: number): Promise<{ eventId: string; slot: number; endRequested: boolean; status: string }[]> {
    await this.db
      .updateTable('capture_replicas')
      .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
      .where('holder', '=', holder)
      .execute();
    const rows = await this.db
      .selectFrom('capture_replicas')
      .innerJoin('events', 'events.id', 'capture_replicas.event_id')
      .select(['capture_replicas.event_id', 'capture_replicas.slot', 'events.end_requested_at', 'events.status'])
      .where('capture_replicas.holder', '=', holder)
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, slot: r.slot, endRequested: r.end_requested_at !== null, status: r.status }));
  }

  async release(eventId: string, slot: number, holder: string): Promise<void> {
    await this.db
      .updateTable('capture_replicas')
      .set({ holder: null, lease_until: null })
      .where('event_id', '=', eventId)
      .where('slot', '=', slot)
      .where('holder', '=', holder)
      .execute();
  }

  /** Slots of live events nobody records (never taken, or their process died). */
  async unheld(): Promise<{ eventId: string; slot: number }[]> {
    const rows = await this.db
      .selectFrom('capture_replicas')
      .innerJoin('events', 'events.id', 'capture_replicas.event_id')
      .select(['capture_replicas.event_id', 'capture_replicas.slot'])
      .where('events.status', '=', 'live')
      .where((eb) => eb.or([eb('capture_replicas.holder', 'is', null), eb('capture_replicas.lease_until', '<', new Date().toISOString())]))
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, slot: r.slot }));
  }

  /** Each event's slots: who records it now (a lease that has not lapsed), and how many takeovers it had. */
  async slotsOf(eventIds: string[]): Promise<Map<string, { slot: number; holder: string | null; takeovers: number }[]>> {
    const out = new Map<string, { slot: number; holder: string | null; takeovers: number }[]>();
    if (!eventIds.length) return out;
    const now = new Date().toISOString();
    const rows = await this.db.selectFrom('capture_replicas').selectAll().where('event_id', 'in', eventIds).orderBy('slot').execute();
    for (const r of rows) {
      const list = out.get(r.event_id) ?? [];
      list.push({ slot: r.slot, holder: r.lease_until && r.lease_until > now ? r.holder : null, takeovers: r.takeovers });
      out.set(r.event_id, list);
    }
    return out;
  }
}

export const replicaMigrations: Migrations = {
  '2026-12-06-recorder-replicas': {
    async up(db) {
      await db.schema
        .createTable('capture_replicas')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('holder', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('recorded_by', 'text')
        .addColumn('takeovers', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('capture_replicas_pk', ['event_id', 'slot'])
        .execute();
    },
  },
};
