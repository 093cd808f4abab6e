// Search benchmark: what full-text search costs as the archive grows, on both
// catalogs the service supports. The tests show the answers are right; this
// shows how long they take, how big the index gets and how fast it is built,
// at sizes no test reaches (the target is 10,000 hours of audio).
//
//   npm run bench:search -- [--hours 100] [--db sqlite,postgres] [--queries 200] [--live] [--json FILE]
//                           [--seed 1] [--word-timings] [--no-vacuum] [--explain] [--live-minutes 5]
//                           [--existing FILE|URL]  (one --db: query a catalog a run with the same --hours and --seed
//                                                   built and kept; the corpus is replayed without writing, for its queries)
//                           [--keep]  (keep the catalogs built, and say where, for --existing or a look by hand)
//                           [--walk window|partitions]  (PostgreSQL: how the newest matches are walked back to; `partitions`
//                                                        is the earlier way, whole partitions at a time, for comparison)
//
// For each database:
//   1. build: a synthetic corpus (bench/lib/zipf-corpus.ts: Zipf-distributed
//      made-up words at 150 words a minute, events of 30-120 minutes, ~200
//      hosts, ~3 years) written event by event through the real write path:
//      EventCatalog.createEvent (then created_at and status 'published' set
//      directly, as test/search.test.ts does) and SearchIndexWriter.replaceAll.
//      SQLite is a catalog file in a temp dir (WAL, synchronous=FULL, as the
//      service opens it); PostgreSQL a fresh database on the machine's server.
//      Reported: build time, segments and audio hours indexed per second, and
//      the index's size per hour of audio.
//   2. latency: --queries searches of each kind, by relevance and by date,
//      through SearchEngine.search with limit 20 as the API calls it (the
//      relevance rankings kept in a private redis-server): p50/p95/p99 and hit
//      counts per kind.
//   3. --live: the real service (`replay start`, a tiny random-weight whisper
//      model) on the catalog just built, fed a push event of espeak-ng speech
//      in real time; its replay_search_index_lag_seconds histogram says how
//      long a stitched window took to become searchable.
// Log lines go to stderr; a JSON result and a table per database to stdout.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect, sql, SqliteDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { MIGRATIONS } from '../cli/migrations.ts';
import { RedisSnapshotStore, type SearchSort } from '../publisher/search/cursor.ts';
import type { SearchFilters } from '../publisher/search/filters.ts';
import { SearchIndexWriter } from '../publisher/search/index-writer.ts';
import { PARTITION_WALK } from '../publisher/search/match-sql.ts';
import { parseQuery } from '../publisher/search/query.ts';
import { SearchEngine } from '../publisher/search/search.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { openDatabase, type Db, type DialectName } from '../shared/db/database.ts';
import { migrate } from '../shared/db/migrate.ts';
import { openSqlite } from '../shared/db/sqlite.ts';
import { makeTinyModel } from '../test/fixtures/tiny-model.ts';
import { freshPostgres } from '../test/helpers/db.ts';
import { pusher } from '../test/helpers/hostile.ts';
import { tcpRedis, type TcpRedis } from '../test/helpers/redis.ts';
import { ROOT, startService, type RunningService } from '../test/helpers/service.ts';
import { wavToAdtsArgs } from '../test/helpers/tone.ts';
import { Corpus, Rng, type CorpusEvent } from './lib/zipf-corpus.ts';
import { processTree, readStat } from './lib/proc-sampler.ts';

const USAGE =
  'usage: npm run bench:search -- [--hours 100] [--db sqlite,postgres] [--queries 200] [--live] [--json FILE] [--seed 1] [--word-timings] [--no-vacuum] [--explain] [--live-minutes 5] [--existing FILE|URL] [--keep] [--walk window|partitions]';
const { values: args } = parseArgs({
  options: {
    hours: { type: 'string', default: '100' },
    db: { type: 'string', default: 'sqlite,postgres' },
    queries: { type: 'string', default: '200' },
    live: { type: 'boolean', default: false },
    'live-minutes': { type: 'string', default: '5' },
    json: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'word-timings': { type: 'boolean', default: false },
    'no-vacuum': { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    existing: { type: 'string' },
    keep: { type: 'boolean', default: false },
    walk: { type: 'string', default: 'window' },
  },
  allowPositionals: false,
});
const HOURS = Number(args.hours);
const DBS = args.db.split(',').map((s) => s.trim()) as DialectName[];
const QUERIES = Number(args.queries);
const SEED = Number(args.seed);
const WALK = args.walk === 'partitions' ? PARTITION_WALK : undefined;
const LIVE_MINUTES = Number(args['live-minutes']);
if (
  !(HOURS > 0) ||
  !(QUERIES >= 1) ||
  !Number.isInteger(SEED) ||
  !(LIVE_MINUTES > 0) ||
  !DBS.length ||
  DBS.some((d) => d !== 'sqlite' && d !== 'postgres') ||
  (args.existing !== undefined && (DBS.length !== 1 || args.live)) ||
  (args.walk !== 'window' && args.walk !== 'partitions')
) {
  console.error(USAGE);
  process.exit(2);
}
/** Results per page, as the API's default. */
const LIMIT = 20;
/** The ranks a journalist searches for: names and topics, not "the". */
const TOPIC_RANKS = [100, 20_000] as const;
const COMMON_RANKS = [1, 100] as const;
const PAGES = [2, 5] as const;
const PROGRESS_MS = 10_000;

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - t0) / 1000)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => +(bytes / 1e6).toFixed(2);
const round = (x: number, digits = 2) => +x.toFixed(digits);

// ---- cleanup: what an interrupted run (Ctrl-C, a timeout's SIGTERM) must undo

const cleanups: { what: string; run: () => Promise<void> }[] = [];
/** Registers an undo step; the returned function runs it now (once) and forgets it. */
function onCleanup(what: string, run: () => Promise<void>): () => Promise<void> {
  const entry = { what, run };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await run();
  };
}
async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    await c.run().catch((e: Error) => log(`cleanup (${c.what}) failed: ${e.message}`));
  }
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: ${cleanups.map((c) => c.what).join(', ') || 'nothing to clean up'}`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

// ---- machine

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cores: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    ramGiB: round(os.totalmem() / 1024 ** 3, 1),
    kernel: os.release(),
    node: process.version,
    loadAvg: os.loadavg().map((x) => round(x)),
  };
}

// ---- the catalogs

interface Target {
  dialect: DialectName;
  db: Db;
  /** SQLite: the catalog file (in `dir`, the data dir --live starts the service on). */
  file?: string;
  dir?: string;
  /** PostgreSQL: the fresh database's URL. */
  url?: string;
  version: string;
  /** Closes our handle (the data stays, for --live). */
  close(): Promise<void>;
  /** Closes and removes everything. */
  destroy: () => Promise<void>;
}

/** A catalog built earlier and kept (--existing): queried, never changed or removed. */
async function openExisting(dialect: DialectName, where: string): Promise<Target> {
  const db = openDatabase(dialect === 'postgres' ? { url: where, poolSize: 4 } : { sqliteFile: where });
  let open = true;
  const close = async () => {
    if (open) await db.close();
    open = false;
  };
  onCleanup('close the existing catalog', close);
  const v = await sql<{ v: string }>`select ${dialect === 'postgres' ? sql`version()` : sql`'SQLite ' || sqlite_version()`} as v`.execute(db.as<unknown>());
  const version = v.rows[0].v.replace(/ on .*/, '');
  return {
    dialect,
    db,
    file: dialect === 'sqlite' ? where : undefined,
    dir: dialect === 'sqlite' ? path.dirname(where) : undefined,
    url: dialect === 'postgres' ? where : undefined,
    version,
    close,
    destroy: close,
  };
}

/** What ends a catalog built here: with --keep only closing it, else removing it (also on an interrupt). */
const keptOr = (what: string, close: () => Promise<void>, remove: () => Promise<void>) => (args.keep ? close : onCleanup(what, remove));

async function openTarget(dialect: DialectName, tmp: string): Promise<Target> {
  if (args.existing) return openExisting(dialect, args.existing);
  if (dialect === 'sqlite') {
    const dir = path.join(tmp, 'sqlite');
    const file = path.join(dir, 'catalog.sqlite');
    const db = openDatabase({ sqliteFile: file });
    let open = true;
    const close = async () => {
      if (open) await db.close();
      open = false;
    };
    const destroy = keptOr('close and remove the SQLite catalog', close, async () => {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await migrate(db, MIGRATIONS);
    const v = await sql<{ v: string }>`select sqlite_version() as v`.execute(db.as<unknown>());
    return { dialect, db, file, dir, version: `SQLite ${v.rows[0].v}`, close, destroy };
  }
  const fresh = await freshPostgres();
  const db = openDatabase({ url: fresh.url, poolSize: 4 });
  let open = true;
  const close = async () => {
    if (open) await db.close();
    open = false;
  };
  const destroy = keptOr(`drop the PostgreSQL database ${new URL(fresh.url).pathname.slice(1)}`, close, async () => {
    await close().catch(() => {});
    await fresh.drop();
  });
  await migrate(db, MIGRATIONS);
  const v = await sql<{ v: string }>`select version() as v`.execute(db.as<unknown>());
  return { dialect, db, url: fresh.url, version: v.rows[0].v.replace(/ on .*/, ''), close, destroy };
}

// ---- 1. build

/** A segment kept for picking queries that exist: its event and its words' ranks. */
interface Sample {
  event: number;
  ranks: Uint32Array;
}

interface EventMeta {
  host: string;
  createdAt: string;
}

interface BuildResult {
  events: number;
  segments: number;
  words: number;
  audioHours: number;
  /** From the first event to the last one written. */
  wallSec: number;
  /** Of which: making the corpus, the catalog rows, and SearchIndexWriter.replaceAll. */
  generateSec: number;
  catalogSec: number;
  indexSec: number;
  segmentsPerSec: number;
  audioHoursPerSec: number;
  /** The same over the whole wall time (corpus generation and catalog rows included). */
  segmentsPerWallSec: number;
  audioHoursPerWallSec: number;
  /** The slowest replaceAll of one event. */
  maxEventIndexMs: number;
  peakRssMB: number;
  /** PostgreSQL: VACUUM ANALYZE after the build (the server's autovacuum may be off). */
  vacuumSec?: number;
}

interface Built {
  result: BuildResult;
  samples: Sample[];
  events: EventMeta[];
}

async function build(t: Target, corpus: Corpus, reservoirSize: number): Promise<Built> {
  const catalog = new EventCatalog(t.db);
  const writer = new SearchIndexWriter(t.db);
  const raw = t.db.as<{ events: { id: string; created_at: string; status: string } }>();
  const rng = new Rng(SEED ^ 0x72657376);
  const samples: Sample[] = [];
  const events: EventMeta[] = [];
  let seen = 0;
  let segments = 0;
  let words = 0;
  let audioSec = 0;
  let generateMs = 0;
  let catalogMs = 0;
  let indexMs = 0;
  let maxEventIndexMs = 0;
  let peakRss = 0;
  const start = performance.now();
  let last = { at: start, sec: 0, segments: 0 };
  const it = corpus.events();
  for (;;) {
    const g = performance.now();
    const next = it.next();
    if (next.done) break;
    const ev: CorpusEvent = next.value;
    const c = performance.now();
    generateMs += c - g;
    if (!args.existing)
      await catalog.createEvent({
        id: ev.id,
        slug: ev.slug,
        title: ev.title,
        host: ev.host,
        source: { type: 'push' },
        streamKeyHash: null,
        reconnectWindowSec: 30,
      });
    if (!args.existing) await raw.updateTable('events').set({ created_at: ev.createdAt, status: 'published' }).where('id', '=', ev.id).execute();
    const w = performance.now();
    catalogMs += w - c;
    if (!args.existing) await writer.replaceAll({ id: ev.id, host: ev.host, createdAt: ev.createdAt }, ev.segments);
    const done = performance.now();
    indexMs += done - w;
    maxEventIndexMs = Math.max(maxEventIndexMs, done - w);
    events.push({ host: ev.host, createdAt: ev.createdAt });
    for (const s of ev.segments) {
      // Reservoir sampling: every segment of the corpus equally likely to be kept, in bounded memory.
      seen++;
      if (samples.length < reservoirSize) samples.push({ event: ev.index, ranks: s.ranks });
      else {
        const j = Math.floor(rng.next() * seen);
        if (j < reservoirSize) samples[j] = { event: ev.index, ranks: s.ranks };
      }
    }
    segments += ev.segments.length;
    words += ev.words;
    audioSec += ev.durationSec;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (done - last.at >= PROGRESS_MS) {
      const dt = (done - last.at) / 1000;
      log(
        `${t.dialect}: ${(audioSec / 3600).toFixed(1)}/${HOURS} h written (${events.length} events, ${segments} segments); ` +
          `last ${dt.toFixed(0)} s: ${((audioSec - last.sec) / 3600 / dt).toFixed(2)} audio h/s, ${((segments - last.segments) / dt).toFixed(0)} segments/s; ` +
          `index writes ${((indexMs / (done - start)) * 100).toFixed(0)}% of the time; RSS ${mb(process.memoryUsage().rss).toFixed(0)} MB`,
      );
      last = { at: done, sec: audioSec, segments };
    }
    if (interrupted) throw new Error('interrupted');
  }
  const wallSec = (performance.now() - start) / 1000;
  const result: BuildResult = {
    events: events.length,
    segments,
    words,
    audioHours: round(audioSec / 3600, 3),
    wallSec: round(wallSec),
    generateSec: round(generateMs / 1000),
    catalogSec: round(catalogMs / 1000),
    indexSec: round(indexMs / 1000),
    segmentsPerSec: round(segments / (indexMs / 1000), 0),
    audioHoursPerSec: round(audioSec / 3600 / (indexMs / 1000), 3),
    segmentsPerWallSec: round(segments / wallSec, 0),
    audioHoursPerWallSec: round(audioSec / 3600 / wallSec, 3),
    maxEventIndexMs: round(maxEventIndexMs, 1),
    peakRssMB: mb(peakRss),
  };
  if (t.dialect === 'postgres' && !args['no-vacuum'] && !args.existing) {
    // A maintained server's autovacuum would have done this by now: planner statistics, and the GIN pending list merged.
    const v = performance.now();
    await sql`VACUUM ANALYZE`.execute(t.db.as<unknown>());
    result.vacuumSec = round((performance.now() - v) / 1000);
    log(`postgres: VACUUM ANALYZE took ${result.vacuumSec} s`);
  }
  return { result, samples, events };
}

// ---- size

interface SizeResult {
  /** The search index's bytes (SQLite: its tables' pages; PostgreSQL: search_segments + search_events with indexes and TOAST). */
  searchBytes: number;
  /** SQLite: the catalog file with its WAL after a checkpoint (everything the catalog holds). */
  catalogFileBytes?: number;
  searchMBPerAudioHour: number;
  catalogMBPerAudioHour?: number;
  bytesPerSegment: number;
  parts: Record<string, number>;
}

async function measureSize(t: Target, b: BuildResult): Promise<SizeResult> {
  const k = t.db.as<unknown>();
  const parts: Record<string, number> = {};
  let searchBytes = 0;
  let catalogFileBytes: number | undefined;
  if (t.dialect === 'sqlite') {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(k);
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    catalogFileBytes = size(t.file!) + size(`${t.file!}-wal`);
    try {
      const rows = await sql<{ name: string; bytes: number }>`SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`.execute(k);
      for (const r of rows.rows) {
        // The index's tables and their indexes (not the saved searches' tables, which share the prefix).
        if (!/^(search_fts|search_segments|search_events|sqlite_autoindex_search_events)/.test(r.name)) continue;
        parts[r.name] = Number(r.bytes);
        searchBytes += Number(r.bytes);
      }
    } catch (e) {
      log(`sqlite: no dbstat (${(e as Error).message}): the search index's share of the file is not known`);
      searchBytes = catalogFileBytes;
    }
  } else {
    // search_segments is partitioned: every figure is the sum over its partitions, each index under its parent's name.
    const rels = await sql<{ name: string; total: number; heap: number; indexes: number }>`
      SELECT t.name, sum(pg_total_relation_size(p.relid)) AS total, sum(pg_relation_size(p.relid)) AS heap, sum(pg_indexes_size(p.relid)) AS indexes
      FROM (VALUES ('search_segments'), ('search_events')) AS t(name), pg_partition_tree(t.name::regclass) p
      WHERE p.isleaf GROUP BY t.name`.execute(k);
    const idx = await sql<{ name: string; bytes: number }>`
      SELECT coalesce(pg_partition_root(i.indexrelid), i.indexrelid)::regclass::text AS name, sum(pg_relation_size(i.indexrelid)) AS bytes
      FROM (VALUES ('search_segments'), ('search_events')) AS t(name), pg_partition_tree(t.name::regclass) p, pg_index i
      WHERE p.isleaf AND i.indrelid = p.relid GROUP BY 1`.execute(k);
    for (const r of rels.rows) {
      searchBytes += Number(r.total);
      parts[`${r.name} (heap)`] = Number(r.heap);
      parts[`${r.name} (TOAST, maps)`] = Number(r.total) - Number(r.heap) - Number(r.indexes);
    }
    for (const i of idx.rows) parts[i.name] = Number(i.bytes);
  }
  return {
    searchBytes,
    catalogFileBytes,
    searchMBPerAudioHour: round(searchBytes / 1e6 / b.audioHours, 3),
    catalogMBPerAudioHour: catalogFileBytes !== undefined ? round(catalogFileBytes / 1e6 / b.audioHours, 3) : undefined,
    bytesPerSegment: round(searchBytes / b.segments, 0),
    parts,
  };
}

// ---- 2. queries

type Kind = 'word' | 'common word' | 'phrase' | 'word + host' | 'word + month' | 'word + host + month' | 'pages 2-5';
const KINDS: Kind[] = ['word', 'common word', 'phrase', 'word + host', 'word + month', 'word + host + month', 'pages 2-5'];
const SORTS: SearchSort[] = ['relevance', 'date'];

interface BenchQuery {
  q: string;
  filters: SearchFilters;
  /** The rank of the word (or the rarest word of a phrase). */
  rank: number;
}

/** The searches of each kind: the same for every database (one seed, one corpus). */
function makeQueries(corpus: Corpus, built: Built, n: number): Record<Kind, BenchQuery[]> {
  const rng = new Rng(SEED ^ 0x71756572);
  const v = corpus.vocabulary;
  const zipf = v.zipf;
  const [lo, hi] = TOPIC_RANKS;
  const word = (r: number): BenchQuery => ({ q: v.word(r), filters: {}, rank: r });
  /** A topic word of a segment of the corpus (so the query has hits), with its event. */
  const wordInCorpus = (): { rank: number; event: EventMeta } => {
    for (let i = 0; i < 100; i++) {
      const s = rng.pick(built.samples);
      const inRange = [...s.ranks].filter((r) => r >= lo && r <= hi);
      if (inRange.length) return { rank: rng.pick(inRange), event: built.events[s.event] };
    }
    return { rank: zipf.sampleBetween(rng, lo, hi), event: rng.pick(built.events) };
  };
  const month = (createdAt: string) => {
    const d = new Date(createdAt);
    const first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    return { from: first.toISOString().slice(0, 10), to: last.toISOString().slice(0, 10) };
  };
  const phrase = (): BenchQuery => {
    for (let i = 0; i < 200; i++) {
      const s = rng.pick(built.samples);
      const len = rng.int(2, 3);
      const at = rng.int(0, s.ranks.length - len);
      const ranks = [...s.ranks.subarray(at, at + len)];
      // Not "of the": at least one word past the commonest hundred, as people quote names and sayings.
      if (Math.max(...ranks) <= COMMON_RANKS[1] && i < 150) continue;
      return { q: `"${ranks.map((r) => v.word(r)).join(' ')}"`, filters: {}, rank: Math.max(...ranks) };
    }
    throw new Error('no phrase found in the sampled segments');
  };
  // Paging to page 5 needs 100 hits: topic words frequent enough for that in this corpus (the more hours, the rarer they may be).
  let pageHi = hi;
  while (pageHi > 1 && corpus.expectedCount(pageHi) < PAGES[1] * LIMIT * 1.2) pageHi--;
  const pageLo = Math.min(lo, pageHi);
  const out = {} as Record<Kind, BenchQuery[]>;
  const times = <T>(f: () => T) => Array.from({ length: n }, f);
  out['word'] = times(() => word(zipf.sampleBetween(rng, lo, hi)));
  out['common word'] = times(() => word(zipf.sampleBetween(rng, COMMON_RANKS[0], COMMON_RANKS[1])));
  out['phrase'] = times(phrase);
  out['word + host'] = times(() => {
    const w = wordInCorpus();
    return { ...word(w.rank), filters: { host: w.event.host } };
  });
  out['word + month'] = times(() => {
    const w = wordInCorpus();
    return { ...word(w.rank), filters: month(w.event.createdAt) };
  });
  out['word + host + month'] = times(() => {
    const w = wordInCorpus();
    return { ...word(w.rank), filters: { host: w.event.host, ...month(w.event.createdAt) } };
  });
  out['pages 2-5'] = times(() => word(zipf.sampleBetween(rng, pageLo, pageHi)));
  log(
    `queries: topic words from ranks ${lo}-${hi}, common words ${COMMON_RANKS.join('-')}, paged words ${pageLo}-${pageHi} (expected ≥ ${PAGES[1] * LIMIT} hits)`,
  );
  return out;
}

interface Timed {
  query: BenchQuery;
  /** Which page (1 = the first, without a cursor). */
  page: number;
  ms: number;
  total: number;
  capped: boolean;
  hits: number;
}

interface LatencyRow {
  kind: Kind;
  sort: SearchSort;
  queries: number;
  /** Timed searches (pages 2-5: up to four per query). */
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  hits: {
    /** Queries whose total is 0. */
    zeroTotal: number;
    medianTotal: number;
    maxTotal: number;
    /** Totals reported as "at least 10,000". */
    capped: number;
    /** Hits on the timed pages, on average (at most 20). */
    meanPageHits: number;
    /** pages 2-5: queries that had a page 5 (one with fewer hits has fewer pages). */
    reachedLastPage?: number;
  };
  /** The first few, to show what was asked. */
  examples: { q: string; filters: SearchFilters; page: number; total: number; hits: number; ms: number }[];
  /** The slowest search of the row, for --explain. */
  slowest: Timed;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : NaN);

/** Runs one query as the API would, page after page up to `lastPage` (while there is a next page). */
async function runQuery(engine: SearchEngine, q: BenchQuery, sort: SearchSort, lastPage: number): Promise<Timed[]> {
  const query = parseQuery(q.q);
  const out: Timed[] = [];
  let cursor: string | undefined;
  for (let page = 1; page <= lastPage; page++) {
    const s = performance.now();
    const r = await engine.search({ query, filters: q.filters, sort, limit: LIMIT, cursor });
    out.push({ query: q, page, ms: performance.now() - s, total: r.total, capped: r.totalCapped, hits: r.hits.length });
    if (!r.nextCursor) break;
    cursor = r.nextCursor;
  }
  return out;
}

async function latency(dialect: DialectName, engine: SearchEngine, queries: Record<Kind, BenchQuery[]>): Promise<LatencyRow[]> {
  // Warm-up (not counted): the first searches load pages and plans, and, on PostgreSQL, each pooled
  // connection's caches of the partitions (a fresh connection's first search through every partition costs
  // 100-200 ms more here): the rarest words of the row, which are looked for in every partition.
  const rarest = [...queries['word']].sort((a, b) => b.rank - a.rank).slice(0, 10);
  for (const q of [...rarest, ...queries['word'].slice(0, 10), ...queries['common word'].slice(0, 10)])
    for (const sort of SORTS) await runQuery(engine, q, sort, 1);
  const rows: LatencyRow[] = [];
  for (const kind of KINDS) {
    const paged = kind === 'pages 2-5';
    for (const sort of SORTS) {
      const all: Timed[] = [];
      for (const q of queries[kind]) {
        if (interrupted) throw new Error('interrupted');
        all.push(...(await runQuery(engine, q, sort, paged ? PAGES[1] : 1)));
      }
      // Paged: the first page is what the other rows measure; pages 2-5 are timed here.
      const timed = paged ? all.filter((x) => x.page >= PAGES[0]) : all;
      const firsts = all.filter((x) => x.page === 1);
      const ms = timed.map((x) => x.ms).sort((a, b) => a - b);
      const totals = firsts.map((x) => x.total).sort((a, b) => a - b);
      const row: LatencyRow = {
        kind,
        sort,
        queries: queries[kind].length,
        samples: timed.length,
        p50Ms: round(pct(ms, 0.5)),
        p95Ms: round(pct(ms, 0.95)),
        p99Ms: round(pct(ms, 0.99)),
        maxMs: round(ms[ms.length - 1] ?? NaN),
        meanMs: round(ms.reduce((a, b) => a + b, 0) / (ms.length || 1)),
        hits: {
          zeroTotal: totals.filter((x) => x === 0).length,
          medianTotal: pct(totals, 0.5),
          maxTotal: totals[totals.length - 1] ?? 0,
          capped: firsts.filter((x) => x.capped).length,
          meanPageHits: round(timed.reduce((a, x) => a + x.hits, 0) / (timed.length || 1), 1),
          ...(paged ? { reachedLastPage: all.filter((x) => x.page === PAGES[1]).length } : {}),
        },
        examples: timed.slice(0, 4).map((x) => ({ q: x.query.q, filters: x.query.filters, page: x.page, total: x.total, hits: x.hits, ms: round(x.ms) })),
        slowest: timed.reduce((a, b) => (b.ms > a.ms ? b : a), timed[0]),
      };
      rows.push(row);
      log(
        `${dialect}: ${kind} by ${sort}: p50 ${row.p50Ms} ms, p95 ${row.p95Ms} ms, p99 ${row.p99Ms} ms (${row.samples} searches; median total ${row.hits.medianTotal}, ${row.hits.zeroTotal} without hits)`,
      );
    }
  }
  return rows;
}

// ---- --explain: the plan of the slowest statement of each row's slowest search

interface Explained {
  kind: Kind;
  sort: SearchSort;
  q: string;
  filters: SearchFilters;
  page: number;
  /** Every statement of that page, with its time (as Kysely timed it). */
  statements: { sql: string; ms: number }[];
  slowest: { sql: string; parameters: unknown[]; ms: number; plan: string[] };
}

/** The same catalog through a Kysely that reports every statement, and a way to EXPLAIN one. */
function tracingDb(
  t: Target,
  onQuery: (e: LogEvent) => void,
): { db: Db; explain(sqlText: string, params: readonly unknown[]): Promise<string[]>; close(): Promise<void> } {
  const logFn = (e: LogEvent) => onQuery(e);
  if (t.dialect === 'sqlite') {
    const h = openSqlite(t.file!);
    h.pragma('busy_timeout = 5000');
    const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: h }), log: logFn });
    return {
      db: { dialect: 'sqlite', as: <T>() => k as unknown as Kysely<T>, ping: async () => {}, close: () => k.destroy() },
      explain(sqlText, params) {
        const rows = h.prepare(`EXPLAIN QUERY PLAN ${sqlText}`).all(...params) as { id: number; parent: number; detail: string }[];
        const depth = new Map<number, number>([[0, 0]]);
        return Promise.resolve(
          rows.map((r) => {
            const d = (depth.get(r.parent) ?? 0) + 1;
            depth.set(r.id, d);
            return `${'  '.repeat(d - 1)}${r.detail}`;
          }),
        );
      },
      close: () => k.destroy(),
    };
  }
  const pool = new pg.Pool({ connectionString: t.url, max: 4 });
  const k = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }), log: logFn });
  return {
    db: { dialect: 'postgres', as: <T>() => k as unknown as Kysely<T>, ping: async () => {}, close: () => k.destroy() },
    async explain(sqlText, params) {
      const r = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sqlText}`, params as unknown[]);
      return r.rows.map((x) => x['QUERY PLAN']);
    },
    close: () => k.destroy(),
  };
}

async function explainSlowest(t: Target, snapshots: RedisSnapshotStore, rows: LatencyRow[]): Promise<Explained[]> {
  let capture: { sql: string; parameters: readonly unknown[]; ms: number }[] | undefined;
  const tr = tracingDb(t, (e) => {
    if (e.level === 'query' && capture) capture.push({ sql: e.query.sql, parameters: e.query.parameters, ms: e.queryDurationMillis });
  });
  const engine = new SearchEngine(tr.db, snapshots, WALK);
  const out: Explained[] = [];
  try {
    for (const row of rows) {
      const s = row.slowest;
      if (!s) continue;
      const query = parseQuery(s.query.q);
      let cursor: string | undefined;
      for (let page = 1; page <= s.page; page++) {
        capture = page === s.page ? [] : undefined;
        const r = await engine.search({ query, filters: s.query.filters, sort: row.sort, limit: LIMIT, cursor });
        cursor = r.nextCursor ?? undefined;
        if (!cursor) break;
      }
      const statements = capture ?? [];
      capture = undefined;
      if (!statements.length) continue;
      const slow = statements.reduce((a, b) => (b.ms > a.ms ? b : a));
      const plan = await tr.explain(slow.sql, slow.parameters);
      out.push({
        kind: row.kind,
        sort: row.sort,
        q: s.query.q,
        filters: s.query.filters,
        page: s.page,
        statements: statements.map((x) => ({ sql: x.sql.replace(/\s+/g, ' ').slice(0, 160), ms: round(x.ms) })),
        slowest: { sql: slow.sql.replace(/\s+/g, ' '), parameters: [...slow.parameters], ms: round(slow.ms), plan },
      });
    }
  } finally {
    await tr.close();
  }
  return out;
}

// ---- 3. --live: the lag from a stitched window to its words being searchable, on the real service

interface LiveResult {
  eventId: string;
  audioSec: number;
  transcript: string;
  /** transcript-segments messages applied (one per stitched window). */
  windows: number;
  /**
   * From the histogram: p50/p95 interpolated within buckets (as PromQL's histogram_quantile), and the
   * bucket bound each is under (the buckets are coarse: 0.05, 0.1, 0.25 s ...); the mean is exact (sum / count).
   */
  lagSec: { p50: number; p95: number; p50AtMost: string; p95AtMost: string; maxAtMost: string; mean: number };
  buckets: { le: string; count: number }[];
  /**
   * The same windows as BullMQ recorded them (completed jobs are kept 2 days): from the message queued to
   * its job finished (the index write, then the saved searches' check), and the part spent waiting in the queue. Exact, per window.
   */
  jobs?: { windows: number; p50Sec: number; p95Sec: number; maxSec: number; queueWaitP50Sec: number; queueWaitMaxSec: number };
  /** The word the model says in every window, and its hits in the event once it is over (every segment). */
  alwaysSay: string;
  wordHits: number;
  /** The catalog the service ran on: the index just built. */
  indexSegments: number;
}

const LIVE_WORD = 'replay';
const LIVE_TEXT =
  'Good evening and welcome back to the programme. Tonight we talk about the city budget, the new library on the river, ' +
  'and why the council voted against the tram again. With me in the studio are two people who know the numbers better than anyone. ';

function histogram(text: string, name: string) {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)`, 'gm'))].map((m) => ({
    le: m[1],
    bound: m[1] === '+Inf' ? Infinity : Number(m[1]),
    count: Number(m[2]),
  }));
  const sum = Number(new RegExp(`^${name}_sum(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const count = Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  buckets.sort((a, b) => a.bound - b.bound);
  const quantile = (q: number) => {
    if (!count) return NaN;
    const rank = q * count;
    for (let i = 0; i < buckets.length; i++) {
      if (buckets[i].count < rank) continue;
      if (!Number.isFinite(buckets[i].bound)) return buckets[i - 1]?.bound ?? NaN;
      const lo = i ? buckets[i - 1].bound : 0;
      const below = i ? buckets[i - 1].count : 0;
      const inside = buckets[i].count - below;
      return inside ? lo + (buckets[i].bound - lo) * ((rank - below) / inside) : buckets[i].bound;
    }
    return NaN;
  };
  /** The bound of the bucket the q-quantile is in. */
  const atMost = (q: number) => {
    const b = buckets.find((x) => x.count >= q * count);
    return !count ? '—' : b && Number.isFinite(b.bound) ? `≤ ${b.le} s` : `> ${buckets[buckets.length - 2]?.le ?? '?'} s`;
  };
  return { buckets, sum, count, quantile, atMost };
}

let whisperReady = false;
async function live(t: Target, tmp: string, indexSegments: number): Promise<LiveResult> {
  if (!whisperReady) {
    log('live: building whisper.cpp if needed (scripts/build-whisper.sh) ...');
    execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    whisperReady = true;
  }
  // Every window is transcribed as this one word: the event's words are known, and searchable once indexed.
  const model = path.join(tmp, 'tiny-model.bin');
  if (!fs.existsSync(model)) makeTinyModel(model, { seed: 4, alwaysSay: LIVE_WORD });
  const wav = path.join(tmp, 'speech.wav');
  // LIVE_TEXT is ~15 s of speech at 150 words a minute: enough of it for the minutes asked, and some over (ffmpeg cuts it).
  if (!fs.existsSync(wav)) execFileSync('espeak-ng', ['-s', '150', '-w', wav, LIVE_TEXT.repeat(Math.ceil(LIVE_MINUTES * 5) + 2)]);

  const dataDir = t.dialect === 'sqlite' ? t.dir! : fs.mkdtempSync(path.join(tmp, 'live-data-'));
  const env: Record<string, string> = { WHISPER_MODEL: model, STORAGE: 'fs', LOG_LEVEL: 'warn', ...(t.url ? { DATABASE_URL: t.url } : {}) };
  let svc: RunningService | undefined;
  let enc: ChildProcess | undefined;
  const stop = onCleanup('stop the service', async () => {
    if (enc && enc.exitCode === null) enc.kill('SIGKILL');
    if (svc) await stopService(svc);
  });
  try {
    svc = await startService({ dataDir, env });
    log(`live (${t.dialect}): service up at ${svc.url} on the catalog just built (${indexSegments} segments indexed)`);
    const created = await svc.api('POST', '/api/events', { title: 'bench:search live', host: 'Bench Host', source: { type: 'push' }, reconnectWindowSec: 60 });
    if (created.status !== 201) throw new Error(`POST /api/events: ${created.status} ${JSON.stringify(created.body)}`);
    const id: string = created.body.id;
    const p = pusher(created.body.ingest.url, created.body.ingest.key);
    const seconds = Math.round(LIVE_MINUTES * 60);
    log(`live (${t.dialect}): event ${id}: pushing ${seconds} s of espeak-ng speech in real time`);
    enc = spawn('ffmpeg', [...wavToAdtsArgs(wav, seconds, true), 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    enc.stdout!.pipe(p.body);
    const encoded = new Promise<number | null>((r) => enc!.once('exit', (code) => r(code)));
    const progress = setInterval(() => {
      void svc
        ?.api('GET', `/api/events/${id}`)
        .then(({ body }) =>
          log(`live (${t.dialect}): captured ${Number(body.capturedSec).toFixed(0)} s, transcribed ${Number(body.transcribedSec ?? 0).toFixed(0)} s`),
        )
        .catch(() => {});
    }, 30_000);
    try {
      const code = await encoded;
      if (code !== 0) throw new Error(`ffmpeg exited ${code}`);
      const res = await p.response;
      if (res.status >= 300) throw new Error(`push answered ${res.status}: ${res.body}`);
      await svc.api('POST', `/api/events/${id}/end`);
      const done = await svc.waitFor(
        id,
        (e) => e.status === 'failed' || (e.status === 'published' && ['complete', 'failed', 'unavailable'].includes(e.transcript?.status)),
        900_000,
      );
      const metrics = (await svc.api('GET', '/metrics')).body as string;
      const h = histogram(metrics, 'replay_search_index_lag_seconds');
      if (!h.count) log(`live (${t.dialect}): replay_search_index_lag_seconds has no observations (is it exported by this build?)`);
      const wordHits = Number((await svc.api('GET', `/api/events/${id}/search?q=${LIVE_WORD}`)).body.total);
      const jobs = await segmentJobs(path.join(dataDir, 'redis', 'redis.sock'), id).catch((e: Error) => {
        log(`live (${t.dialect}): could not read the transcript-segments jobs from the service's Redis: ${e.message}`);
        return undefined;
      });
      const r: LiveResult = {
        eventId: id,
        audioSec: round(Number(done.capturedSec), 1),
        transcript: String(done.transcript?.status),
        windows: h.count,
        lagSec: {
          p50: round(h.quantile(0.5), 3),
          p95: round(h.quantile(0.95), 3),
          p50AtMost: h.atMost(0.5),
          p95AtMost: h.atMost(0.95),
          maxAtMost: h.atMost(1),
          mean: round(h.sum / h.count, 3),
        },
        buckets: h.buckets.map((b) => ({ le: b.le, count: b.count })),
        ...(jobs ? { jobs } : {}),
        alwaysSay: LIVE_WORD,
        wordHits,
        indexSegments,
      };
      log(`live (${t.dialect}): ${liveLine(r)}`);
      return r;
    } finally {
      clearInterval(progress);
    }
  } catch (e) {
    if (svc) process.stderr.write(`--- service log (tail) ---\n${svc.output().slice(-3000)}\n`);
    throw e;
  } finally {
    await stop();
  }
}

/** Per window, from the service's own queue (the embedded Redis keeps completed jobs): queued → started → finished. */
async function segmentJobs(socket: string, eventId: string): Promise<LiveResult['jobs']> {
  const r = new Redis({ path: socket, maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await r.connect();
    const ids = (await r.zrange('replay:transcript-segments:completed', '0', '-1')).filter(
      (id) => id.startsWith(`${eventId}-segments-`) && !id.endsWith('-final'),
    );
    const times = await Promise.all(ids.map((id) => r.hmget(`replay:transcript-segments:${id}`, 'timestamp', 'processedOn', 'finishedOn')));
    const lag = times.map(([q, , f]) => (Number(f) - Number(q)) / 1000).sort((a, b) => a - b);
    const wait = times.map(([q, p]) => (Number(p) - Number(q)) / 1000).sort((a, b) => a - b);
    if (!lag.length || lag.some((x) => !Number.isFinite(x))) return undefined;
    return {
      windows: lag.length,
      p50Sec: round(pct(lag, 0.5), 3),
      p95Sec: round(pct(lag, 0.95), 3),
      maxSec: round(lag[lag.length - 1], 3),
      queueWaitP50Sec: round(pct(wait, 0.5), 3),
      queueWaitMaxSec: round(wait[wait.length - 1], 3),
    };
  } finally {
    r.disconnect();
  }
}

function liveLine(l: LiveResult): string {
  return (
    `${l.audioSec} s of speech pushed in real time, on the index built above (${l.indexSegments} segments); ${l.windows} windows; ` +
    `replay_search_index_lag_seconds p50 ${l.lagSec.p50AtMost} (${l.lagSec.p50} interpolated), p95 ${l.lagSec.p95AtMost} (${l.lagSec.p95}), max ${l.lagSec.maxAtMost}, mean ${l.lagSec.mean} s` +
    (l.jobs
      ? `; per window from BullMQ (queued → job finished): p50 ${l.jobs.p50Sec} s, p95 ${l.jobs.p95Sec} s, max ${l.jobs.maxSec} s (queue wait p50 ${l.jobs.queueWaitP50Sec} s, max ${l.jobs.queueWaitMaxSec} s)`
      : '') +
    `; transcript ${l.transcript}; "${l.alwaysSay}" (said in every window) found ${l.wordHits} times in the event`
  );
}

/** Stops the service, then ends whatever of its process tree outlived it (whisper.cpp, ffmpeg, redis-server). */
async function stopService(s: RunningService): Promise<void> {
  const tree = processTree(s.proc.pid!).filter((p) => p.pid !== s.proc.pid);
  await s.stop().catch(() => {});
  await sleep(1000);
  for (const p of tree) {
    const now = readStat(p.pid);
    if (now && now.startTicks === p.startTicks) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

// ---- one database, start to end

interface DbResult {
  db: DialectName;
  version: string;
  build: BuildResult;
  size: SizeResult;
  latency: Omit<LatencyRow, 'slowest'>[];
  explain?: Explained[];
  live?: LiveResult;
}

async function runDatabase(dialect: DialectName, redis: TcpRedis, tmp: string): Promise<DbResult> {
  const corpus = new Corpus({ hours: HOURS, seed: SEED, wordTimings: args['word-timings'] });
  const t = await openTarget(dialect, tmp);
  const client = new Redis({ port: redis.port, host: '127.0.0.1' });
  const disconnect = onCleanup('disconnect from redis-server', () => Promise.resolve(client.disconnect()));
  try {
    log(`${dialect}: ${t.version}; building ${HOURS} h of audio${t.file ? ` in ${t.file}` : ''}`);
    const built = await build(t, corpus, Math.max(2000, QUERIES * 20));
    const b = built.result;
    log(
      `${dialect}: built ${b.audioHours} h (${b.events} events, ${b.segments} segments, ${b.words} words) in ${b.wallSec} s: ` +
        `index writes ${b.indexSec} s = ${b.segmentsPerSec} segments/s, ${b.audioHoursPerSec} audio h/s; peak RSS ${b.peakRssMB} MB`,
    );
    const size = await measureSize(t, b);
    log(
      `${dialect}: index ${mb(size.searchBytes)} MB = ${size.searchMBPerAudioHour} MB per audio hour${size.catalogFileBytes !== undefined ? ` (catalog file ${mb(size.catalogFileBytes)} MB)` : ''}`,
    );
    const snapshots = new RedisSnapshotStore(client, `bench-search-${dialect}`);
    const engine = new SearchEngine(t.db, snapshots, WALK);
    const queries = makeQueries(corpus, built, QUERIES);
    const rows = await latency(dialect, engine, queries);
    const explain = args.explain ? await explainSlowest(t, snapshots, rows) : undefined;
    await t.close();
    const liveResult = args.live ? await live(t, tmp, b.segments) : undefined;
    return {
      db: dialect,
      version: t.version,
      build: b,
      size,
      latency: rows.map(({ slowest: _slowest, ...r }) => r),
      ...(explain ? { explain } : {}),
      ...(liveResult ? { live: liveResult } : {}),
    };
  } finally {
    await disconnect();
    await t.destroy();
    if (args.keep && !args.existing) log(`${dialect}: kept: --db ${dialect} --existing ${t.file ?? t.url ?? ''}`);
  }
}

function table(r: DbResult): string {
  const b = r.build;
  const s = r.size;
  const lines = [
    '',
    `## ${r.db} (${r.version}): ${b.audioHours} h of audio — ${b.events} events, ${b.segments} segments, ${b.words} words`,
    '',
    `build: ${b.wallSec} s wall (corpus ${b.generateSec} s, catalog rows ${b.catalogSec} s, index writes ${b.indexSec} s${b.vacuumSec !== undefined ? `; then VACUUM ANALYZE ${b.vacuumSec} s` : ''}); ` +
      `index writes: ${b.segmentsPerSec} segments/s, ${b.audioHoursPerSec} audio h/s (over the wall time: ${b.segmentsPerWallSec} segments/s, ${b.audioHoursPerWallSec} audio h/s); ` +
      `slowest event ${b.maxEventIndexMs} ms; peak RSS ${b.peakRssMB} MB`,
    `size: search index ${mb(s.searchBytes)} MB = ${s.searchMBPerAudioHour} MB per audio hour, ${s.bytesPerSegment} B per segment` +
      (s.catalogFileBytes !== undefined
        ? `; catalog file with WAL after a checkpoint ${mb(s.catalogFileBytes)} MB = ${s.catalogMBPerAudioHour} MB per audio hour`
        : '') +
      `; ${Object.entries(s.parts)
        .filter(([, v]) => v >= 10_000)
        .map(([k, v]) => `${k} ${mb(v)} MB`)
        .join(', ')}`,
    '',
    '| query | sort | searches | p50 ms | p95 ms | p99 ms | max ms | median total | queries without hits | mean hits on page |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.latency.map(
      (x) =>
        `| ${x.kind} | ${x.sort} | ${x.samples} | ${x.p50Ms} | ${x.p95Ms} | ${x.p99Ms} | ${x.maxMs} | ${x.hits.medianTotal}${x.hits.capped ? ` (${x.hits.capped} capped)` : ''} | ${x.hits.zeroTotal} | ${x.hits.meanPageHits} |`,
    ),
  ];
  if (r.live) {
    lines.push('', `live: ${liveLine(r.live)}`);
  }
  for (const e of r.explain ?? []) {
    lines.push(
      '',
      `### slowest ${e.kind} by ${e.sort}: ${e.q} ${JSON.stringify(e.filters)} page ${e.page}`,
      ...e.statements.map((x) => `- ${x.ms} ms: ${x.sql}`),
      '```',
      `${e.slowest.sql}`,
      `-- ${JSON.stringify(e.slowest.parameters)}`,
      ...e.slowest.plan,
      '```',
    );
  }
  return lines.join('\n');
}

// ---- main

const m = machine();
log(
  `machine: ${m.cores} cores (${m.cpuModel}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, load ${m.loadAvg.join(' ')}; ` +
    `${HOURS} h of audio on ${DBS.join(', ')}; ${QUERIES} queries per kind and sort; seed ${SEED}`,
);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-search-'));
if (!args.keep) onCleanup('remove the temp dir', () => Promise.resolve(fs.rmSync(tmp, { recursive: true, force: true })));
let exitCode = 0;
const results: DbResult[] = [];
try {
  const redis = await tcpRedis();
  onCleanup('stop redis-server', () => redis.close());
  for (const d of DBS) results.push(await runDatabase(d, redis, tmp));
} catch (e) {
  exitCode = 1;
  if (!interrupted) console.error(`bench:search aborted: ${(e as Error).stack}`);
} finally {
  if (!interrupted) await cleanupAll();
}
if (interrupted) await new Promise(() => {}); // the signal handler exits once it has cleaned up
if (results.length) {
  const out = {
    machine: m,
    options: {
      hours: HOURS,
      dbs: DBS,
      queries: QUERIES,
      seed: SEED,
      limit: LIMIT,
      wordTimings: args['word-timings'],
      vacuum: !args['no-vacuum'],
      live: args.live,
    },
    results,
  };
  console.log(JSON.stringify(out, null, 2));
  for (const r of results) console.log(table(r));
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
}
process.exit(exitCode);
