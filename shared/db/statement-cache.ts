// Prepared statements kept for reuse on the SQLite catalog. Kysely's SQLite
// driver calls prepare() for every query it runs, and better-sqlite3 compiles
// the SQL again each time: in the CPU profile of a 2-hour event's end, 0.3 s
// of 2.6 s on the service's main thread went to prepare() alone. Kysely's
// queries are parameterized, so the same few hundred SQL texts come back
// again and again: each is compiled once and kept (the least recently used
// dropped past a bound). A statement still being iterated (busy) is never
// handed out twice: a fresh one is prepared for that call.
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

const KEPT = 512;

export function withStatementCache(db: Database.Database, kept = KEPT): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) {
        statements.delete(sql); // re-inserted: most recently used last
        statements.set(sql, cached);
        return cached;
      }
      const fresh = db.prepare(sql);
      if (!cached) {
        statements.set(sql, fresh);
        if (statements.size > kept) statements.delete(statements.keys().next().value!);
      }
      return fresh;
    },
  };
}
