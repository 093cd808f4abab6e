// The transcoder's record of audio.m4a as it is written during the event
// (progressive-m4a.ts):
//
//   m4a_uploads  one row per event: the storage upload the parts go to, and
//                once joined, the finished file's size and sha256
//   m4a_parts    one row per part: which rendition segments [from_k, to_k)
//                it holds, their frame sizes (for the header made at the
//                end), and the part's ETag once uploaded (part 1, which
//                starts with the header, is uploaded only at the end; until
//                then its media data waits in a work object)
//
// Rows are written after the objects and parts they name, so a retried job
// finds them done; a part rewritten by a second attempt holds the same bytes.
import type { Kysely } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import { deleteEventRows } from '../shared/db/forget.ts';
import type { Migrations } from '../shared/db/migrate.ts';

interface UploadsTable {
  event_id: string;
  upload_id: string;
  size: number | null;
  sha256: string | null;
  created_at: string;
}

interface PartsTable {
  event_id: string;
  part_no: number;
  from_k: number;
  to_k: number;
  bytes: number;
  /** Frame sizes, 16-bit big-endian, base64 (an AAC frame is at most 768 bytes a channel). */
  frame_sizes: string;
  etag: string | null;
}

interface M4aTables {
  m4a_uploads: UploadsTable;
  m4a_parts: PartsTable;
}

export interface M4aPart {
  partNo: number;
  fromK: number;
  toK: number;
  bytes: number;
  frameSizes: ArrayLike<number>;
  etag: string | null;
}

export interface M4aUpload {
  uploadId: string;
  /** Set once the parts were joined. */
  size: number | null;
  sha256: string | null;
}

export const encodeSizes = (sizes: ArrayLike<number>) => {
  const b = Buffer.alloc(sizes.length * 2);
  for (let i = 0; i < sizes.length; i++) b.writeUInt16BE(sizes[i], i * 2);
  return b.toString('base64');
};

/** A typed array: the end reads every part's sizes (1.7 million frames for 10 hours) for the header. */
const decodeSizes = (text: string) => {
  const b = Buffer.from(text, 'base64');
  const out = new Uint16Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (b[2 * i] << 8) | b[2 * i + 1];
  return out;
};

export class M4aState {
  private readonly db: Kysely<M4aTables>;

  constructor(db: Db) {
    this.db = db.as<M4aTables>();
  }

  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['m4a_parts', 'm4a_uploads'], eventId);
  }

  async upload(eventId: string): Promise<M4aUpload | undefined> {
    const r = await this.db.selectFrom('m4a_uploads').selectAll().where('event_id', '=', eventId).executeTakeFirst();
    return r ? { uploadId: r.upload_id, size: r.size === null ? null : Number(r.size), sha256: r.sha256 } : undefined;
  }

  /** Records `uploadId` unless the event has one already; returns the one that holds (a concurrent starter may have won). */
  async claimUpload(eventId: string, uploadId: string): Promise<string> {
    await this.db
      .insertInto('m4a_uploads')
      .values({ event_id: eventId, upload_id: uploadId, size: null, sha256: null, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
    return (await this.upload(eventId))!.uploadId;
  }

  async completed(eventId: string, size: number, sha256: string | null): Promise<void> {
    await this.db.updateTable('m4a_uploads').set({ size, sha256 }).where('event_id', '=', eventId).execute();
  }

  async parts(eventId: string): Promise<M4aPart[]> {
    const rows = await this.db.selectFrom('m4a_parts').selectAll().where('event_id', '=', eventId).orderBy('part_no').execute();
    return rows.map((r) => ({
      partNo: r.part_no,
      fromK: r.from_k,
      toK: r.to_k,
      bytes: Number(r.bytes),
      frameSizes: decodeSizes(r.frame_sizes),
      etag: r.etag,
    }));
  }

  /** The last part recorded (without its frame sizes): where the next one starts. */
  async lastPart(eventId: string): Promise<{ partNo: number; toK: number } | undefined> {
    const r = await this.db
      .selectFrom('m4a_parts')
      .select(['part_no', 'to_k'])
      .where('event_id', '=', eventId)
      .orderBy('part_no', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? { partNo: r.part_no, toK: r.to_k } : undefined;
  }

  /** Idempotent: a part recorded twice (a retried job) keeps its first row, which names the same segments. */
  async addPart(eventId: string, p: M4aPart): Promise<void> {
    await this.db
      .insertInto('m4a_parts')
      .values({ event_id: eventId, part_no: p.partNo, from_k: p.fromK, to_k: p.toK, bytes: p.bytes, frame_sizes: encodeSizes(p.frameSizes), etag: p.etag })
      .onConflict((oc) => oc.columns(['event_id', 'part_no']).doNothing())
      .execute();
  }

  async setEtag(eventId: string, partNo: number, etag: string): Promise<void> {
    await this.db.updateTable('m4a_parts').set({ etag }).where('event_id', '=', eventId).where('part_no', '=', partNo).execute();
  }
}

export const m4aMigrations: Migrations = {
  '2026-12-07-transcoder-m4a-1': {
    async up(db) {
      await db.schema
        .createTable('m4a_uploads')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint')
        .addColumn('sha256', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('m4a_parts')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('part_no', 'integer', (c) => c.notNull())
        .addColumn('from_k', 'integer', (c) => c.notNull())
        .addColumn('to_k', 'integer', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('frame_sizes', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addPrimaryKeyConstraint('m4a_parts_pk', ['event_id', 'part_no'])
        .execute();
    },
  },
};
