// The shared catalog's migrations. The first is the schema of the versions
// that created tables at start (CREATE TABLE IF NOT EXISTS), so their SQLite
// catalogs are taken over as they are; later ones change it.
import { sql, type Kysely } from 'kysely';
import type { Migrations } from '../db/migrate.ts';

/** Adds a column unless the table has it (catalogs of earlier versions differ in which columns they have). */
export async function addColumnIfMissing(
  db: Kysely<unknown>,
  table: string,
  column: string,
  type: 'text' | 'integer' | 'double precision',
  defaultValue?: number,
): Promise<void> {
  const tables = await db.introspection.getTables();
  if (tables.find((t) => t.name === table)?.columns.some((c) => c.name === column)) return;
  await db.schema
    .alterTable(table)
    .addColumn(column, type, (c) => (defaultValue === undefined ? c : c.notNull().defaultTo(defaultValue)))
    .execute();
}

export const catalogMigrations: Migrations = {
  '2026-11-01-catalog-1': {
    async up(db) {
      await db.schema
        .createTable('events')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('host', 'text')
        .addColumn('source_json', 'text', (c) => c.notNull())
        .addColumn('stream_key_hash', 'text')
        .addColumn('reconnect_window_sec', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('end_requested_at', 'text')
        .addColumn('end_reason', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createTable('gaps')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('gaps_pk', ['event_id', 'start_sec'])
        .execute();
      await db.schema
        .createTable('failures')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision')
        .addColumn('end_sec', 'double precision')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      // The key-value table of earlier versions: its rows move to the stages' own tables (then it is dropped).
      await db.schema
        .createTable('kv')
        .ifNotExists()
        .addColumn('k', 'text', (c) => c.primaryKey())
        .addColumn('v', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '2026-12-01-catalog-2': {
    async up(db) {
      await addColumnIfMissing(db, 'events', 'host', 'text');
      await addColumnIfMissing(db, 'events', 'owner', 'text');
      await addColumnIfMissing(db, 'events', 'captured_sec', 'double precision', 0);
      await addColumnIfMissing(db, 'events', 'timeline_sec', 'double precision', 0);
      await addColumnIfMissing(db, 'events', 'chunk_count', 'integer', 0);
      await db.schema.createIndex('events_by_status').ifNotExists().on('events').columns(['status', 'owner']).execute();
      await db.schema.createIndex('events_by_created').ifNotExists().on('events').column('created_at').execute();
      await db.schema.createIndex('failures_by_event').ifNotExists().on('failures').columns(['event_id', 'at']).execute();
    },
  },
  '2026-12-02-catalog-3': {
    async up(db) {
      // Every stage has moved its rows out (their migrations sort before this one).
      await sql`DROP TABLE IF EXISTS kv`.execute(db);
    },
  },
  '2026-12-04-catalog-4': {
    async up(db) {
      await addColumnIfMissing(db, 'events', 'purged_at', 'text');
    },
  },
};
