// The transcoder's record of the live playlist's partial segments (LL-HLS
// #EXT-X-PART, live-parts.ts). Parts exist only while the event is live, near
// its live edge, so listeners need not wait for a whole 6 s segment; they are
// deleted once they fall out of the playlist and at the end.
//
//   rendition_parts   one row per part uploaded: segment k, part p, its frames
//                     and storage key (written after the object)
//   rendition_listed  one row per event: which parts the uploaded live
//                     playlist lists, so it is rewritten only when that changes
import type { Kysely } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import { deleteEventRows } from '../shared/db/forget.ts';
import type { Migrations } from '../shared/db/migrate.ts';

interface PartsTable {
  event_id: string;
  k: number;
  p: number;
  frames: number;
  key: string;
  bytes: number;
  created_at: string;
}

interface ListedTable {
  event_id: string;
  parts: string;
}

interface PartTables {
  rendition_parts: PartsTable;
  rendition_listed: ListedTable;
}

export interface PartRow {
  k: number;
  p: number;
  frames: number;
  key: string;
}

export class PartState {
  private readonly db: Kysely<PartTables>;

  constructor(db: Db) {
    this.db = db.as<PartTables>();
  }

  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['rendition_parts', 'rendition_listed'], eventId);
  }

  /** Parts of segments k >= fromK, in order. */
  async parts(eventId: string, fromK = 0): Promise<PartRow[]> {
    const rows = await this.db
      .selectFrom('rendition_parts')
      .select(['k', 'p', 'frames', 'key'])
      .where('event_id', '=', eventId)
      .where('k', '>=', fromK)
      .orderBy('k')
      .orderBy('p')
      .execute();
    return rows.map((r) => ({ k: r.k, p: r.p, frames: r.frames, key: r.key }));
  }

  /** Idempotent: a part made twice (a retried job, a second worker) keeps its first row, which names the same object. */
  async addPart(eventId: string, part: PartRow & { bytes: number }): Promise<void> {
    await this.db
      .insertInto('rendition_parts')
      .values({ event_id: eventId, k: part.k, p: part.p, frames: part.frames, key: part.key, bytes: part.bytes, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['event_id', 'k', 'p']).doNothing())
      .execute();
  }

  /** Forgets parts of segments k < beforeK (their objects were deleted), or all with undefined. */
  async dropParts(eventId: string, beforeK?: number): Promise<void> {
    let q = this.db.deleteFrom('rendition_parts').where('event_id', '=', eventId);
    if (beforeK !== undefined) q = q.where('k', '<', beforeK);
    await q.execute();
  }

  /** What the uploaded live playlist lists of the parts ('' when none). */
  async listed(eventId: string): Promise<string> {
    const r = await this.db.selectFrom('rendition_listed').select('parts').where('event_id', '=', eventId).executeTakeFirst();
    return r?.parts ?? '';
  }

  async markListed(eventId: string, parts: string): Promise<void> {
    await this.db
      .insertInto('rendition_listed')
      .values({ event_id: eventId, parts })
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ parts }))
      .execute();
  }
}

export const partMigrations: Migrations = {
  '2026-12-08-transcoder-parts-1': {
    async up(db) {
      await db.schema
        .createTable('rendition_parts')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('k', 'integer', (c) => c.notNull())
        .addColumn('p', 'integer', (c) => c.notNull())
        .addColumn('frames', 'integer', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rendition_parts_pk', ['event_id', 'k', 'p'])
        .execute();
      await db.schema
        .createTable('rendition_listed')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('parts', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
