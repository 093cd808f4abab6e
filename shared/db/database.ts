// The catalog's connection: PostgreSQL when DATABASE_URL is set (many
// machines), SQLite in the data dir otherwise (one machine, no set-up). Both
// are reached through Kysely, one typed query builder, so every query is
// written once for both. Each stage types the handle with its own tables.
import { Kysely, PostgresDialect, sql, SqliteDialect, type LogConfig } from 'kysely';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openSqlite } from './sqlite.ts';
import { withStatementCache } from './statement-cache.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly dialect: DialectName;
  /** The query builder, typed with the tables of whoever asks (each stage names its own). */
  as<Tables>(): Kysely<Tables>;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`: PostgreSQL. */
  url?: string;
  /** Otherwise this SQLite file (or ':memory:'). */
  sqliteFile?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** Called once per query run (tests count them). */
  onQuery?: () => void;
}

// PostgreSQL returns 64-bit integers and counts as strings; every one the catalog keeps fits a double exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

class KyselyDb implements Db {
  constructor(
    readonly dialect: DialectName,
    private readonly kysely: Kysely<unknown>,
  ) {}

  as<Tables>(): Kysely<Tables> {
    // One handle serves every stage's tables; each stage sees only the tables it declares.
    return this.kysely as unknown as Kysely<Tables>;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.kysely);
  }

  close(): Promise<void> {
    return this.kysely.destroy();
  }
}

function queryLog(opts: DatabaseOptions): LogConfig | undefined {
  const onQuery = opts.onQuery;
  if (!onQuery) return undefined;
  return (event) => {
    if (event.level === 'query') onQuery();
  };
}

/** Opens the configured database. SQLite runs in WAL mode with durable commits (synchronous=FULL). */
export function openDatabase(opts: DatabaseOptions): Db {
  if (opts.url) {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new Error('DATABASE_URL must be a postgres:// URL');
    // Connections are kept for minutes, not pg's default 10 s: a new backend plans its first queries
    // over the search partitions cold (its catalog caches empty), at several times the usual cost.
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, idleTimeoutMillis: 10 * 60_000 });
    // An idle client that loses its server (a restart) must not take the process down.
    pool.on('error', () => {});
    return new KyselyDb('postgres', new Kysely<unknown>({ dialect: new PostgresDialect({ pool }), log: queryLog(opts) }));
  }
  const file = opts.sqliteFile ?? ':memory:';
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = openSqlite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a commit is on disk when it returns, so a spool file may be deleted once the commit recording its chunk returned (power loss included).
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  return new KyselyDb('sqlite', new Kysely<unknown>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), log: queryLog(opts) }));
}
