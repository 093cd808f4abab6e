// Markers and chapters: the publisher's tables for an event's structure.
//
//   chapter_markers    a moment a host marked while live (`POST .../markers`):
//                      its time on the recording and its title
//   chapter_documents  the chapters as the host last edited them (`PUT
//                      .../chapters`), a JSON chapters document, with a
//                      revision that grows with every change
//
// Until a host edits them, an event's chapters are its markers. After an
// edit the edited document is the chapters, and a marker set later is added
// to it, so marking while live and editing afterwards never lose each other.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Db } from '../../shared/db/database.ts';
import { deleteEventRows } from '../../shared/db/forget.ts';
import type { Migrations } from '../../shared/db/migrate.ts';
import { CHAPTERS_VERSION, sortChapters, type ChaptersDocument } from './chapters-format.ts';

interface MarkersTable {
  id: string;
  event_id: string;
  at_sec: number;
  title: string;
  created_at: string;
}

interface DocumentsTable {
  event_id: string;
  doc_json: string;
  revision: number;
  updated_at: string;
}

export interface ChapterTables {
  chapter_markers: MarkersTable;
  chapter_documents: DocumentsTable;
}

export interface Marker {
  id: string;
  atSec: number;
  title: string;
  createdAt: string;
}

export interface EventChapters {
  doc: ChaptersDocument;
  /** 0: no marker and no edit yet. */
  revision: number;
}

export const chapterMigrations: Migrations = {
  '2026-12-08-publisher-chapters-1': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('chapter_markers')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('at_sec', 'double precision', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('chapter_markers_by_event').ifNotExists().on('chapter_markers').columns(['event_id', 'at_sec']).execute();
      await db.schema
        .createTable('chapter_documents')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('doc_json', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

const fromMarkers = (markers: Marker[]): ChaptersDocument => ({
  version: CHAPTERS_VERSION,
  chapters: sortChapters(markers.map((m) => ({ startTime: m.atSec, title: m.title }))),
});

export class ChapterStore {
  private readonly db: Kysely<ChapterTables>;
  /** PostgreSQL locks the document's row for a change; SQLite runs one write transaction at a time anyway. */
  private readonly pg: boolean;

  constructor(db: Db) {
    this.db = db.as<ChapterTables>();
    this.pg = db.dialect === 'postgres';
  }

  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['chapter_markers', 'chapter_documents'], eventId);
  }

  async markers(eventId: string): Promise<Marker[]> {
    const rows = await this.db.selectFrom('chapter_markers').selectAll().where('event_id', '=', eventId).orderBy('at_sec').orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, atSec: r.at_sec, title: r.title, createdAt: r.created_at }));
  }

  /** The event's chapters as they stand: the edited document, else its markers. */
  async chapters(eventId: string): Promise<EventChapters> {
    const doc = await this.db.selectFrom('chapter_documents').selectAll().where('event_id', '=', eventId).executeTakeFirst();
    if (doc) return { doc: JSON.parse(doc.doc_json) as ChaptersDocument, revision: doc.revision };
    const markers = await this.markers(eventId);
    return { doc: fromMarkers(markers), revision: markers.length };
  }

  /** Which of `eventIds` have chapters (a marker or an edited document with chapters): one query each, for a whole feed. */
  async withChapters(eventIds: string[]): Promise<Set<string>> {
    if (!eventIds.length) return new Set();
    const marked = await this.db.selectFrom('chapter_markers').select('event_id').distinct().where('event_id', 'in', eventIds).execute();
    const docs = await this.db.selectFrom('chapter_documents').select(['event_id', 'doc_json']).where('event_id', 'in', eventIds).execute();
    const out = new Set(marked.map((r) => r.event_id));
    // An edited document decides, even one that removed every chapter.
    for (const d of docs) {
      if ((JSON.parse(d.doc_json) as ChaptersDocument).chapters.length) out.add(d.event_id);
      else out.delete(d.event_id);
    }
    return out;
  }

  /** Records a marker; an edited document gets it as a chapter too. */
  async addMarker(eventId: string, atSec: number, title: string): Promise<Marker> {
    const marker: Marker = { id: 'mk_' + crypto.randomBytes(12).toString('base64url'), atSec, title, createdAt: new Date().toISOString() };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('chapter_markers').values({ id: marker.id, event_id: eventId, at_sec: atSec, title, created_at: marker.createdAt }).execute();
      const doc = await trx
        .selectFrom('chapter_documents')
        .selectAll()
        .where('event_id', '=', eventId)
        .$if(this.pg, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!doc) return;
      const d = JSON.parse(doc.doc_json) as ChaptersDocument;
      d.chapters = sortChapters([...d.chapters, { startTime: atSec, title }]);
      await trx
        .updateTable('chapter_documents')
        .set({ doc_json: JSON.stringify(d), revision: doc.revision + 1, updated_at: marker.createdAt })
        .where('event_id', '=', eventId)
        .execute();
    });
    return marker;
  }

  /** Replaces the chapters with a host's document; returns its revision. */
  async saveEdited(eventId: string, doc: ChaptersDocument): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const before = await this.revisionIn(trx, eventId);
      const row = { event_id: eventId, doc_json: JSON.stringify(doc), revision: before + 1, updated_at: new Date().toISOString() };
      await trx
        .insertInto('chapter_documents')
        .values(row)
        .onConflict((oc) => oc.column('event_id').doUpdateSet({ doc_json: row.doc_json, revision: row.revision, updated_at: row.updated_at }))
        .execute();
      return row.revision;
    });
  }

  /** The revision the chapters stand at (markers count until the first edit), read inside the caller's transaction. */
  private async revisionIn(trx: Kysely<ChapterTables>, eventId: string): Promise<number> {
    const doc = await trx
      .selectFrom('chapter_documents')
      .select('revision')
      .where('event_id', '=', eventId)
      .$if(this.pg, (q) => q.forUpdate())
      .executeTakeFirst();
    if (doc) return doc.revision;
    const n = await trx
      .selectFrom('chapter_markers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow();
    return Number(n.n);
  }
}
