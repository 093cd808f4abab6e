// Where each clip's audiograms stand: one row per clip and size (pending,
// rendering with its progress, ready with its video, or failed with the
// reason). The publisher renders them, so these are the publisher's own
// tables, with their own versioned migrations on SQLite and PostgreSQL.
//
// A row turns ready only after its MP4 was uploaded whole, so a URL given out
// always names a complete file. A ready row is never changed again: a retried
// or repeated job finds it and renders nothing.
import type { Kysely, Selectable } from 'kysely';
import type { Db } from '../../shared/db/database.ts';
import { deleteEventRows } from '../../shared/db/forget.ts';
import type { Migrations } from '../../shared/db/migrate.ts';
import type { AudiogramSize } from '../../shared/queues.ts';
import { redactText } from '../../shared/redact.ts';

export type AudiogramStatus = 'pending' | 'rendering' | 'ready' | 'failed';

interface AudiogramsTable {
  clip_id: string;
  size: AudiogramSize;
  event_id: string;
  status: AudiogramStatus;
  /** 0..1, from ffmpeg's progress reports while rendering. */
  progress: number;
  key: string | null;
  bytes: number | null;
  /** Wall time of the render that made the video. */
  render_ms: number | null;
  reason: string | null;
  updated_at: string;
}

interface AudiogramTables {
  audiograms: AudiogramsTable;
}

export interface AudiogramRow {
  clipId: string;
  size: AudiogramSize;
  eventId: string;
  status: AudiogramStatus;
  progress: number;
  key: string | null;
  bytes: number | null;
  renderMs: number | null;
  reason: string | null;
  updatedAt: string;
}

export interface RenderedVideo {
  key: string;
  bytes: number;
  renderMs: number;
}

const now = () => new Date().toISOString();

const toRow = (r: Selectable<AudiogramsTable>): AudiogramRow => ({
  clipId: r.clip_id,
  size: r.size,
  eventId: r.event_id,
  status: r.status,
  progress: Number(r.progress),
  key: r.key,
  bytes: r.bytes === null ? null : Number(r.bytes),
  renderMs: r.render_ms === null ? null : Number(r.render_ms),
  reason: r.reason,
  updatedAt: r.updated_at,
});

export class AudiogramStore {
  private readonly db: Kysely<AudiogramTables>;

  constructor(db: Db) {
    this.db = db.as<AudiogramTables>();
  }

  /** Rows for sizes not asked for yet, pending; existing rows stay as they are. */
  async request(clipId: string, eventId: string, sizes: readonly AudiogramSize[]): Promise<void> {
    if (!sizes.length) return;
    await this.db
      .insertInto('audiograms')
      .values(
        sizes.map((size) => ({
          clip_id: clipId,
          size,
          event_id: eventId,
          status: 'pending' as const,
          progress: 0,
          key: null,
          bytes: null,
          render_ms: null,
          reason: null,
          updated_at: now(),
        })),
      )
      .onConflict((oc) => oc.columns(['clip_id', 'size']).doNothing())
      .execute();
  }

  async get(clipId: string, size: AudiogramSize): Promise<AudiogramRow | undefined> {
    const r = await this.db.selectFrom('audiograms').selectAll().where('clip_id', '=', clipId).where('size', '=', size).executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  /** The rows of several clips at once (one query for a list). */
  async ofClips(clipIds: string[]): Promise<Map<string, AudiogramRow[]>> {
    const out = new Map<string, AudiogramRow[]>();
    if (!clipIds.length) return out;
    const rows = await this.db.selectFrom('audiograms').selectAll().where('clip_id', 'in', clipIds).execute();
    for (const r of rows) out.set(r.clip_id, [...(out.get(r.clip_id) ?? []), toRow(r)]);
    return out;
  }

  /** Sizes not rendered yet (pending, or rendering in a process that may be gone), oldest first, at most `limit`. */
  async unfinished(limit = 10_000): Promise<Pick<AudiogramRow, 'clipId' | 'size'>[]> {
    const rows = await this.db
      .selectFrom('audiograms')
      .select(['clip_id', 'size'])
      .where('status', 'in', ['pending', 'rendering'])
      .orderBy('updated_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ clipId: r.clip_id, size: r.size }));
  }

  /** A render starts (again: a retry starts from 0); a ready row is left alone. */
  async start(clipId: string, size: AudiogramSize): Promise<boolean> {
    return this.update(clipId, size, { status: 'rendering', progress: 0, reason: null }, ['pending', 'rendering', 'failed']);
  }

  async progress(clipId: string, size: AudiogramSize, progress: number): Promise<void> {
    await this.update(clipId, size, { progress: Math.max(0, Math.min(1, progress)) }, ['rendering']);
  }

  /** Ready with its uploaded video; false when the row is gone (the clip was deleted meanwhile). */
  async ready(clipId: string, size: AudiogramSize, video: RenderedVideo): Promise<boolean> {
    return this.update(clipId, size, { status: 'ready', progress: 1, key: video.key, bytes: video.bytes, render_ms: video.renderMs, reason: null }, [
      'pending',
      'rendering',
      'failed',
    ]);
  }

  async fail(clipId: string, size: AudiogramSize, reason: string): Promise<void> {
    await this.update(clipId, size, { status: 'failed', reason: redactText(reason).slice(0, 500) }, ['pending', 'rendering']);
  }

  /** An attempt failed and another will come: back to pending, the reason shown meanwhile. */
  async retrying(clipId: string, size: AudiogramSize, reason: string): Promise<void> {
    await this.update(clipId, size, { status: 'pending', progress: 0, reason: `retrying after: ${redactText(reason)}`.slice(0, 500) }, [
      'pending',
      'rendering',
    ]);
  }

  async forgetClip(clipId: string): Promise<void> {
    await this.db.deleteFrom('audiograms').where('clip_id', '=', clipId).execute();
  }

  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['audiograms'], eventId);
  }

  private async update(clipId: string, size: AudiogramSize, set: Partial<AudiogramsTable>, from: AudiogramStatus[]): Promise<boolean> {
    const r = await this.db
      .updateTable('audiograms')
      .set({ ...set, updated_at: now() })
      .where('clip_id', '=', clipId)
      .where('size', '=', size)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

export const audiogramMigrations: Migrations = {
  '2026-12-12-publisher-audiograms-1': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audiograms')
        .ifNotExists()
        .addColumn('clip_id', 'text', (c) => c.notNull())
        .addColumn('size', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('progress', 'double precision', (c) => c.notNull())
        .addColumn('key', 'text')
        .addColumn('bytes', 'bigint')
        .addColumn('render_ms', 'integer')
        .addColumn('reason', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audiograms_pk', ['clip_id', 'size'])
        .execute();
      await db.schema.createIndex('audiograms_by_event').ifNotExists().on('audiograms').column('event_id').execute();
    },
  },
};
