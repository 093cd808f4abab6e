// The publisher's migrations: its publications, what it was told about each
// event, and the webhook endpoints with their delivery log.
import { sql, type Kysely } from 'kysely';
import type { Migrations } from '../shared/db/migrate.ts';
import type { PublisherTables } from './publication-store.ts';

interface LegacyKv {
  kv: { k: string; v: string };
}

export const publisherMigrations: Migrations = {
  '2026-11-01-publisher-1': {
    async up(db) {
      await db.schema
        .createTable('publications')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('published_at', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'bigint', (c) => c.notNull())
        .addColumn('duration_sec', 'double precision', (c) => c.notNull())
        .addColumn('audio_bytes', 'bigint', (c) => c.notNull())
        .addColumn('transcript_status', 'text', (c) => c.notNull())
        .addColumn('transcript_revision', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('webhooks')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events_json', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('pending', 'delivered', 'failed')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema.createIndex('webhook_deliveries_by_endpoint').ifNotExists().on('webhook_deliveries').columns(['endpoint_id', 'created_at']).execute();
      await db.schema.createIndex('webhook_deliveries_by_status').ifNotExists().on('webhook_deliveries').column('status').execute();
    },
  },
  '2026-12-01-publisher-2': {
    async up(db) {
      await db.schema
        .createTable('publisher_inputs')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('rendition_ready_at', 'text')
        .addColumn('transcript_status', 'text', (c) => c.notNull())
        .addColumn('transcript_reason', 'text')
        .addColumn('transcript_revision', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('transcript_final', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // What earlier versions' transcriber kept in the key-value table (transcript:<id>) is what the publisher was told.
      const kv = db as Kysely<LegacyKv & PublisherTables>;
      for (const { k, v } of await kv.selectFrom('kv').selectAll().where('k', 'like', 'transcript:%').execute()) {
        const t = JSON.parse(v) as { status: PublisherTables['publisher_inputs']['transcript_status']; reason?: string | null; revision?: number };
        const final = t.status === 'complete' || t.status === 'unavailable' || t.status === 'failed';
        await kv
          .insertInto('publisher_inputs')
          .values({
            event_id: k.slice('transcript:'.length),
            rendition_ready_at: null,
            transcript_status: t.status,
            transcript_reason: t.reason ?? null,
            transcript_revision: t.revision ?? 0,
            transcript_final: final ? 1 : 0,
          })
          .onConflict((oc) => oc.column('event_id').doNothing())
          .execute();
      }
    },
  },
};
