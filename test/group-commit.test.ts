// Group commit (recorder/group-commit.ts): writes that arrive together share
// one SQLite transaction, each in its own savepoint, and settle only after
// the commit.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../recorder/group-commit.ts';
import { openDatabase } from '../shared/db/database.ts';

interface T {
  t: { k: number };
}

describe('GroupCommit', () => {
  it('commits a batch in one transaction; a write that throws is rolled back alone', async () => {
    const db = openDatabase({ sqliteFile: ':memory:' });
    const k = db.as<T>();
    await sql`CREATE TABLE t (k INTEGER PRIMARY KEY)`.execute(k);
    const writes = new GroupCommit(k, true);
    const add = (n: number, fail = false) =>
      writes.run(async (trx) => {
        await trx.insertInto('t').values({ k: n }).execute();
        if (fail) throw new Error(`refused ${n}`);
        return n;
      });
    const results = await Promise.allSettled([add(0), add(1), add(2, true), add(3), add(1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/refused 2/);
    expect(String((results[4] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect((await k.selectFrom('t').select('k').orderBy('k').execute()).map((r) => r.k)).toEqual([0, 1, 3]);
    // Ungrouped (PostgreSQL): one transaction each, same outcome.
    const alone = new GroupCommit(k, false);
    await expect(alone.run((trx) => trx.insertInto('t').values({ k: 3 }).execute())).rejects.toThrow(/UNIQUE/);
    await alone.run((trx) => trx.insertInto('t').values({ k: 4 }).execute());
    expect((await k.selectFrom('t').select('k').orderBy('k').execute()).map((r) => r.k)).toEqual([0, 1, 3, 4]);
    await db.close();
  });
});
