// Forgetting a deleted event: each stage names the tables in which it keeps
// rows per event (an `event_id` column), and they go in one transaction, so a
// retried purge finds either all of a stage's rows or none.
import type { Kysely } from 'kysely';

type PerEventTables = Record<string, { event_id: string }>;

export async function deleteEventRows<T>(db: Kysely<T>, tables: readonly (keyof T & string)[], eventId: string): Promise<void> {
  // Every table named has an event_id column; Kysely cannot see that through a generic table map.
  const k = db as unknown as Kysely<PerEventTables>;
  await k.transaction().execute(async (trx) => {
    for (const t of tables as readonly string[]) await trx.deleteFrom(t).where('event_id', '=', eventId).execute();
  });
}
