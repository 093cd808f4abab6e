// The transcriber's own tables:
//
//   asr_pcm      16 kHz PCM pieces handed over by the transcoder (timeline position, storage key; empty for silence)
//   asr_windows  transcribed windows: their span, whisper's segments (window-relative), or why they failed
//   asr_status   per event: pending | running | complete | unavailable | failed, the reason, whether the
//                last piece has arrived, and a revision bumped each time the transcript files change
//
// Windows are keyed by their start, so a retried job that cuts the same
// window again replaces nothing and duplicates nothing. Other stages learn
// where the transcript stands from the transcript-ready messages, not from
// these tables.
import type { Generated, Kysely, Selectable } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import type { Migrations } from '../shared/db/migrate.ts';
import type { TranscriptStatus } from '../shared/queues.ts';
import type { WhisperSegment } from './whisper.ts';
import { deleteEventRows } from '../shared/db/forget.ts';

export type { TranscriptStatus } from '../shared/queues.ts';

interface PcmTable {
  event_id: string;
  start_sec: number;
  duration_sec: number;
  key: string;
  final: Generated<number>;
}

interface WindowsTable {
  event_id: string;
  start_sec: number;
  end_sec: number;
  status: WindowStatus;
  segments_json: Generated<string>;
  error: string | null;
  created_at: string;
}

interface StatusTable {
  event_id: string;
  status: TranscriptStatus;
  reason: string | null;
  final_received: Generated<number>;
  revision: Generated<number>;
  updated_at: string;
}

interface TranscriberTables {
  asr_pcm: PcmTable;
  asr_windows: WindowsTable;
  asr_status: StatusTable;
}

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

export interface DoneWindowsMark {
  count: number;
  lastEndSec: number;
  chars: number;
}

export interface StatusRow {
  status: TranscriptStatus;
  reason: string | null;
  finalReceived: boolean;
  revision: number;
}

const now = () => new Date().toISOString();

const toWindow = (r: Selectable<WindowsTable>): WindowRow => ({
  startSec: r.start_sec,
  endSec: r.end_sec,
  status: r.status,
  segments: JSON.parse(r.segments_json) as WhisperSegment[],
  error: r.error,
});

const toStatus = (r: Selectable<StatusTable> | undefined): StatusRow =>
  r
    ? { status: r.status, reason: r.reason, finalReceived: !!r.final_received, revision: r.revision }
    : { status: 'pending', reason: null, finalReceived: false, revision: 0 };

export class TranscriberState {
  private readonly db: Kysely<TranscriberTables>;

  constructor(db: Db) {
    this.db = db.as<TranscriberTables>();
  }

  /** Forgets a deleted event: its PCM pieces, windows and status. */
  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['asr_pcm', 'asr_windows', 'asr_status'], eventId);
  }

  async addPiece(eventId: string, p: PcmPiece): Promise<void> {
    await this.db
      .insertInto('asr_pcm')
      .values({ event_id: eventId, start_sec: p.startSec, duration_sec: p.durationSec, key: p.key, final: p.final ? 1 : 0 })
      // The final message repeats the last piece: it only adds the mark.
      .onConflict((oc) =>
        oc
          .columns(['event_id', 'start_sec'])
          .doUpdateSet((eb) => ({ final: eb.case().when('excluded.final', '=', 1).then(1).else(eb.ref('asr_pcm.final')).end() })),
      )
      .execute();
    if (p.final) await this.setStatus(eventId, {}, true);
  }

  /** The event's PCM pieces in timeline order; with `endingAfter`, only those ending after that second (the ones a new window can use, not the hours before it). */
  async pieces(eventId: string, endingAfter?: number): Promise<PcmPiece[]> {
    let q = this.db.selectFrom('asr_pcm').selectAll().where('event_id', '=', eventId);
    if (endingAfter !== undefined) q = q.where((eb) => eb(eb('start_sec', '+', eb.ref('duration_sec')), '>', endingAfter));
    const rows = await q.orderBy('start_sec').execute();
    return rows.map((r) => ({ startSec: r.start_sec, durationSec: r.duration_sec, key: r.key, final: !!r.final }));
  }

  async saveWindow(eventId: string, w: WindowRow): Promise<void> {
    const values = { end_sec: w.endSec, status: w.status, segments_json: JSON.stringify(w.segments), error: w.error };
    await this.db
      .insertInto('asr_windows')
      .values({ event_id: eventId, start_sec: w.startSec, ...values, created_at: now() })
      .onConflict((oc) => oc.columns(['event_id', 'start_sec']).doUpdateSet(values))
      .execute();
  }

  async windows(eventId: string): Promise<WindowRow[]> {
    return (await this.db.selectFrom('asr_windows').selectAll().where('event_id', '=', eventId).orderBy('start_sec').execute()).map(toWindow);
  }

  /** The finished windows from `fromSec` on (all of them without it), in timeline order. */
  async doneWindows(eventId: string, fromSec?: number): Promise<WindowRow[]> {
    let q = this.db.selectFrom('asr_windows').selectAll().where('event_id', '=', eventId).where('status', '=', 'done');
    if (fromSec !== undefined) q = q.where('start_sec', '>=', fromSec);
    return (await q.orderBy('start_sec').execute()).map(toWindow);
  }

  /** What the finished windows add up to (how many, where the last ends, the characters of their stored text): one aggregate, nothing parsed. */
  async doneWindowsMark(eventId: string): Promise<DoneWindowsMark> {
    const r = await this.db
      .selectFrom('asr_windows')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('end_sec').as('e'), eb.fn.sum(eb.fn('length', ['segments_json'])).as('chars')])
      .where('event_id', '=', eventId)
      .where('status', '=', 'done')
      .executeTakeFirst();
    return { count: Number(r?.n ?? 0), lastEndSec: Number(r?.e ?? 0), chars: Number(r?.chars ?? 0) };
  }

  /** Whether any window failed for good. */
  async anyFailedWindow(eventId: string): Promise<boolean> {
    return !!(await this.db.selectFrom('asr_windows').select('start_sec').where('event_id', '=', eventId).where('status', '=', 'failed').executeTakeFirst());
  }

  /** End of the last window: the transcript covers the timeline up to here. */
  async coveredSec(eventId: string): Promise<number> {
    return (await this.coveredSecOf([eventId])).get(eventId) ?? 0;
  }

  /** coveredSec of several events, in one query. */
  async coveredSecOf(ids: string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows = await this.db
      .selectFrom('asr_windows')
      .select((eb) => ['event_id', eb.fn.max('end_sec').as('e')])
      .where('event_id', 'in', ids)
      .groupBy('event_id')
      .execute();
    return new Map(rows.map((r) => [r.event_id, Number(r.e ?? 0)]));
  }

  async status(eventId: string): Promise<StatusRow> {
    return toStatus(await this.db.selectFrom('asr_status').selectAll().where('event_id', '=', eventId).executeTakeFirst());
  }

  /** Statuses of several events, in one query. */
  async statusesOf(ids: string[]): Promise<Map<string, StatusRow>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('asr_status').selectAll().where('event_id', 'in', ids).execute();
    return new Map(ids.map((id) => [id, toStatus(rows.find((r) => r.event_id === id))]));
  }

  async setStatus(eventId: string, s: { status?: TranscriptStatus; reason?: string | null }, finalReceived?: boolean): Promise<void> {
    const cur = await this.status(eventId);
    const values = {
      status: s.status ?? cur.status,
      reason: s.reason === undefined ? cur.reason : s.reason,
      final_received: (finalReceived ?? cur.finalReceived) ? 1 : 0,
      updated_at: now(),
    };
    await this.db
      .insertInto('asr_status')
      .values({ event_id: eventId, ...values, revision: cur.revision })
      .onConflict((oc) => oc.column('event_id').doUpdateSet(values))
      .execute();
  }

  /** Bumps and returns the revision: the transcript files in storage changed. */
  async bumpRevision(eventId: string): Promise<number> {
    await this.setStatus(eventId, {});
    await this.db
      .updateTable('asr_status')
      .set((eb) => ({ revision: eb('revision', '+', 1) }))
      .where('event_id', '=', eventId)
      .execute();
    return (await this.status(eventId)).revision;
  }
}

export const transcriberMigrations: Migrations = {
  '2026-11-01-transcriber-1': {
    async up(db) {
      await db.schema
        .createTable('asr_pcm')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('duration_sec', 'double precision', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('final', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('asr_pcm_pk', ['event_id', 'start_sec'])
        .execute();
      await db.schema
        .createTable('asr_windows')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('segments_json', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('asr_windows_pk', ['event_id', 'start_sec'])
        .execute();
      await db.schema
        .createTable('asr_status')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('final_received', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
