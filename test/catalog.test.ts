// The catalog on both databases it runs on: the one rule for an event's
// status (every transition, the forbidden ones included, and a race for the
// same change), and events' JSON costing a fixed number of queries however
// many events are listed (and, for the transcoded seconds it shows, however
// many segments an event has).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { canTransition, EVENT_STATUSES, type EventStatus } from '../shared/catalog/status.ts';
import { createStorage } from '../shared/storage/index.ts';
import { eventsJson } from '../recorder/routes.ts';
import { CaptureStore } from '../recorder/store.ts';
import { silentLoudness, silentPeaks } from '../transcoder/analysis.ts';
import { FRAME, RATE, SEGMENT_FRAMES } from '../transcoder/grid.ts';
import { TranscoderState, type SegmentRow } from '../transcoder/state.ts';
import { transcoderView } from '../transcoder/view.ts';
import { transcriberView } from '../transcriber/routes.ts';
import { TranscriberState } from '../transcriber/state.ts';
import { PublicationStore } from '../publisher/publication-store.ts';
import { publisherView } from '../publisher/routes.ts';
import { DIALECTS, testDatabase, type TestDatabase } from './helpers/db.ts';

/** Segment k of an event as the transcoder records it (no file behind it: only the rows are read here). */
function segmentRow(eventId: string, k: number): Omit<SegmentRow, 'pcmNotified'> {
  const span = [k * SEGMENT_FRAMES * FRAME, (k + 1) * SEGMENT_FRAMES * FRAME] as const;
  return {
    eventId,
    k,
    startFrame: k * SEGMENT_FRAMES,
    frames: SEGMENT_FRAMES,
    key: `events/${eventId}/hls/seg-${k}.m4s`,
    bytes: 1,
    pcm16Key: '',
    sha256: null,
    peaks: silentPeaks(...span),
    loudness: silentLoudness(...span),
  };
}

/** The allowed steps that take a new (live) event to each status. */
const PATH: Record<EventStatus, EventStatus[]> = {
  live: [],
  ended: ['ended'],
  publishing: ['ended', 'publishing'],
  published: ['ended', 'publishing', 'published'],
  deleted: ['ended', 'publishing', 'published', 'deleted'],
  failed: ['failed'],
};

describe.each(DIALECTS)('catalog on %s', (dialect) => {
  let t: TestDatabase;
  let queries = 0;
  let catalog: EventCatalog;
  let n = 0;
  const newEvent = async () => {
    const id = `ev_${(++n).toString(16).padStart(16, '0')}`;
    await catalog.createEvent({ id, slug: `s-${n}`, title: `Event ${n}`, source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 10 });
    return id;
  };

  beforeAll(async () => {
    t = await testDatabase(dialect, () => queries++);
    catalog = new EventCatalog(t.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('status transitions', () => {
    for (const from of EVENT_STATUSES) {
      for (const to of EVENT_STATUSES) {
        const allowed = canTransition(from, to);
        it(`${from} → ${to}: ${allowed ? 'allowed' : from === to ? 'a repeat, changes nothing' : 'refused'}`, async () => {
          const id = await newEvent();
          for (const step of PATH[from]) expect(await catalog.transition(id, step, { reason: 'r', error: 'e' })).toBe(true);
          expect((await catalog.getEvent(id, { includeDeleted: true }))!.status).toBe(from);
          expect(await catalog.transition(id, to, { reason: 'again', error: 'again' })).toBe(allowed);
          const ev = (await catalog.getEvent(id, { includeDeleted: true }))!;
          expect(ev.status).toBe(allowed ? to : from);
          // A refused or repeated change touches nothing else either.
          if (!allowed) expect(ev.endReason).toBe(PATH[from].includes('ended') ? 'r' : null);
        });
      }
    }

    it('never publishes a failed capture, and publishes once', async () => {
      const failed = await newEvent();
      await catalog.transition(failed, 'ended', { reason: 'source gone' });
      await catalog.transition(failed, 'failed', { error: 'no audio was captured' });
      expect(await catalog.transition(failed, 'publishing')).toBe(false);
      expect(await catalog.transition(failed, 'published')).toBe(false);
      expect((await catalog.getEvent(failed))!).toMatchObject({ status: 'failed', error: 'no audio was captured', endReason: 'source gone' });
      const ok = await newEvent();
      await catalog.transition(ok, 'ended', { reason: 'source ended' });
      await catalog.transition(ok, 'publishing');
      // Two publishers racing: exactly one publication.
      const results = await Promise.all([catalog.transition(ok, 'published'), catalog.transition(ok, 'published'), catalog.transition(ok, 'published')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await catalog.transition(ok, 'failed', { error: 'late' })).toBe(false);
      expect((await catalog.getEvent(ok))!.status).toBe('published');
    });

    it('leaves a deleted event out of every read; its purged tombstone keeps no title, host, source or key', async () => {
      const id = await newEvent();
      const other = await newEvent();
      const { slug } = (await catalog.getEvent(id))!;
      for (const step of PATH.published) await catalog.transition(id, step);
      await catalog.addGap({ eventId: id, startSec: 1, endSec: 2, reason: 'source dropped' });
      await catalog.addFailure({ eventId: id, stage: 'transcriber', startSec: 0, endSec: 6, reason: 'r' });
      expect(await catalog.transition(id, 'deleted')).toBe(true);
      expect(await catalog.getEvent(id)).toBeUndefined();
      expect(await catalog.getEventBySlug(slug)).toBeUndefined();
      const listed = (await catalog.listEvents(1000)).map((e) => e.id);
      expect(listed).toContain(other);
      expect(listed).not.toContain(id);
      expect([...(await catalog.eventsById([id, other])).keys()]).toEqual([other]);
      expect(await catalog.deletedUnpurged()).toContain(id);
      await catalog.purgeDeleted(id);
      await catalog.purgeDeleted(id);
      expect(await catalog.deletedUnpurged()).not.toContain(id);
      expect(await catalog.getEvent(id, { includeDeleted: true })).toMatchObject({
        status: 'deleted',
        slug,
        title: '',
        host: null,
        streamKeyHash: null,
        source: { type: 'push' },
      });
      expect(await catalog.gaps(id)).toEqual([]);
      expect(await catalog.failures(id)).toEqual([]);
      // Purging another event's id, or a live one, changes nothing.
      await catalog.purgeDeleted(other);
      expect((await catalog.getEvent(other))!.title).not.toBe('');
      expect(await catalog.transition(id, 'published')).toBe(false);
      expect(await catalog.transition(other, 'deleted')).toBe(false);
    });
  });

  it('lists events with a fixed number of queries, whatever their number', async () => {
    const config = loadConfig({ REPLAY_DATA_DIR: '/tmp/replay-unused' });
    const storage = createStorage(config);
    const transcoderState = new TranscoderState(t.db);
    const transcriberState = new TranscriberState(t.db);
    const publications = new PublicationStore(t.db);
    const capture = new CaptureStore(t.db);
    const extensions = [transcoderView(transcoderState, storage), transcriberView(transcriberState, config), publisherView({ storage, config, publications })];
    const cost = async (limit: number) => {
      const events = await catalog.listEvents(limit);
      const before = queries;
      const json = await eventsJson(events, catalog, extensions);
      expect(json).toHaveLength(events.length);
      return queries - before;
    };
    // Give a few events chunks, gaps, failures, segments and a publication, so every view has rows to read.
    for (let i = 0; i < 25; i++) {
      const id = await newEvent();
      await capture.addChunk({
        eventId: id,
        sessionNo: 1,
        spoolName: 's1/c000000.ts',
        startSec: 0,
        durationSec: 6,
        bytes: 1,
        sha256: 'x',
        key: `private/events/${id}/source/s1-c000000.ts`,
      });
      await catalog.addGap({ eventId: id, startSec: 6, endSec: 7, reason: 'source dropped' });
      await catalog.addFailure({ eventId: id, stage: 'transcoder', startSec: 0, endSec: 6, reason: 'r' });
      await transcoderState.ensureState(id);
      for (const k of [0, 1]) await transcoderState.addSegment(segmentRow(id, k));
      await publications.create({
        eventId: id,
        publishedAt: new Date().toISOString(),
        latencyMs: 1,
        durationSec: 6,
        audioBytes: 1,
        transcriptStatus: 'complete',
        transcriptRevision: 1,
      });
    }
    const one = await cost(1);
    const many = await cost(100);
    expect(many).toBe(one);
    expect(one).toBeLessThanOrEqual(8);
    const [ev] = await eventsJson(await catalog.listEvents(1), catalog, extensions);
    expect(ev).toMatchObject({ capturedSec: 6, timelineSec: 6, chunks: 1, gaps: [{ startSec: 6, endSec: 7 }], publishedAt: expect.any(String) });
    expect(ev.transcodedSec).toBeCloseTo((2 * SEGMENT_FRAMES * FRAME) / RATE, 3);
  });

  it('counts as transcoded the segments made from the first one up to a hole, whatever was made after it', async () => {
    const st = new TranscoderState(t.db);
    const [a, b, c] = [await newEvent(), await newEvent(), await newEvent()];
    for (const id of [a, b, c]) await st.ensureState(id);
    const made = async (id: string, ks: number[]) => {
      for (const k of ks) await st.addSegment(segmentRow(id, k));
    };
    const seconds = (n: number) => (n * SEGMENT_FRAMES * FRAME) / RATE;
    await made(a, [0, 1, 2]);
    await made(b, [0, 1, 3, 4]); // segment 2 not made yet
    await made(c, [1, 2]); // not even the first
    let got = await st.transcodedSecOf([a, b, c]);
    expect([got.get(a), got.get(b), got.get(c)]).toEqual([seconds(3), seconds(2), 0]);
    expect(await st.playablePrefix(b)).toEqual({ segments: 2, frames: 2 * SEGMENT_FRAMES });
    await made(b, [2]);
    await made(c, [0]);
    got = await st.transcodedSecOf([a, b, c]);
    expect([got.get(a), got.get(b), got.get(c)]).toEqual([seconds(3), seconds(5), seconds(3)]);
  });
});
