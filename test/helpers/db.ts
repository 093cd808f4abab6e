// Fresh catalogs for tests, on both databases the service supports: SQLite
// in memory, and a new PostgreSQL database per call on the machine's server
// (REPLAY_TEST_DATABASE_URL names a role that may create databases; the test
// command sets it up), dropped afterwards. Both are migrated as at start.
import crypto from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Db, type DialectName } from '../../shared/db/database.ts';
import { migrate } from '../../shared/db/migrate.ts';
import { MIGRATIONS } from '../../cli/migrations.ts';

export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

export const ADMIN_URL = process.env.REPLAY_TEST_DATABASE_URL || 'postgres://replay:replay@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Db;
  /** The postgres:// URL of the fresh database (PostgreSQL only). */
  url?: string;
  close(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new, empty PostgreSQL database; its URL and how to drop it. */
export async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `replay_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return { url: u.href, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

/** A migrated catalog on `dialect`; `onQuery` counts the queries run on it. */
export async function testDatabase(dialect: DialectName, onQuery?: () => void): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const db = openDatabase({ sqliteFile: ':memory:', onQuery });
    await migrate(db, MIGRATIONS);
    return { db, close: () => db.close() };
  }
  const pgdb = await freshPostgres();
  const db = openDatabase({ url: pgdb.url, poolSize: 4, onQuery });
  await migrate(db, MIGRATIONS);
  return {
    db,
    url: pgdb.url,
    async close() {
      await db.close();
      await pgdb.drop();
    },
  };
}
