// The SQLite statement cache (shared/db/statement-cache.ts): a query text is
// compiled once and its statement reused; a statement being iterated is not
// handed out again; the cache keeps a bounded number; and the catalog opened
// through it answers as before, parameters bound afresh each run.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../shared/db/database.ts';
import { openSqlite } from '../shared/db/sqlite.ts';
import { withStatementCache } from '../shared/db/statement-cache.ts';

function counted() {
  const db = openSqlite(':memory:');
  let prepared = 0;
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    prepared++;
    return prepare(sql);
  };
  return { db, count: () => prepared };
}

describe('the statement cache', () => {
  it('compiles each query text once and binds its parameters afresh each run', () => {
    const { db, count } = counted();
    const cached = withStatementCache(db);
    cached.prepare('create table t (k integer primary key, v text)').run([]);
    for (let k = 0; k < 100; k++) cached.prepare('insert into t (k, v) values (?, ?)').run([k, `v${k}`]);
    const select = (k: number) => cached.prepare('select v from t where k = ?').all([k]);
    expect(select(7)).toEqual([{ v: 'v7' }]);
    expect(select(42)).toEqual([{ v: 'v42' }]);
    expect(count()).toBe(3);
  });

  it('never hands out a statement that is still being iterated', () => {
    const { db, count } = counted();
    const cached = withStatementCache(db);
    cached.prepare('create table t (k integer)').run([]);
    for (let k = 0; k < 3; k++) cached.prepare('insert into t values (?)').run([k]);
    const sql = 'select k from t order by k';
    const outer = cached.prepare(sql).iterate([]);
    const first = outer.next().value;
    // The same text while the first is mid-iteration: a statement of its own (reusing it would throw "busy").
    expect(cached.prepare(sql).all([])).toEqual([{ k: 0 }, { k: 1 }, { k: 2 }]);
    expect([first, ...outer]).toEqual([{ k: 0 }, { k: 1 }, { k: 2 }]);
    const before = count();
    cached.prepare(sql).all([]);
    expect(count()).toBe(before); // done iterating: the kept one again
  });

  it('keeps at most its bound, dropping the least recently used', () => {
    const { db, count } = counted();
    const cached = withStatementCache(db, 2);
    const q = (n: number) => cached.prepare(`select ${n} as n`).all([]);
    q(1);
    q(2);
    q(1); // 1 is now the most recent
    q(3); // drops 2
    const before = count();
    q(1);
    q(3);
    expect(count()).toBe(before);
    q(2);
    expect(count()).toBe(before + 1);
  });

  it('serves the catalog: the same answers through Kysely, query after query', async () => {
    const db = openDatabase({ sqliteFile: ':memory:' });
    const k = db.as<{ t: { id: number; name: string } }>();
    await k.schema
      .createTable('t')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text')
      .execute();
    for (let i = 0; i < 50; i++)
      await k
        .insertInto('t')
        .values({ id: i, name: `n${i}` })
        .execute();
    for (const i of [3, 17, 49]) expect(await k.selectFrom('t').select('name').where('id', '=', i).executeTakeFirst()).toEqual({ name: `n${i}` });
    expect((await k.selectFrom('t').select('id').where('id', 'in', [1, 2, 3]).execute()).length).toBe(3);
    await db.close();
  });
});
