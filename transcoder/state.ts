// The transcoder's own tables in the shared catalog database. They record
// what exists in storage, so a retried job (or a second worker) finds the
// work already done and does not redo or duplicate it:
//
//   transcoder_chunks   one row per decoded source chunk: where its 48 kHz
//                       PCM piece lies on the timeline and its storage key
//   rendition_segments  one row per finished rendition segment: its frames,
//                       storage keys, and its share of the waveform and
//                       loudness measurements (merged at the end)
//   rendition_state     one row per event: init segment written, what the
//                       last uploaded playlist listed, finalization results
//
// A row is written only after the objects it names were uploaded, so a row
// always points at something that exists; objects without a row are simply
// rewritten (deterministically) by the next attempt.
import type { Catalog } from '../shared/catalog.ts';
import type { LoudnessPart, LoudnessSummary, PeaksPart } from './analysis.ts';
import { FRAME, RATE, SEGMENT_FRAMES } from './grid.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transcoder_chunks (
  event_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  run_start_seq INTEGER NOT NULL,
  src_codec TEXT NOT NULL,
  src_rate INTEGER NOT NULL,
  src_channels INTEGER NOT NULL,
  frame_size INTEGER NOT NULL,
  start48 INTEGER NOT NULL,
  main_end48 INTEGER NOT NULL,
  end48 INTEGER NOT NULL,
  pcm_key TEXT NOT NULL,
  pcm_deleted INTEGER NOT NULL DEFAULT 0,
  short_samples INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (event_id, seq)
);
CREATE TABLE IF NOT EXISTS rendition_segments (
  event_id TEXT NOT NULL,
  k INTEGER NOT NULL,
  start_frame INTEGER NOT NULL,
  frames INTEGER NOT NULL,
  key TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  pcm16_key TEXT NOT NULL,
  peaks_json TEXT NOT NULL,
  loudness_json TEXT NOT NULL,
  pcm_notified INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (event_id, k)
);
CREATE TABLE IF NOT EXISTS rendition_state (
  event_id TEXT PRIMARY KEY,
  segment_frames INTEGER NOT NULL,
  init_written INTEGER NOT NULL DEFAULT 0,
  playlist_segments INTEGER NOT NULL DEFAULT -1,
  playlist_final INTEGER NOT NULL DEFAULT 0,
  total_frames INTEGER,
  finalized_at TEXT,
  loudness_json TEXT,
  updated_at TEXT NOT NULL
);
`;

export interface TranscodedChunk {
  eventId: string;
  seq: number;
  /** seq of the first chunk of the contiguous run this chunk belongs to. */
  runStartSeq: number;
  srcCodec: string;
  srcRate: number;
  srcChannels: number;
  frameSize: number;
  /** Timeline samples (48 kHz) held by the PCM piece: [start48, end48). */
  start48: number;
  /** Past mainEnd48 the piece is provisional: used only if the run ends here. */
  mainEnd48: number;
  end48: number;
  pcmKey: string;
  pcmDeleted: boolean;
  /** Samples the decoder came up short by (padded with silence). */
  shortSamples: number;
}

export interface SegmentRow {
  eventId: string;
  k: number;
  startFrame: number;
  frames: number;
  key: string;
  bytes: number;
  pcm16Key: string;
  peaks: PeaksPart;
  loudness: LoudnessPart;
  pcmNotified: boolean;
}

export interface RenditionState {
  eventId: string;
  segmentFrames: number;
  initWritten: boolean;
  /** Segments the uploaded playlist lists (-1: none uploaded yet). */
  playlistSegments: number;
  playlistFinal: boolean;
  totalFrames: number | null;
  finalizedAt: string | null;
  loudness: LoudnessSummary | null;
}

const now = () => new Date().toISOString();
const initialized = new WeakSet<object>();

/** Typed access to the transcoder tables; creating it creates the tables. */
export class TranscoderState {
  constructor(readonly catalog: Catalog) {
    if (!initialized.has(catalog.db)) {
      catalog.db.exec(SCHEMA);
      initialized.add(catalog.db);
    }
  }

  private get db() {
    return this.catalog.db;
  }

  // ---- chunks

  chunk(eventId: string, seq: number): TranscodedChunk | undefined {
    const r = this.db.prepare('SELECT * FROM transcoder_chunks WHERE event_id = ? AND seq = ?').get(eventId, seq);
    return r ? toChunk(r) : undefined;
  }

  chunks(eventId: string): TranscodedChunk[] {
    return this.db.prepare('SELECT * FROM transcoder_chunks WHERE event_id = ? ORDER BY seq').all(eventId).map(toChunk);
  }

  /** Chunks whose piece overlaps timeline samples [from, to). */
  chunksOverlapping(eventId: string, from: number, to: number): TranscodedChunk[] {
    return this.db
      .prepare('SELECT * FROM transcoder_chunks WHERE event_id = ? AND start48 < ? AND end48 > ? ORDER BY seq')
      .all(eventId, to, from)
      .map(toChunk);
  }

  /** Inserts or replaces (a re-decode of a deleted piece writes the same row back). */
  putChunk(c: Omit<TranscodedChunk, 'pcmDeleted'>): void {
    this.db
      .prepare(
        `INSERT INTO transcoder_chunks (event_id, seq, run_start_seq, src_codec, src_rate, src_channels, frame_size,
           start48, main_end48, end48, pcm_key, pcm_deleted, short_samples, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
         ON CONFLICT(event_id, seq) DO UPDATE SET run_start_seq = excluded.run_start_seq, src_codec = excluded.src_codec,
           src_rate = excluded.src_rate, src_channels = excluded.src_channels, frame_size = excluded.frame_size,
           start48 = excluded.start48, main_end48 = excluded.main_end48, end48 = excluded.end48,
           pcm_key = excluded.pcm_key, pcm_deleted = 0, short_samples = excluded.short_samples`,
      )
      .run(c.eventId, c.seq, c.runStartSeq, c.srcCodec, c.srcRate, c.srcChannels, c.frameSize,
        c.start48, c.mainEnd48, c.end48, c.pcmKey, c.shortSamples, now());
  }

  markPcmDeleted(eventId: string, seq: number): void {
    this.db.prepare('UPDATE transcoder_chunks SET pcm_deleted = 1 WHERE event_id = ? AND seq = ?').run(eventId, seq);
  }

  // ---- segments

  segment(eventId: string, k: number): SegmentRow | undefined {
    const r = this.db.prepare('SELECT * FROM rendition_segments WHERE event_id = ? AND k = ?').get(eventId, k);
    return r ? toSegment(r) : undefined;
  }

  segments(eventId: string): SegmentRow[] {
    return this.db.prepare('SELECT * FROM rendition_segments WHERE event_id = ? ORDER BY k').all(eventId).map(toSegment);
  }

  /** Segments 0..n-1 all exist: the playable prefix. */
  contiguousSegments(eventId: string): SegmentRow[] {
    const all = this.segments(eventId);
    let n = 0;
    while (n < all.length && all[n].k === n) n++;
    return all.slice(0, n);
  }

  /** Idempotent: a second insert of the same segment (a concurrent or repeated build) is ignored. */
  addSegment(s: Omit<SegmentRow, 'pcmNotified'>): boolean {
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO rendition_segments (event_id, k, start_frame, frames, key, bytes, pcm16_key, peaks_json, loudness_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.eventId, s.k, s.startFrame, s.frames, s.key, s.bytes, s.pcm16Key, JSON.stringify(s.peaks), JSON.stringify(s.loudness), now());
    return r.changes > 0;
  }

  unnotifiedSegments(eventId: string): SegmentRow[] {
    return this.db
      .prepare('SELECT * FROM rendition_segments WHERE event_id = ? AND pcm_notified = 0 ORDER BY k')
      .all(eventId)
      .map(toSegment);
  }

  markNotified(eventId: string, k: number): void {
    this.db.prepare('UPDATE rendition_segments SET pcm_notified = 1 WHERE event_id = ? AND k = ?').run(eventId, k);
  }

  // ---- per-event state

  state(eventId: string): RenditionState | undefined {
    const r = this.db.prepare('SELECT * FROM rendition_state WHERE event_id = ?').get(eventId) as any;
    if (!r) return undefined;
    return {
      eventId: r.event_id,
      segmentFrames: r.segment_frames,
      initWritten: !!r.init_written,
      playlistSegments: r.playlist_segments,
      playlistFinal: !!r.playlist_final,
      totalFrames: r.total_frames,
      finalizedAt: r.finalized_at,
      loudness: r.loudness_json ? JSON.parse(r.loudness_json) : null,
    };
  }

  ensureState(eventId: string): RenditionState {
    this.db
      .prepare('INSERT OR IGNORE INTO rendition_state (event_id, segment_frames, updated_at) VALUES (?, ?, ?)')
      .run(eventId, SEGMENT_FRAMES, now());
    return this.state(eventId)!;
  }

  markInitWritten(eventId: string): void {
    this.db.prepare('UPDATE rendition_state SET init_written = 1, updated_at = ? WHERE event_id = ?').run(now(), eventId);
  }

  markPlaylist(eventId: string, segments: number, final: boolean): void {
    this.db
      .prepare('UPDATE rendition_state SET playlist_segments = ?, playlist_final = ?, updated_at = ? WHERE event_id = ?')
      .run(segments, final ? 1 : 0, now(), eventId);
  }

  /** Fixes the rendition length when the event ends (before the last segments are made). */
  setTotalFrames(eventId: string, totalFrames: number): void {
    this.db
      .prepare('UPDATE rendition_state SET total_frames = ?, updated_at = ? WHERE event_id = ?')
      .run(totalFrames, now(), eventId);
  }

  markFinalized(eventId: string, loudness: LoudnessSummary): void {
    this.db
      .prepare('UPDATE rendition_state SET finalized_at = COALESCE(finalized_at, ?), loudness_json = ?, updated_at = ? WHERE event_id = ?')
      .run(now(), JSON.stringify(loudness), now(), eventId);
  }

  /** Segments 0..n-1 all made: n and their frames, without loading the measurements. */
  playablePrefix(eventId: string): { segments: number; frames: number } {
    const rows = this.db.prepare('SELECT k, frames FROM rendition_segments WHERE event_id = ? ORDER BY k').all(eventId) as { k: number; frames: number }[];
    let n = 0;
    let frames = 0;
    while (n < rows.length && rows[n].k === n) frames += rows[n++].frames;
    return { segments: n, frames };
  }

  /** Seconds of the rendition playable from the start (segments 0..n-1 all made). */
  transcodedSec(eventId: string): number {
    return (this.playablePrefix(eventId).frames * FRAME) / RATE;
  }
}

/** Seconds of the event's rendition playable from the start. */
export function transcodedSec(catalog: Catalog, eventId: string): number {
  return new TranscoderState(catalog).transcodedSec(eventId);
}

function toChunk(r: any): TranscodedChunk {
  return {
    eventId: r.event_id,
    seq: r.seq,
    runStartSeq: r.run_start_seq,
    srcCodec: r.src_codec,
    srcRate: r.src_rate,
    srcChannels: r.src_channels,
    frameSize: r.frame_size,
    start48: r.start48,
    mainEnd48: r.main_end48,
    end48: r.end48,
    pcmKey: r.pcm_key,
    pcmDeleted: !!r.pcm_deleted,
    shortSamples: r.short_samples,
  };
}

function toSegment(r: any): SegmentRow {
  return {
    eventId: r.event_id,
    k: r.k,
    startFrame: r.start_frame,
    frames: r.frames,
    key: r.key,
    bytes: r.bytes,
    pcm16Key: r.pcm16_key,
    peaks: JSON.parse(r.peaks_json),
    loudness: JSON.parse(r.loudness_json),
    pcmNotified: !!r.pcm_notified,
  };
}
