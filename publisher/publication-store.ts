// The publisher's own table: one publication per event. Written once, when
// the event is first published; later transcript updates bump its revision.
// A retried publish job finds the row and republishes nothing new.
import type { Catalog } from '../shared/catalog.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS publications (
  event_id TEXT PRIMARY KEY,
  published_at TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  duration_sec REAL NOT NULL,
  audio_bytes INTEGER NOT NULL,
  transcript_status TEXT NOT NULL,
  transcript_revision INTEGER NOT NULL DEFAULT 0,
  revision INTEGER NOT NULL DEFAULT 0
);
`;

export interface Publication {
  eventId: string;
  publishedAt: string;
  latencyMs: number;
  durationSec: number;
  audioBytes: number;
  transcriptStatus: string;
  transcriptRevision: number;
  /** Bumped each time the publication changes after it was first made (event.updated). */
  revision: number;
}

const toPub = (r: any): Publication => ({
  eventId: r.event_id,
  publishedAt: r.published_at,
  latencyMs: r.latency_ms,
  durationSec: r.duration_sec,
  audioBytes: r.audio_bytes,
  transcriptStatus: r.transcript_status,
  transcriptRevision: r.transcript_revision,
  revision: r.revision,
});

export class PublicationStore {
  constructor(private readonly catalog: Catalog) {
    catalog.db.exec(SCHEMA);
  }

  get(eventId: string): Publication | undefined {
    const r = this.catalog.db.prepare('SELECT * FROM publications WHERE event_id = ?').get(eventId);
    return r ? toPub(r) : undefined;
  }

  /** Inserts the first publication; returns false when one existed (a retried or repeated publish). */
  create(p: Omit<Publication, 'revision'>): boolean {
    const r = this.catalog.db
      .prepare(
        `INSERT OR IGNORE INTO publications (event_id, published_at, latency_ms, duration_sec, audio_bytes, transcript_status, transcript_revision)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(p.eventId, p.publishedAt, p.latencyMs, p.durationSec, p.audioBytes, p.transcriptStatus, p.transcriptRevision);
    return r.changes > 0;
  }

  /** Records a newer transcript (files or status); returns the new publication revision, or undefined when nothing changed. */
  updateTranscript(eventId: string, status: string, transcriptRevision: number): number | undefined {
    const r = this.catalog.db
      .prepare(
        `UPDATE publications SET transcript_status = ?, transcript_revision = ?, revision = revision + 1
         WHERE event_id = ? AND (transcript_revision < ? OR (transcript_revision = ? AND transcript_status != ?))`,
      )
      .run(status, transcriptRevision, eventId, transcriptRevision, transcriptRevision, status);
    return r.changes ? this.get(eventId)!.revision : undefined;
  }

  published(limit = 200): Publication[] {
    return this.catalog.db.prepare('SELECT * FROM publications ORDER BY published_at DESC LIMIT ?').all(limit).map(toPub);
  }
}
