// The leases of redundant capture, on both catalogs: each replica place is
// held by one process at a time, a process holds one place of an event at
// most (primary or replica), a lapsed place goes to another process and
// counts a takeover, and places of events no longer live are nobody's concern.
import { describe, expect, it } from 'vitest';
import { ReplicaLeases } from '../recorder/replica-leases.ts';
import { CaptureStore } from '../recorder/store.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { DIALECTS, testDatabase } from './helpers/db.ts';

const LEASE_MS = 60_000;

describe.each(DIALECTS)('replica leases, on %s', (dialect) => {
  it('give each place to one process, and one place of an event to each process', async () => {
    const t = await testDatabase(dialect);
    try {
      const catalog = new EventCatalog(t.db);
      const capture = new CaptureStore(t.db);
      const replicas = new ReplicaLeases(t.db);
      const id = 'ev_00000000000000cc';
      await catalog.createEvent({
        id,
        slug: 'r',
        title: 'Redundant',
        source: { url: 'https://origin.example/live.m3u8' },
        streamKeyHash: null,
        reconnectWindowSec: 60,
      });
      expect(await replicas.addSlots(id, 2)).toEqual([1, 2]);
      expect(await replicas.addSlots(id, 0)).toEqual([]);
      expect((await replicas.unheld()).map((u) => u.slot)).toEqual([1, 2]);

      // A holds the primary place: no replica place for A; B takes place 1, and not place 2 as well.
      expect(await capture.acquire(id, 'A', LEASE_MS)).toBe(true);
      expect(await replicas.acquire(id, 1, 'A', LEASE_MS)).toBe(false);
      expect(await replicas.acquire(id, 1, 'B', LEASE_MS)).toBe(true);
      expect(await replicas.acquire(id, 2, 'B', LEASE_MS)).toBe(false);
      expect(await replicas.acquire(id, 1, 'C', LEASE_MS)).toBe(false);
      expect(await replicas.acquire(id, 2, 'C', LEASE_MS)).toBe(true);
      // Holding a replica place, B may not take the primary one (its lease lapsed or not).
      await capture.release(id, 'A', null);
      expect(await capture.acquire(id, 'B', LEASE_MS)).toBe(false);
      expect(await capture.acquire(id, 'A', LEASE_MS)).toBe(true);
      expect(await replicas.unheld()).toEqual([]);

      // B's lease lapses (its process died): the place is unheld, D takes it, a takeover.
      expect(await replicas.renewAll('B', -1)).toEqual([{ eventId: id, slot: 1, endRequested: false, status: 'live' }]);
      expect(await replicas.unheld()).toEqual([{ eventId: id, slot: 1 }]);
      expect(await replicas.acquire(id, 1, 'D', LEASE_MS)).toBe(true);
      const places = (await replicas.slotsOf([id])).get(id);
      expect(places).toEqual([
        { slot: 1, holder: 'D', takeovers: 1 },
        { slot: 2, holder: 'C', takeovers: 0 },
      ]);

      // Released and dropped places; an end asked for is seen at renewal.
      await replicas.release(id, 2, 'C');
      expect(await replicas.unheld()).toEqual([{ eventId: id, slot: 2 }]);
      await replicas.dropSlot(id, 2);
      expect(await replicas.unheld()).toEqual([]);
      await catalog.requestEnd(id);
      expect(await replicas.renewAll('D', LEASE_MS)).toEqual([{ eventId: id, slot: 1, endRequested: true, status: 'live' }]);
      // Once the event is not live, its places are nobody's concern; forgotten with the event.
      await replicas.release(id, 1, 'D');
      expect(await catalog.transition(id, 'ended', { reason: 'source ended' })).toBe(true);
      expect(await replicas.unheld()).toEqual([]);
      await capture.forgetEvent(id);
      expect((await replicas.slotsOf([id])).get(id)).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
