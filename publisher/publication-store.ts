// The publisher's own tables:
//
//   publications      one row per published event, written once when it is
//                     first published; later transcript updates bump its revision
//   publisher_inputs  what the publisher was told, per event: when the
//                     rendition became final, and where the transcript stands
//                     (from the transcript-ready messages)
//
// A retried publish job finds the publication and republishes nothing new.
import type { Kysely, Selectable } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import type { TranscriptStatus } from '../shared/queues.ts';
import { deleteEventRows } from '../shared/db/forget.ts';

interface PublicationsTable {
  event_id: string;
  published_at: string;
  latency_ms: number;
  duration_sec: number;
  audio_bytes: number;
  transcript_status: string;
  transcript_revision: number;
  revision: number;
}

interface InputsTable {
  event_id: string;
  rendition_ready_at: string | null;
  transcript_status: TranscriptStatus;
  transcript_reason: string | null;
  transcript_revision: number;
  transcript_final: number;
}

export interface PublisherTables {
  publications: PublicationsTable;
  publisher_inputs: InputsTable;
}

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

/** Where the transcript stands, as the transcriber last said. */
export interface TranscriptInfo {
  status: TranscriptStatus;
  reason: string | null;
  revision: number;
  /** It will not change any more. */
  final: boolean;
}

const toPub = (r: Selectable<PublicationsTable>): Publication => ({
  eventId: r.event_id,
  publishedAt: r.published_at,
  latencyMs: r.latency_ms,
  durationSec: r.duration_sec,
  audioBytes: r.audio_bytes,
  transcriptStatus: r.transcript_status,
  transcriptRevision: r.transcript_revision,
  revision: r.revision,
});

const NO_TRANSCRIPT: TranscriptInfo = { status: 'pending', reason: null, revision: 0, final: false };

export class PublicationStore {
  private readonly db: Kysely<PublisherTables>;

  constructor(db: Db) {
    this.db = db.as<PublisherTables>();
  }

  /** Forgets a deleted event: its publication and the inputs that led to it. */
  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['publications', 'publisher_inputs'], eventId);
  }

  async get(eventId: string): Promise<Publication | undefined> {
    const r = await this.db.selectFrom('publications').selectAll().where('event_id', '=', eventId).executeTakeFirst();
    return r ? toPub(r) : undefined;
  }

  /** Publications of several events, in one query. */
  async getMany(ids: string[]): Promise<Map<string, Publication>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('publications').selectAll().where('event_id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.event_id, toPub(r)]));
  }

  /** Inserts the first publication; returns false when one existed (a retried or repeated publish). */
  async create(p: Omit<Publication, 'revision'>): Promise<boolean> {
    const r = await this.db
      .insertInto('publications')
      .values({
        event_id: p.eventId,
        published_at: p.publishedAt,
        latency_ms: p.latencyMs,
        duration_sec: p.durationSec,
        audio_bytes: p.audioBytes,
        transcript_status: p.transcriptStatus,
        transcript_revision: p.transcriptRevision,
        revision: 0,
      })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Records a newer transcript (files or status); returns the new publication revision, or undefined when nothing changed. */
  async updateTranscript(eventId: string, status: string, transcriptRevision: number): Promise<number | undefined> {
    const r = await this.db
      .updateTable('publications')
      .set((eb) => ({ transcript_status: status, transcript_revision: transcriptRevision, revision: eb('revision', '+', 1) }))
      .where('event_id', '=', eventId)
      .where((eb) =>
        eb.or([
          eb('transcript_revision', '<', transcriptRevision),
          eb.and([eb('transcript_revision', '=', transcriptRevision), eb('transcript_status', '!=', status)]),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) ? (await this.get(eventId))!.revision : undefined;
  }

  async published(limit = 200): Promise<Publication[]> {
    return (await this.db.selectFrom('publications').selectAll().orderBy('published_at', 'desc').limit(limit).execute()).map(toPub);
  }

  // ---- what the publisher was told

  /** Notes that the rendition is final; returns when that was first noted. */
  async renditionReady(eventId: string): Promise<string> {
    await this.db
      .insertInto('publisher_inputs')
      .values({
        event_id: eventId,
        rendition_ready_at: new Date().toISOString(),
        transcript_status: 'pending',
        transcript_reason: null,
        transcript_revision: 0,
        transcript_final: 0,
      })
      .onConflict((oc) =>
        oc
          .column('event_id')
          .doUpdateSet((eb) => ({ rendition_ready_at: eb.fn.coalesce('publisher_inputs.rendition_ready_at', 'excluded.rendition_ready_at') })),
      )
      .execute();
    return (await this.inputs(eventId)).renditionReadyAt!;
  }

  /** Records where the transcript stands, unless a newer message was recorded already. */
  async transcriptSaid(eventId: string, t: TranscriptInfo): Promise<void> {
    const values = { transcript_status: t.status, transcript_reason: t.reason, transcript_revision: t.revision, transcript_final: t.final ? 1 : 0 };
    await this.db
      .insertInto('publisher_inputs')
      .values({ event_id: eventId, rendition_ready_at: null, ...values })
      .onConflict((oc) => oc.column('event_id').doUpdateSet(values).where('publisher_inputs.transcript_revision', '<=', t.revision))
      .execute();
  }

  async inputs(eventId: string): Promise<{ renditionReadyAt: string | null; transcript: TranscriptInfo }> {
    const r = await this.db.selectFrom('publisher_inputs').selectAll().where('event_id', '=', eventId).executeTakeFirst();
    if (!r) return { renditionReadyAt: null, transcript: NO_TRANSCRIPT };
    return {
      renditionReadyAt: r.rendition_ready_at,
      transcript: { status: r.transcript_status, reason: r.transcript_reason, revision: r.transcript_revision, final: !!r.transcript_final },
    };
  }
}
