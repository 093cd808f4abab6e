// The search index's tables and their migrations (the publisher owns them):
//
//   search_segments  one row per transcript segment, its id the full-text
//                    row's id, so a hit maps to an event and its seconds
//   search_events    per event: how many segments are indexed, and its
//                    filter keys
//   search_fts       SQLite only: the FTS5 index (contentless) of each
//                    segment's normalized words and filter tags
//
// On PostgreSQL the words are a tsvector column with a GIN index (on the
// host and the words) instead, and search_segments is split in partitions by
// id (search/partitions.ts).
// Both are fed the same normalized tokens (search/tokens.ts), so both find
// the same hits.
import { PostgresAdapter, sql, type Generated, type Kysely } from 'kysely';
import type { Migrations } from '../../shared/db/migrate.ts';
import { coverIds, PARTITION_ROWS, SEGMENT_ID_SEQUENCE } from './partitions.ts';

export interface SearchSegmentsTable {
  /** Ascending in the order rows are written, never reused: date order, and a snapshot is `id <= n`. PostgreSQL: the partition key. */
  id: Generated<number>;
  event_id: string;
  start_sec: number;
  end_sec: number;
  text: string;
  speaker: string | null;
  /** [[startSec, endSec, text], ...] when the transcript has word timings. */
  words_json: string | null;
  /** PostgreSQL only (filter keys beside the tsvector; SQLite keeps them as FTS5 tags). */
  host_key?: string | null;
  day?: string;
}

export interface SearchEventsTable {
  event_id: string;
  /** Segments indexed. */
  segments: number;
  host_key: string | null;
  /** The event's date, YYYY-MM-DD (UTC). */
  day: string;
  updated_at: string;
}

export interface SearchTables {
  search_segments: SearchSegmentsTable;
  search_events: SearchEventsTable;
}

const isPostgres = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

export const searchMigrations: Migrations = {
  '2026-12-03-search-1': {
    async up(db: Kysely<unknown>) {
      const pg = isPostgres(db);
      await db.schema
        .createTable('search_events')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('segments', 'integer', (c) => c.notNull())
        .addColumn('host_key', 'text')
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      let segments = db.schema
        .createTable('search_segments')
        .ifNotExists()
        .addColumn('id', pg ? 'bigint' : 'integer', (c) => (pg ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement()))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('speaker', 'text')
        .addColumn('words_json', 'text');
      if (pg) {
        segments = segments
          .addColumn('tsv', sql`tsvector`, (c) => c.notNull())
          .addColumn('host_key', 'text')
          .addColumn('day', 'text', (c) => c.notNull());
      }
      await segments.execute();
      await db.schema.createIndex('search_segments_event').ifNotExists().on('search_segments').columns(['event_id', 'start_sec']).execute();
      if (pg) {
        await sql`CREATE INDEX IF NOT EXISTS search_segments_tsv ON search_segments USING gin (tsv)`.execute(db);
        await db.schema.createIndex('search_segments_host').ifNotExists().on('search_segments').columns(['host_key', 'id']).execute();
        await db.schema.createIndex('search_segments_day').ifNotExists().on('search_segments').columns(['day', 'id']).execute();
      } else {
        // Contentless (the text is in search_segments): the index holds only what it needs to match.
        // 'ascii' splits the normalized tokens on spaces and nothing else; prefixes of 2 and 3 are indexed for `word*`.
        // `pairs` holds every two neighbouring words as one term, which phrases are looked up by.
        await sql`CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(tokens, pairs, tags, content='', contentless_delete=1, tokenize='ascii', prefix='2 3')`.execute(
          db,
        );
      }
    },
  },
  '2026-12-05-search-2': {
    /** PostgreSQL: search_segments becomes a table partitioned by id, its rows and ids kept. */
    async up(db: Kysely<unknown>) {
      if (!isPostgres(db)) return;
      const max = await sql<{ n: number | null }>`SELECT max(id) AS n FROM search_segments`.execute(db);
      const maxId = Number(max.rows[0]?.n ?? 0);
      const columns = sql.raw('id, event_id, start_sec, end_sec, text, speaker, words_json, tsv, host_key, day');
      await sql`CREATE SEQUENCE ${sql.id(SEGMENT_ID_SEQUENCE)} AS bigint`.execute(db);
      await sql`CREATE TABLE search_segments_by_id (
          id bigint NOT NULL DEFAULT nextval(${sql.lit(SEGMENT_ID_SEQUENCE)}::regclass),
          event_id text NOT NULL,
          start_sec double precision NOT NULL,
          end_sec double precision NOT NULL,
          text text NOT NULL,
          speaker text,
          words_json text,
          tsv tsvector NOT NULL,
          host_key text,
          day text NOT NULL,
          CONSTRAINT search_segments_by_id_pkey PRIMARY KEY (id)
        ) PARTITION BY RANGE (id)`.execute(db);
      await coverIds(db, 'search_segments_by_id', 0, maxId + 1 + PARTITION_ROWS);
      await sql`INSERT INTO search_segments_by_id (${columns}) SELECT ${columns} FROM search_segments ORDER BY id`.execute(db);
      if (maxId > 0) await sql`SELECT setval(${SEGMENT_ID_SEQUENCE}::regclass, ${maxId})`.execute(db);
      await sql`DROP TABLE search_segments`.execute(db);
      await sql`ALTER TABLE search_segments_by_id RENAME TO search_segments`.execute(db);
      await sql`ALTER TABLE search_segments RENAME CONSTRAINT search_segments_by_id_pkey TO search_segments_pkey`.execute(db);
      await sql`ALTER SEQUENCE ${sql.id(SEGMENT_ID_SEQUENCE)} OWNED BY search_segments.id`.execute(db);
      // Indexes on the parent: PostgreSQL builds them on every partition, and on each one attached later.
      await db.schema.createIndex('search_segments_event').on('search_segments').columns(['event_id', 'start_sec']).execute();
      await sql`CREATE INDEX search_segments_tsv ON search_segments USING gin (tsv)`.execute(db);
      await db.schema.createIndex('search_segments_host').on('search_segments').columns(['host_key', 'id']).execute();
      await db.schema.createIndex('search_segments_day').on('search_segments').columns(['day', 'id']).execute();
    },
  },
  '2026-12-07-search-3': {
    /**
     * PostgreSQL: the words' GIN index also holds the host (btree_gin, a
     * trusted contrib extension). A word by host was a BitmapAnd of the word's
     * GIN bitmap and the host's btree bitmap, each read whole in every
     * partition walked; in one GIN index the two posting lists are walked
     * together, each skipping to the other's next row. A query without a host
     * reads the tsv entries alone, as it did from the old index.
     */
    async up(db: Kysely<unknown>) {
      if (!isPostgres(db)) return;
      await sql`CREATE EXTENSION IF NOT EXISTS btree_gin`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS search_segments_host_tsv ON search_segments USING gin (host_key, tsv)`.execute(db);
      await sql`DROP INDEX IF EXISTS search_segments_tsv`.execute(db);
    },
  },
};
