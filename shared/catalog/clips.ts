// Clips: a span of an event shared on its own (its page, its clip.m4a, its
// card). A clip is a public record like its event, and several stages write
// it as it moves on: the API creates it (pending), the transcoder records the
// audio it cut, the publisher marks it ready once its card is drawn (or any
// of them marks it failed, with the reason shown). So it lives in the shared
// catalog beside the events, with its own versioned migrations.
//
// A clip's span is kept in rendition frames, for the cut, and in the seconds
// those frames are on the timeline, for everything else: the clip is cut on
// the rendition's frame grid, so what the API answers is the span the audio
// really has.
import type { Kysely, Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Migrations } from '../db/migrate.ts';
import { redactText } from '../redact.ts';

export type ClipStatus = 'pending' | 'ready' | 'failed';

/** Clip ids are ours (`cl_` + 16 hex digits): anything else is not a clip, wherever it comes from. */
export const isClipId = (x: unknown): x is string => typeof x === 'string' && /^cl_[0-9a-f]{16}$/.test(x);

interface ClipsTable {
  id: string;
  event_id: string;
  title: string | null;
  soundbite: number;
  start_frame: number;
  end_frame: number;
  start_sec: number;
  end_sec: number;
  status: ClipStatus;
  reason: string | null;
  /** The audio the transcoder cut (key, size, SHA-256): set once, before the clip is ready. */
  audio_key: string | null;
  audio_bytes: number | null;
  audio_sha256: string | null;
  card_key: string | null;
  created_at: string;
  ready_at: string | null;
}

interface ClipTables {
  clips: ClipsTable;
}

export interface ClipAudio {
  key: string;
  bytes: number;
  sha256: string;
}

export interface ClipRow {
  id: string;
  eventId: string;
  title: string | null;
  /** Offered to podcast apps as a `podcast:soundbite` of its event. */
  soundbite: boolean;
  /** The span on the rendition's frame grid: frames [startFrame, endFrame). */
  startFrame: number;
  endFrame: number;
  /** The same span in seconds of the event timeline. */
  startSec: number;
  endSec: number;
  status: ClipStatus;
  /** Why it failed. */
  reason: string | null;
  audio: ClipAudio | null;
  cardKey: string | null;
  createdAt: string;
  readyAt: string | null;
}

export type NewClip = Pick<ClipRow, 'id' | 'eventId' | 'title' | 'soundbite' | 'startFrame' | 'endFrame' | 'startSec' | 'endSec'>;

const now = () => new Date().toISOString();

function toClip(r: Selectable<ClipsTable>): ClipRow {
  return {
    id: r.id,
    eventId: r.event_id,
    title: r.title,
    soundbite: !!r.soundbite,
    startFrame: Number(r.start_frame),
    endFrame: Number(r.end_frame),
    startSec: r.start_sec,
    endSec: r.end_sec,
    status: r.status,
    reason: r.reason,
    audio: r.audio_key ? { key: r.audio_key, bytes: Number(r.audio_bytes), sha256: r.audio_sha256 ?? '' } : null,
    cardKey: r.card_key,
    createdAt: r.created_at,
    readyAt: r.ready_at,
  };
}

export class ClipCatalog {
  private readonly db: Kysely<ClipTables>;

  constructor(db: Db) {
    this.db = db.as<ClipTables>();
  }

  async create(c: NewClip): Promise<ClipRow> {
    await this.db
      .insertInto('clips')
      .values({
        id: c.id,
        event_id: c.eventId,
        title: c.title,
        soundbite: c.soundbite ? 1 : 0,
        start_frame: c.startFrame,
        end_frame: c.endFrame,
        start_sec: c.startSec,
        end_sec: c.endSec,
        status: 'pending',
        reason: null,
        audio_key: null,
        audio_bytes: null,
        audio_sha256: null,
        card_key: null,
        created_at: now(),
        ready_at: null,
      })
      .execute();
    return (await this.get(c.id))!;
  }

  async get(id: string): Promise<ClipRow | undefined> {
    if (!isClipId(id)) return undefined;
    const r = await this.db.selectFrom('clips').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toClip(r) : undefined;
  }

  /** An event's clips, in the order they were made. */
  async ofEvent(eventId: string): Promise<ClipRow[]> {
    const rows = await this.db.selectFrom('clips').selectAll().where('event_id', '=', eventId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toClip);
  }

  /** The ready clips offered as soundbites, of these events (one query, for a whole feed), in time order. */
  async soundbitesOf(eventIds: string[]): Promise<ClipRow[]> {
    if (!eventIds.length) return [];
    const rows = await this.db
      .selectFrom('clips')
      .selectAll()
      .where('event_id', 'in', eventIds)
      .where('soundbite', '=', 1)
      .where('status', '=', 'ready')
      .orderBy('event_id')
      .orderBy('start_sec')
      .orderBy('id')
      .execute();
    return rows.map(toClip);
  }

  /** Clips not finished yet (pending, not failed), oldest first: their jobs are queued again at start. */
  async unfinished(limit = 10_000): Promise<ClipRow[]> {
    const rows = await this.db.selectFrom('clips').selectAll().where('status', '=', 'pending').orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(toClip);
  }

  /** How many clips an event has (they are capped per event). */
  async countOf(eventId: string): Promise<number> {
    const r = await this.db
      .selectFrom('clips')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** The audio a cut stored (a repeated cut stores the same bytes under the same key). */
  async recordAudio(id: string, audio: ClipAudio): Promise<boolean> {
    const r = await this.db
      .updateTable('clips')
      .set({ audio_key: audio.key, audio_bytes: audio.bytes, audio_sha256: audio.sha256 })
      .where('id', '=', id)
      .where('status', '!=', 'failed')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Ready once the audio is there and the card drawn; a failed clip stays failed. */
  async markReady(id: string, cardKey: string): Promise<boolean> {
    const r = await this.db
      .updateTable('clips')
      .set((eb) => ({ status: 'ready', card_key: cardKey, reason: null, ready_at: eb.fn.coalesce('ready_at', eb.val(now())) }))
      .where('id', '=', id)
      .where('status', '!=', 'failed')
      .where('audio_key', 'is not', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async markFailed(id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('clips')
      .set({ status: 'failed', reason: redactText(reason).slice(0, 500) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /** Removes a clip's row; true when there was one. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('clips').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** A deleted event's clips go with it (their objects are under the event's prefix). */
  async forgetEvent(eventId: string): Promise<void> {
    await this.db.deleteFrom('clips').where('event_id', '=', eventId).execute();
  }
}

export const clipMigrations: Migrations = {
  '2026-12-10-catalog-clips-1': {
    async up(db) {
      await db.schema
        .createTable('clips')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('soundbite', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('start_frame', 'integer', (c) => c.notNull())
        .addColumn('end_frame', 'integer', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('audio_key', 'text')
        .addColumn('audio_bytes', 'integer')
        .addColumn('audio_sha256', 'text')
        .addColumn('card_key', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('ready_at', 'text')
        .execute();
      await db.schema.createIndex('clips_by_event').on('clips').columns(['event_id', 'created_at']).execute();
    },
  },
};

/** What a clip job's runner needs of its BullMQ job: how many attempts it has had and may have. */
export interface AttemptInfo {
  attemptsMade: number;
  opts: { attempts?: number };
}

/**
 * Runs a clip job's work; when its last attempt fails too, the clip is marked
 * failed with the reason (visible in its JSON) before the error goes to BullMQ.
 */
export async function clipJobWork<T>(job: AttemptInfo, clips: ClipCatalog, clipId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await clips.markFailed(clipId, (e as Error).message);
    throw e;
  }
}
