// The shared catalog's tables: each event's public record (the event row,
// its gaps on the timeline and the failures any stage reported). Stages keep
// their own state in their own tables, in their own folders.
import type { Generated } from 'kysely';
import type { EventStatus } from './status.ts';

export interface EventsTable {
  id: string;
  slug: string;
  title: string;
  host: string | null;
  owner: string | null;
  source_json: string;
  stream_key_hash: string | null;
  reconnect_window_sec: number;
  status: EventStatus;
  created_at: string;
  ended_at: string | null;
  end_requested_at: string | null;
  end_reason: string | null;
  error: string | null;
  /** Seconds of audio archived, the end of the last of it on the timeline, and how many chunks: kept by the recorder. */
  captured_sec: Generated<number>;
  timeline_sec: Generated<number>;
  chunk_count: Generated<number>;
  /** When every stage forgot a deleted event (its tombstone stays, so its id and slug are never reused). */
  purged_at: Generated<string | null>;
}

export interface GapsTable {
  event_id: string;
  start_sec: number;
  end_sec: number;
  reason: string;
}

export interface FailuresTable {
  event_id: string;
  stage: string;
  start_sec: number | null;
  end_sec: number | null;
  reason: string;
  at: string;
}

export interface CatalogTables {
  events: EventsTable;
  gaps: GapsTable;
  failures: FailuresTable;
}
