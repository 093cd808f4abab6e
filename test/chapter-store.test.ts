// The publisher's chapter tables on both catalogs (migrated as the service
// migrates them): markers become chapters until a host edits them, a marker
// set after an edit joins the edited document, the revision grows with each
// change, concurrent markers on PostgreSQL (row lock) lose none, a feed asks
// which events have chapters in one go, and a deleted event's rows go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChapterStore } from '../publisher/chapters/chapter-store.ts';
import { DIALECTS, testDatabase, type TestDatabase } from './helpers/db.ts';

describe.each(DIALECTS)('chapter tables on %s', (dialect) => {
  let t: TestDatabase;
  let store: ChapterStore;
  beforeAll(async () => {
    t = await testDatabase(dialect);
    store = new ChapterStore(t.db);
  });
  afterAll(() => t?.close());

  it('reads markers as chapters in time order until an edit, then the edit with later markers added', async () => {
    expect(await store.chapters('ev_a')).toEqual({ doc: { version: '1.2.0', chapters: [] }, revision: 0 });
    await store.addMarker('ev_a', 30, 'Later');
    await store.addMarker('ev_a', 10, 'Earlier');
    expect(await store.chapters('ev_a')).toEqual({
      doc: {
        version: '1.2.0',
        chapters: [
          { startTime: 10, title: 'Earlier' },
          { startTime: 30, title: 'Later' },
        ],
      },
      revision: 2,
    });
    expect(await store.saveEdited('ev_a', { version: '1.2.0', chapters: [{ startTime: 0, title: 'Start' }] })).toBe(3);
    await store.addMarker('ev_a', 5, 'Note');
    const now = await store.chapters('ev_a');
    expect(now.revision).toBe(4);
    expect(now.doc.chapters).toEqual([
      { startTime: 0, title: 'Start' },
      { startTime: 5, title: 'Note' },
    ]);
    expect((await store.markers('ev_a')).map((m) => m.title)).toEqual(['Note', 'Earlier', 'Later']);
  });

  it('loses no marker set at the same time', async () => {
    await store.saveEdited('ev_b', { version: '1.2.0', chapters: [] });
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.addMarker('ev_b', i, `m${i}`)));
    const now = await store.chapters('ev_b');
    expect(now.doc.chapters.map((c) => c.title)).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}`));
    expect(now.revision).toBe(9);
  });

  it('says which events have chapters, an edit that removed them all included, and forgets an event', async () => {
    await store.addMarker('ev_c', 1, 'x');
    await store.saveEdited('ev_c', { version: '1.2.0', chapters: [] });
    expect([...(await store.withChapters(['ev_a', 'ev_b', 'ev_c', 'ev_none']))].sort()).toEqual(['ev_a', 'ev_b']);
    await store.forgetEvent('ev_a');
    expect(await store.chapters('ev_a')).toEqual({ doc: { version: '1.2.0', chapters: [] }, revision: 0 });
    expect(await store.withChapters([])).toEqual(new Set());
  });
});
