// PostgreSQL's search_segments is split in partitions by id (so the newest
// matches of a word are read from the newest partition first). What must
// hold: rows of one write may straddle two partitions; the writer keeps a
// partition ahead of the ids; when another writer took the ids it made room
// for (or the sequence jumped), the write makes room and succeeds; two
// writers crossing a boundary together both succeed and add each partition
// once; and a catalog indexed before partitions keeps its rows and ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { MIGRATIONS } from '../cli/migrations.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { openDatabase, type Db } from '../shared/db/database.ts';
import { migrate } from '../shared/db/migrate.ts';
import { RedisSnapshotStore } from '../publisher/search/cursor.ts';
import { SearchIndexWriter } from '../publisher/search/index-writer.ts';
import { PARTITION_ROWS, SEGMENT_ID_SEQUENCE } from '../publisher/search/partitions.ts';
import { parseQuery } from '../publisher/search/query.ts';
import { SearchEngine } from '../publisher/search/search.ts';
import { freshPostgres } from './helpers/db.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';

const P = PARTITION_ROWS;
const PARTITIONING = '2026-12-05-search-2';

let redis: TcpRedis;
let client: Redis;
const dbs: { db: Db; drop(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await tcpRedis();
  client = new Redis({ port: redis.port, host: '127.0.0.1' });
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  for (const d of dbs) {
    await d.db.close();
    await d.drop();
  }
});

const urls = new WeakMap<Db, string>();

/** A fresh database, migrated (all of it, or without the partitioning). */
async function fresh(withoutPartitioning = false): Promise<Db> {
  const pg = await freshPostgres();
  const db = openDatabase({ url: pg.url, poolSize: 4 });
  dbs.push({ db, drop: () => pg.drop() });
  urls.set(db, pg.url);
  const sets = withoutPartitioning ? MIGRATIONS.map((set) => Object.fromEntries(Object.entries(set).filter(([name]) => name !== PARTITIONING))) : MIGRATIONS;
  await migrate(db, sets);
  return db;
}

const raw = (db: Db) => db.as<unknown>();

async function partitions(db: Db): Promise<number[]> {
  const r = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'search_segments'::regclass`.execute(raw(db));
  return r.rows.map((x) => Number(x.name.replace('search_segments_p', ''))).sort((a, b) => a - b);
}

const setSequence = (db: Db, value: number) => sql`SELECT setval(${SEGMENT_ID_SEQUENCE}::regclass, ${value})`.execute(raw(db));

async function addEvent(db: Db, id: string, day: string): Promise<{ id: string; host: string; createdAt: string }> {
  await new EventCatalog(db).createEvent({
    id,
    slug: id.replace(/_/g, '-'),
    title: `Title of ${id}`,
    host: 'Ann Lee',
    source: { type: 'push' },
    streamKeyHash: null,
    reconnectWindowSec: 10,
  });
  const createdAt = `${day}T12:00:00.000Z`;
  await (raw(db) as Kysely<{ events: { id: string; created_at: string; status: string } }>)
    .updateTable('events')
    .set({ created_at: createdAt, status: 'published' })
    .where('id', '=', id)
    .execute();
  return { id, host: 'Ann Lee', createdAt };
}

const lines = (word: string, n: number) => Array.from({ length: n }, (_, i) => ({ startSec: i * 5, endSec: i * 5 + 4, text: `${word} line number ${i}` }));

/** Every hit of a query by date, page after page: ids newest first. */
async function idsByDate(engine: SearchEngine, q: string): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.search({ query: parseQuery(q), filters: {}, sort: 'date', limit: 4, cursor });
    out.push(...page.hits.map((h) => h.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

const descending = (ids: number[]) => [...ids].sort((a, b) => b - a);

describe('search_segments partitions on PostgreSQL', () => {
  it('a fresh catalog starts with a partition ahead; a write across a boundary lands in both and makes the next one', async () => {
    const db = await fresh();
    expect(await partitions(db)).toEqual([0, 1]);
    await setSequence(db, P - 3);
    const ev = await addEvent(db, 'ev_straddle', '2026-06-01');
    const written = await new SearchIndexWriter(db).replaceAll(ev, lines('walrus', 10));
    expect([written.firstId, written.lastId]).toEqual([P - 2, P + 7]);
    expect(await partitions(db)).toEqual([0, 1, 2]);
    const engine = new SearchEngine(db, new RedisSnapshotStore(client, 'partitions-1'));
    const ids = await idsByDate(engine, 'walrus');
    expect(ids).toEqual(descending(Array.from({ length: 10 }, (_, i) => P - 2 + i)));
    const relevance = await engine.search({ query: parseQuery('walrus'), filters: {}, sort: 'relevance', limit: 20 });
    expect(relevance.hits.map((h) => h.id).sort()).toEqual([...ids].sort());
  });

  it('a write past every partition (another writer took the room, or the sequence jumped) makes room and succeeds', async () => {
    const db = await fresh();
    const writer = new SearchIndexWriter(db);
    const first = await addEvent(db, 'ev_before', '2026-06-01');
    await writer.replaceAll(first, lines('otter', 3));
    await setSequence(db, 10 * P + 5);
    const ev = await addEvent(db, 'ev_jump', '2026-06-02');
    const written = await writer.replaceAll(ev, lines('otter', 3));
    // The failed try used ids too (a sequence never gives one back): only that they are past the jump is certain.
    expect(written.firstId).toBeGreaterThan(10 * P + 5);
    const f = written.firstId!;
    // The holes between are never needed (ids only grow): only the partitions the ids reach, and one ahead.
    expect(await partitions(db)).toEqual([0, 1, 10, 11]);
    const engine = new SearchEngine(db, new RedisSnapshotStore(client, 'partitions-2'));
    expect(await idsByDate(engine, 'otter')).toEqual([f + 2, f + 1, f, 3, 2, 1]);
  });

  it('two writers crossing a boundary together both write everything, and each partition is added once', async () => {
    const db = await fresh();
    const other = openDatabase({ url: urls.get(db), poolSize: 4 });
    try {
      const events = [await addEvent(db, 'ev_one', '2026-06-01'), await addEvent(db, 'ev_two', '2026-06-02')];
      await setSequence(db, 2 * P - 50);
      // Each writer believes p2 is far off: neither made room for what the other takes.
      await Promise.all([
        new SearchIndexWriter(db).replaceAll(events[0], lines('heron', 60)),
        new SearchIndexWriter(other).replaceAll(events[1], lines('heron', 60)),
      ]);
      const engine = new SearchEngine(db, new RedisSnapshotStore(client, 'partitions-3'));
      const ids = await idsByDate(engine, 'heron');
      expect(ids).toHaveLength(120);
      expect(new Set(ids).size).toBe(120);
      expect(await partitions(db)).toEqual([0, 1, 2, 3]);
    } finally {
      await other.close();
    }
  });

  it('a catalog indexed before partitions keeps its rows and ids, and new ids follow on', async () => {
    const db = await fresh(true);
    const ev = await addEvent(db, 'ev_old', '2026-01-01');
    for (let i = 0; i < 5; i++) {
      await sql`INSERT INTO search_segments (event_id, start_sec, end_sec, text, speaker, words_json, tsv, host_key, day)
        VALUES (${ev.id}, ${i * 5}, ${i * 5 + 4}, ${`badger said ${i}`}, NULL, NULL, ${`'badger':1 'said':2 'badger·said':1`}::tsvector, NULL, '2026-01-01')`.execute(
        raw(db),
      );
    }
    await sql`INSERT INTO search_events (event_id, segments, host_key, day, updated_at) VALUES (${ev.id}, 5, NULL, '2026-01-01', '2026-01-01T00:00:00Z')`.execute(
      raw(db),
    );
    expect(await migrate(db, MIGRATIONS)).toEqual([PARTITIONING]);
    expect(await partitions(db)).toEqual([0, 1]);
    const engine = new SearchEngine(db, new RedisSnapshotStore(client, 'partitions-4'));
    expect(await idsByDate(engine, '"badger said"')).toEqual([5, 4, 3, 2, 1]);
    const next = await addEvent(db, 'ev_new', '2026-06-01');
    const written = await new SearchIndexWriter(db).replaceAll(next, lines('badger said', 2));
    expect(written.firstId).toBe(6);
    expect(await idsByDate(engine, '"badger said"')).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('a catalog whose ids already span several partitions moves every row, the low ones included', async () => {
    const db = await fresh(true);
    const ev = await addEvent(db, 'ev_wide', '2026-01-01');
    const ids = [1, P - 1, P + 3, 2 * P + 7];
    for (const id of ids) {
      await sql`INSERT INTO search_segments (id, event_id, start_sec, end_sec, text, speaker, words_json, tsv, host_key, day)
        OVERRIDING SYSTEM VALUE VALUES (${id}, ${ev.id}, ${id}, ${id + 4}, 'otter said', NULL, NULL, ${`'otter':1 'said':2 'otter·said':1`}::tsvector, NULL, '2026-01-01')`.execute(
        raw(db),
      );
    }
    expect(await migrate(db, MIGRATIONS)).toEqual([PARTITIONING]);
    expect(await partitions(db)).toEqual([0, 1, 2, 3]);
    const engine = new SearchEngine(db, new RedisSnapshotStore(client, 'partitions-5'));
    expect(await idsByDate(engine, '"otter said"')).toEqual([...ids].reverse());
  });
});
