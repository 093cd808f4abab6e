// The catalog: events, capture sessions, chunks, gaps and failures, in SQLite
// (better-sqlite3, WAL). It is the source of truth the stages share; queue
// messages only say "look at this row". The texts it keeps for the public
// (errors, end reasons, gap and failure reasons) are redacted on the way in.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { redactText } from './redact.ts';

export type EventStatus = 'live' | 'ended' | 'publishing' | 'published' | 'failed';
export type SourceSpec = { url: string } | { type: 'push' };

export interface EventRow {
  id: string;
  slug: string;
  title: string;
  /** Who hosts the conversation, shown on the page, card and artwork. */
  host: string | null;
  /** Fingerprint of the API token that created the event (live events are capped per token). */
  owner: string | null;
  source: SourceSpec;
  streamKeyHash: string | null;
  reconnectWindowSec: number;
  status: EventStatus;
  createdAt: string;
  endedAt: string | null;
  endRequestedAt: string | null;
  endReason: string | null;
  error: string | null;
}

export interface SessionRow {
  eventId: string;
  no: number;
  timelineStartSec: number;
  startedAt: string;
  /** pid of the ffmpeg segmenter, so a restarted recorder can stop an orphan. */
  pid: number | null;
  closedAt: string | null;
}

export type ChunkState = 'archived' | 'queued';

export interface ChunkRow {
  eventId: string;
  seq: number;
  sessionNo: number;
  spoolName: string;
  startSec: number;
  durationSec: number;
  bytes: number;
  sha256: string;
  key: string;
  state: ChunkState;
  createdAt: string;
}

export interface GapRow {
  eventId: string;
  startSec: number;
  endSec: number;
  reason: string;
}

export interface FailureRow {
  eventId: string;
  stage: string;
  startSec: number | null;
  endSec: number | null;
  reason: string;
  at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  host TEXT,
  source_json TEXT NOT NULL,
  stream_key_hash TEXT,
  reconnect_window_sec INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  ended_at TEXT,
  end_requested_at TEXT,
  end_reason TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  event_id TEXT NOT NULL REFERENCES events(id),
  no INTEGER NOT NULL,
  timeline_start_sec REAL NOT NULL,
  started_at TEXT NOT NULL,
  pid INTEGER,
  closed_at TEXT,
  PRIMARY KEY (event_id, no)
);
CREATE TABLE IF NOT EXISTS chunks (
  event_id TEXT NOT NULL REFERENCES events(id),
  seq INTEGER NOT NULL,
  session_no INTEGER NOT NULL,
  spool_name TEXT NOT NULL,
  start_sec REAL NOT NULL,
  duration_sec REAL NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (event_id, seq),
  UNIQUE (event_id, spool_name)
);
CREATE TABLE IF NOT EXISTS gaps (
  event_id TEXT NOT NULL REFERENCES events(id),
  start_sec REAL NOT NULL,
  end_sec REAL NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (event_id, start_sec)
);
CREATE TABLE IF NOT EXISTS failures (
  event_id TEXT NOT NULL REFERENCES events(id),
  stage TEXT NOT NULL,
  start_sec REAL,
  end_sec REAL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);
`;

const now = () => new Date().toISOString();

function toEvent(r: any): EventRow {
  return {
    id: r.id,
    slug: r.slug,
    title: r.title,
    host: r.host ?? null,
    owner: r.owner ?? null,
    source: JSON.parse(r.source_json),
    streamKeyHash: r.stream_key_hash,
    reconnectWindowSec: r.reconnect_window_sec,
    status: r.status,
    createdAt: r.created_at,
    endedAt: r.ended_at,
    endRequestedAt: r.end_requested_at,
    endReason: r.end_reason,
    error: r.error,
  };
}

function toChunk(r: any): ChunkRow {
  return {
    eventId: r.event_id,
    seq: r.seq,
    sessionNo: r.session_no,
    spoolName: r.spool_name,
    startSec: r.start_sec,
    durationSec: r.duration_sec,
    bytes: r.bytes,
    sha256: r.sha256,
    key: r.key,
    state: r.state,
    createdAt: r.created_at,
  };
}

function toSession(r: any): SessionRow {
  return {
    eventId: r.event_id,
    no: r.no,
    timelineStartSec: r.timeline_start_sec,
    startedAt: r.started_at,
    pid: r.pid,
    closedAt: r.closed_at,
  };
}

export class Catalog {
  readonly db: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns, so the spool file of a chunk it records may be deleted then (power loss included).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Catalogs made before events had a host or an owner.
    const cols = (this.db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).map((c) => c.name);
    if (!cols.includes('host')) this.db.exec('ALTER TABLE events ADD COLUMN host TEXT');
    if (!cols.includes('owner')) this.db.exec('ALTER TABLE events ADD COLUMN owner TEXT');
    this.redactEarlierTexts();
  }

  close(): void {
    this.db.close();
  }

  /** Catalogs written before texts were redacted on the way in: redacted once, in place. */
  private redactEarlierTexts(): void {
    if (this.getKv('texts-redacted')) return;
    this.db.function('redact_text', { deterministic: true }, (t: unknown) => (typeof t === 'string' ? redactText(t) : t));
    this.db.transaction(() => {
      this.db.exec(`UPDATE events SET error = redact_text(error), end_reason = redact_text(end_reason);
        UPDATE gaps SET reason = redact_text(reason); UPDATE failures SET reason = redact_text(reason);`);
      this.setKv('texts-redacted', '1');
    })();
  }

  private stmts = new Map<string, Database.Statement>();

  /** Prepared statements are cached: preparing SQL on every call showed up in profiles at 100+ recordings. */
  private q(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  // ---- events

  createEvent(
    e: Omit<EventRow, 'host' | 'owner' | 'status' | 'createdAt' | 'endedAt' | 'endRequestedAt' | 'endReason' | 'error'> & { host?: string | null; owner?: string | null },
  ): EventRow {
    this.db
      .prepare(
        `INSERT INTO events (id, slug, title, host, owner, source_json, stream_key_hash, reconnect_window_sec, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'live', ?)`,
      )
      .run(e.id, e.slug, e.title, e.host ?? null, e.owner ?? null, JSON.stringify(e.source), e.streamKeyHash, e.reconnectWindowSec, now());
    return this.getEvent(e.id)!;
  }

  /** Live events created with one token. */
  liveCount(owner: string): number {
    return (this.q(`SELECT COUNT(*) AS n FROM events WHERE status = 'live' AND owner = ?`).get(owner) as { n: number }).n;
  }

  getEvent(id: string): EventRow | undefined {
    const r = this.q('SELECT * FROM events WHERE id = ?').get(id);
    return r ? toEvent(r) : undefined;
  }

  getEventBySlug(slug: string): EventRow | undefined {
    const r = this.q('SELECT * FROM events WHERE slug = ?').get(slug);
    return r ? toEvent(r) : undefined;
  }

  listEvents(limit = 100): EventRow[] {
    return this.q('SELECT * FROM events ORDER BY created_at DESC, id LIMIT ?').all(limit).map(toEvent);
  }

  liveEvents(): EventRow[] {
    return this.q(`SELECT * FROM events WHERE status = 'live' ORDER BY created_at`).all().map(toEvent);
  }

  /** Records that an end was asked for; returns false when it had been asked already. */
  requestEnd(id: string): boolean {
    const r = this.db
      .prepare(`UPDATE events SET end_requested_at = ? WHERE id = ? AND end_requested_at IS NULL AND status = 'live'`)
      .run(now(), id);
    return r.changes > 0;
  }

  /** live -> ended, once. Returns false when the event was not live any more. */
  markEnded(id: string, reason: string): boolean {
    const r = this.db
      .prepare(`UPDATE events SET status = 'ended', ended_at = ?, end_reason = ? WHERE id = ? AND status = 'live'`)
      .run(now(), redactText(reason), id);
    return r.changes > 0;
  }

  setStatus(id: string, status: EventStatus, error?: string): void {
    this.q('UPDATE events SET status = ?, error = COALESCE(?, error) WHERE id = ?').run(status, error === undefined ? null : redactText(error), id);
  }

  // ---- capture sessions

  openSession(eventId: string, timelineStartSec: number): SessionRow {
    return this.db.transaction(() => {
      const last = this.q('SELECT MAX(no) AS n FROM sessions WHERE event_id = ?').get(eventId) as { n: number | null };
      const no = (last.n ?? 0) + 1;
      this.db
        .prepare('INSERT INTO sessions (event_id, no, timeline_start_sec, started_at) VALUES (?, ?, ?, ?)')
        .run(eventId, no, timelineStartSec, now());
      return toSession(this.q('SELECT * FROM sessions WHERE event_id = ? AND no = ?').get(eventId, no));
    })();
  }

  setSessionPid(eventId: string, no: number, pid: number | null): void {
    this.q('UPDATE sessions SET pid = ? WHERE event_id = ? AND no = ?').run(pid, eventId, no);
  }

  closeSession(eventId: string, no: number): void {
    this.q('UPDATE sessions SET closed_at = COALESCE(closed_at, ?), pid = NULL WHERE event_id = ? AND no = ?').run(now(), eventId, no);
  }

  sessions(eventId: string): SessionRow[] {
    return this.q('SELECT * FROM sessions WHERE event_id = ? ORDER BY no').all(eventId).map(toSession);
  }

  // ---- chunks

  /**
   * Records an archived chunk. Idempotent on (event, spool file): a chunk that
   * was archived before a crash keeps its sequence number when re-registered.
   */
  addChunk(c: Omit<ChunkRow, 'seq' | 'state' | 'createdAt'>): ChunkRow {
    return this.db.transaction(() => {
      const existing = this.q('SELECT * FROM chunks WHERE event_id = ? AND spool_name = ?').get(c.eventId, c.spoolName);
      if (existing) return toChunk(existing);
      const last = this.q('SELECT MAX(seq) AS n FROM chunks WHERE event_id = ?').get(c.eventId) as { n: number | null };
      const seq = (last.n ?? -1) + 1;
      this.db
        .prepare(
          `INSERT INTO chunks (event_id, seq, session_no, spool_name, start_sec, duration_sec, bytes, sha256, key, state, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'archived', ?)`,
        )
        .run(c.eventId, seq, c.sessionNo, c.spoolName, c.startSec, c.durationSec, c.bytes, c.sha256, c.key, now());
      return toChunk(this.q('SELECT * FROM chunks WHERE event_id = ? AND seq = ?').get(c.eventId, seq));
    })();
  }

  /** Chunks archived by versions that kept the source archive beside the public objects (not under `private/`). */
  chunksOutsidePrivate(limit = 500): ChunkRow[] {
    return this.q(`SELECT * FROM chunks WHERE key NOT LIKE 'private/%' ORDER BY event_id, seq LIMIT ?`).all(limit).map(toChunk);
  }

  setChunkKey(eventId: string, seq: number, key: string): void {
    this.q('UPDATE chunks SET key = ? WHERE event_id = ? AND seq = ?').run(key, eventId, seq);
  }

  chunkBySpoolName(eventId: string, spoolName: string): ChunkRow | undefined {
    const r = this.q('SELECT * FROM chunks WHERE event_id = ? AND spool_name = ?').get(eventId, spoolName);
    return r ? toChunk(r) : undefined;
  }

  markChunkQueued(eventId: string, seq: number): void {
    this.q(`UPDATE chunks SET state = 'queued' WHERE event_id = ? AND seq = ?`).run(eventId, seq);
  }

  chunks(eventId: string): ChunkRow[] {
    return this.q('SELECT * FROM chunks WHERE event_id = ? ORDER BY seq').all(eventId).map(toChunk);
  }

  /** Chunks archived but not yet handed to the queue (Redis was away, or the process died in between). */
  unqueuedChunks(limit = 500): ChunkRow[] {
    return this.q(`SELECT * FROM chunks WHERE state = 'archived' ORDER BY event_id, seq LIMIT ?`).all(limit).map(toChunk);
  }

  sessionChunks(eventId: string, sessionNo: number): ChunkRow[] {
    return this.db
      .prepare('SELECT * FROM chunks WHERE event_id = ? AND session_no = ? ORDER BY seq')
      .all(eventId, sessionNo)
      .map(toChunk);
  }

  capturedSec(eventId: string): number {
    const r = this.q('SELECT COALESCE(SUM(duration_sec), 0) AS s FROM chunks WHERE event_id = ?').get(eventId) as { s: number };
    return r.s;
  }

  /** End of the last captured audio on the timeline (0 before the first chunk). */
  timelineEndSec(eventId: string): number {
    const r = this.db
      .prepare('SELECT MAX(start_sec + duration_sec) AS e FROM chunks WHERE event_id = ?')
      .get(eventId) as { e: number | null };
    return r.e ?? 0;
  }

  // ---- gaps and failures

  addGap(g: GapRow): void {
    if (!(g.endSec > g.startSec)) return;
    this.db
      .prepare('INSERT OR IGNORE INTO gaps (event_id, start_sec, end_sec, reason) VALUES (?, ?, ?, ?)')
      .run(g.eventId, g.startSec, g.endSec, redactText(g.reason));
  }

  gaps(eventId: string): GapRow[] {
    return this.db
      .prepare('SELECT * FROM gaps WHERE event_id = ? ORDER BY start_sec')
      .all(eventId)
      .map((r: any) => ({ eventId: r.event_id, startSec: r.start_sec, endSec: r.end_sec, reason: r.reason }));
  }

  addFailure(f: Omit<FailureRow, 'at'>): void {
    this.db
      .prepare('INSERT INTO failures (event_id, stage, start_sec, end_sec, reason, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(f.eventId, f.stage, f.startSec, f.endSec, redactText(f.reason), now());
  }

  failures(eventId: string): FailureRow[] {
    return this.db
      .prepare('SELECT * FROM failures WHERE event_id = ? ORDER BY at')
      .all(eventId)
      .map((r: any) => ({ eventId: r.event_id, stage: r.stage, startSec: r.start_sec, endSec: r.end_sec, reason: r.reason, at: r.at }));
  }

  // ---- small settings

  getKv(k: string): string | undefined {
    const r = this.q('SELECT v FROM kv WHERE k = ?').get(k) as { v: string } | undefined;
    return r?.v;
  }

  setKv(k: string, v: string): void {
    this.q('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
  }
}
