// Two recorders archiving one HLS event (redundant capture) through their own
// archivers into one catalog: round after round both hand in the segment they
// fetched, registering the same media sequence at the same moment. Each media
// sequence is archived once, in order, with no gap where only one of them had
// it, no object left behind by the copy that lost, and nothing archived after
// the event ended.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Archiver, type SpooledSegment } from '../recorder/archiver.ts';
import { CaptureStore } from '../recorder/store.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { openQueues, redisConnection, type Queues } from '../shared/queues.ts';
import { createStorage } from '../shared/storage/index.ts';
import { DIALECTS, testDatabase } from './helpers/db.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';

process.env.LOG_LEVEL ??= 'error';

let redis: TcpRedis;
let queues: Queues;
beforeAll(async () => {
  redis = await tcpRedis();
  queues = openQueues(redisConnection(redis.url), 'archiver-test');
});
afterAll(async () => {
  await queues?.close();
  await redis?.close();
});

const SEGMENTS = 10;
const SEGMENT_SEC = 2;

describe.each(DIALECTS)('two recorders archiving one HLS event, on %s', (dialect) => {
  it('archive each media sequence once, in order, whoever registers it first', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-archivers-'));
    const t = await testDatabase(dialect);
    try {
      const storage = createStorage(loadConfig({ REPLAY_DATA_DIR: tmp }));
      const catalog = new EventCatalog(t.db);
      const capture = new CaptureStore(t.db);
      const log = createLogger('archiver-test');
      const id = 'ev_00000000000000aa';
      await catalog.createEvent({
        id,
        slug: 'two',
        title: 'Two recorders',
        source: { url: 'https://origin.example/live.m3u8' },
        streamKeyHash: null,
        reconnectWindowSec: 60,
      });
      const recorders = [0, 1].map((n) => ({ dir: path.join(tmp, `spool-${n}`), archiver: new Archiver({ catalog, capture, storage, queues, log }) }));
      const hand = (n: number, mediaSeq: number, facts: Partial<SpooledSegment> = {}) => {
        const { dir, archiver } = recorders[n];
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `m${mediaSeq}.ts`), `segment ${mediaSeq}`);
        archiver.submit({
          kind: 'segment',
          eventId: id,
          dir,
          name: `m${mediaSeq}.ts`,
          durationSec: SEGMENT_SEC,
          epoch: 0,
          mediaSeq,
          lostSec: 0,
          discontinuity: false,
          gapReason: 'source dropped',
          ...facts,
        });
      };

      for (let seq = 0; seq < SEGMENTS; seq++) {
        hand(0, seq);
        // The second recorder could not fetch segment 4: it says so with segment 5.
        if (seq !== 4) hand(1, seq, seq === 5 ? { lostSec: SEGMENT_SEC, discontinuity: true } : {});
        await Promise.all(recorders.map((r) => r.archiver.drain(id)));
      }

      const chunks = await capture.chunks(id);
      expect(chunks.map((c) => c.spoolName)).toEqual(Array.from({ length: SEGMENTS }, (_, i) => `hls/m${i}`));
      expect(chunks.map((c) => c.startSec)).toEqual(Array.from({ length: SEGMENTS }, (_, i) => i * SEGMENT_SEC));
      expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: SEGMENTS }, (_, i) => i));
      expect(await catalog.gaps(id)).toEqual([]);
      const ev = await catalog.getEvent(id);
      expect(ev?.chunkCount).toBe(SEGMENTS);
      expect(ev?.capturedSec).toBe(SEGMENTS * SEGMENT_SEC);
      // One object per archived segment, the one the catalog names; both spools emptied.
      const objects = (await storage.list(`private/events/${id}/`)).map((o) => o.key).sort();
      expect(objects).toEqual(chunks.map((c) => c.key).sort());
      for (const r of recorders) expect(fs.readdirSync(r.dir)).toEqual([]);

      // A segment that arrives after the event ended is not part of the recording.
      expect(await catalog.transition(id, 'ended', { reason: 'source ended' })).toBe(true);
      hand(1, SEGMENTS);
      await recorders[1].archiver.drain(id);
      expect((await capture.chunks(id)).length).toBe(SEGMENTS);
      expect((await storage.list(`private/events/${id}/`)).length).toBe(SEGMENTS);
      expect(fs.readdirSync(recorders[1].dir)).toEqual([]);
    } finally {
      await t.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
