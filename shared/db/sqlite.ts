// Opens SQLite files (the catalog, the data-dir lock) with better-sqlite3.
// Its native addon is built for one Node ABI: REPLAY_SQLITE_BINDING names an
// addon built for another (scripts/node22.sh makes one for Node 22).
import Database from 'better-sqlite3';

export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  const nativeBinding = process.env.REPLAY_SQLITE_BINDING || undefined;
  return new Database(file, { ...options, ...(nativeBinding ? { nativeBinding } : {}) });
}
