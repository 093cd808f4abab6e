// Versioned migrations, one set for both databases, run at start. Each stage
// keeps its migrations beside its tables and names them `<date>-<stage>-<n>`;
// the runner takes them all (Kysely's Migrator, which records what ran in
// `kysely_migration` and takes a lock so two processes starting together do
// not both migrate).
import { Migrator, type Migration } from 'kysely';
import type { Db } from './database.ts';

/** A stage's migrations: names unique across the project, sorted by when they were written. */
export type Migrations = Record<string, Migration>;

export async function migrate(db: Db, sets: Migrations[]): Promise<string[]> {
  const all: Migrations = {};
  for (const set of sets) {
    for (const [name, m] of Object.entries(set)) {
      if (all[name]) throw new Error(`two migrations are named ${name}`);
      all[name] = m;
    }
  }
  const migrator = new Migrator({
    db: db.as<unknown>(),
    provider: { getMigrations: () => Promise.resolve(all) },
    // Stages add migrations independently; one written later with an earlier name still runs.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
