// One service per data dir, and a data dir only its user can read.
//
// Two services on one data dir would resume each other's events, kill each
// other's ffmpeg and stop each other's Redis. The lock is a kernel lock
// (fcntl, through SQLite's exclusive locking mode on DATA_DIR/service.lock),
// taken before anything else and released by the kernel when the process
// ends, however it ends: a kill -9 leaves no stale lock behind. The holder
// writes its pid and start time beside it, so a second start can say who
// holds it.
//
// The data dir holds the catalog (webhook secrets, full source URLs), the API
// token, the spool and the private archive: it is made 0700, the catalog
// 0600, and the process creates files 0600 from here on (umask 077).
import { openSqlite } from './db/sqlite.ts';
import fs from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {}

export interface DataDirLock {
  release(): void;
}

interface Holder {
  pid: number;
  startedAt: string;
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Makes the data dir private to this user and takes its lock; throws DataDirLockedError naming the holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  process.umask(0o077);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  const lockFile = path.join(dataDir, 'service.lock');
  const holderFile = path.join(dataDir, 'service.pid');
  const db = openSqlite(lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    const h = readHolder(holderFile);
    const who = h ? `replay process ${h.pid} (started ${h.startedAt})` : 'another replay process';
    throw new DataDirLockedError(`${dataDir} is in use by ${who}; stop it first, or give this instance its own REPLAY_DATA_DIR`);
  }
  fs.writeFileSync(holderFile, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }) + '\n');
  for (const f of ['catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm', 'api-token']) {
    try {
      fs.chmodSync(path.join(dataDir, f), 0o600);
    } catch {
      /* not made yet: the umask covers it */
    }
  }
  return {
    release() {
      if (!db.open) return;
      if (readHolder(holderFile)?.pid === process.pid) fs.rmSync(holderFile, { force: true });
      db.close();
    },
  };
}
