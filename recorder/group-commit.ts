// Group commit for SQLite: writes that arrive together share one transaction,
// so one fsync. SQLite commits durably (synchronous=FULL) on the event loop's
// thread, a few milliseconds each on a virtual disk; a thousand live HLS
// recordings archive about five hundred segments a second, two commits each,
// which one at a time would be more disk waits than a second holds.
//
// Each write runs in a savepoint of its own: one that throws (a placement
// another recorder changed, an event that ended) is rolled back alone and
// rejects alone; the others commit. Every caller's promise settles only once
// the shared transaction committed, so "resolved" still means "on disk".
// PostgreSQL commits asynchronously over a pool: there, each write keeps its
// own transaction (one transaction locking many events' rows could deadlock
// with another process's).
import { sql, type Kysely, type Transaction } from 'kysely';

interface Pending<DB, R> {
  run: (trx: Transaction<DB>) => Promise<R>;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/** Largest number of writes in one transaction (the rest wait for the next). */
const MAX_BATCH = 500;

export class GroupCommit<DB> {
  private queue: Pending<DB, unknown>[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly grouped: boolean,
  ) {}

  /** Runs `fn` in a transaction, shared with the writes that arrive with it (SQLite). */
  run<R>(fn: (trx: Transaction<DB>) => Promise<R>): Promise<R> {
    if (!this.grouped) return this.db.transaction().execute(fn);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ run: fn, resolve: resolve as (r: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const p of batch) {
          await sql`SAVEPOINT grouped_write`.execute(trx);
          try {
            const value = await p.run(trx);
            await sql`RELEASE grouped_write`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await sql`ROLLBACK TO grouped_write`.execute(trx);
            await sql`RELEASE grouped_write`.execute(trx);
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      // The commit itself failed: nothing of the batch is on disk.
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o.ok) p.resolve(o.value);
      else p.reject(o.err);
    });
  }
}
