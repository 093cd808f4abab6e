// The transcriber's own tables in the shared catalog database:
//
//   asr_pcm      16 kHz PCM pieces handed over by the transcoder (timeline position, storage key)
//   asr_windows  transcribed windows: their span, whisper's segments (window-relative), or why they failed
//   asr_status   per event: pending | running | complete | unavailable | failed, the reason, whether the
//                last piece has arrived, and a revision bumped each time the transcript files change
//
// Windows are keyed by their start, so a retried job that cuts the same
// window again replaces nothing and duplicates nothing.
import type { Catalog } from '../shared/catalog.ts';
import type { WhisperSegment } from './whisper.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS asr_pcm (
  event_id TEXT NOT NULL,
  start_sec REAL NOT NULL,
  duration_sec REAL NOT NULL,
  key TEXT NOT NULL,
  final INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, start_sec)
);
CREATE TABLE IF NOT EXISTS asr_windows (
  event_id TEXT NOT NULL,
  start_sec REAL NOT NULL,
  end_sec REAL NOT NULL,
  status TEXT NOT NULL,
  segments_json TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (event_id, start_sec)
);
CREATE TABLE IF NOT EXISTS asr_status (
  event_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  reason TEXT,
  final_received INTEGER NOT NULL DEFAULT 0,
  revision INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
`;

export type TranscriptStatus = 'pending' | 'running' | 'complete' | 'unavailable' | 'failed';
export type WindowStatus = 'done' | 'silent' | 'failed';

export interface PcmPiece {
  startSec: number;
  durationSec: number;
  key: string;
  final: boolean;
}

export interface WindowRow {
  startSec: number;
  endSec: number;
  status: WindowStatus;
  segments: WhisperSegment[];
  error: string | null;
}

export interface StatusRow {
  status: TranscriptStatus;
  reason: string | null;
  finalReceived: boolean;
  revision: number;
}

const now = () => new Date().toISOString();

export class TranscriberState {
  constructor(private readonly catalog: Catalog) {
    catalog.db.exec(SCHEMA);
  }

  addPiece(eventId: string, p: PcmPiece): void {
    this.catalog.db
      .prepare(
        `INSERT INTO asr_pcm (event_id, start_sec, duration_sec, key, final) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(event_id, start_sec) DO UPDATE SET final = MAX(final, excluded.final)`,
      )
      .run(eventId, p.startSec, p.durationSec, p.key, p.final ? 1 : 0);
    if (p.final) this.setStatus(eventId, {}, true);
  }

  pieces(eventId: string): PcmPiece[] {
    return this.catalog.db
      .prepare('SELECT * FROM asr_pcm WHERE event_id = ? ORDER BY start_sec')
      .all(eventId)
      .map((r: any) => ({ startSec: r.start_sec, durationSec: r.duration_sec, key: r.key, final: !!r.final }));
  }

  saveWindow(eventId: string, w: WindowRow): void {
    this.catalog.db
      .prepare(
        `INSERT INTO asr_windows (event_id, start_sec, end_sec, status, segments_json, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(event_id, start_sec) DO UPDATE SET end_sec = excluded.end_sec, status = excluded.status,
           segments_json = excluded.segments_json, error = excluded.error`,
      )
      .run(eventId, w.startSec, w.endSec, w.status, JSON.stringify(w.segments), w.error, now());
  }

  windows(eventId: string): WindowRow[] {
    return this.catalog.db
      .prepare('SELECT * FROM asr_windows WHERE event_id = ? ORDER BY start_sec')
      .all(eventId)
      .map((r: any) => ({ startSec: r.start_sec, endSec: r.end_sec, status: r.status, segments: JSON.parse(r.segments_json), error: r.error }));
  }

  /** End of the last window: the transcript covers the timeline up to here. */
  coveredSec(eventId: string): number {
    const r = this.catalog.db.prepare('SELECT MAX(end_sec) AS e FROM asr_windows WHERE event_id = ?').get(eventId) as { e: number | null };
    return r.e ?? 0;
  }

  status(eventId: string): StatusRow {
    const r = this.catalog.db.prepare('SELECT * FROM asr_status WHERE event_id = ?').get(eventId) as any;
    if (!r) return { status: 'pending', reason: null, finalReceived: false, revision: 0 };
    return { status: r.status, reason: r.reason, finalReceived: !!r.final_received, revision: r.revision };
  }

  setStatus(eventId: string, s: { status?: TranscriptStatus; reason?: string | null }, finalReceived?: boolean): void {
    const cur = this.status(eventId);
    this.catalog.db
      .prepare(
        `INSERT INTO asr_status (event_id, status, reason, final_received, revision, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(event_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
           final_received = excluded.final_received, updated_at = excluded.updated_at`,
      )
      .run(eventId, s.status ?? cur.status, s.reason === undefined ? cur.reason : s.reason, (finalReceived ?? cur.finalReceived) ? 1 : 0, cur.revision, now());
    this.publish(eventId);
  }

  /** Bumps and returns the revision: the transcript files in storage changed. */
  bumpRevision(eventId: string): number {
    this.setStatus(eventId, {});
    this.catalog.db.prepare('UPDATE asr_status SET revision = revision + 1 WHERE event_id = ?').run(eventId);
    this.publish(eventId);
    return this.status(eventId).revision;
  }

  /**
   * The part other stages may read, kept in the catalog's key-value table
   * (`transcript:<eventId>`): the publisher reads it without importing this stage.
   */
  private publish(eventId: string): void {
    const s = this.status(eventId);
    this.catalog.setKv(`transcript:${eventId}`, JSON.stringify({ status: s.status, reason: s.reason, revision: s.revision, coveredSec: this.coveredSec(eventId) }));
  }
}
