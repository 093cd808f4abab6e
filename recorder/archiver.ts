// Moves sealed chunks from the spool to the archive, in order, per event:
// hash, upload, record in the catalog, delete the spool file, then hand the
// chunk to the queue. A chunk cut by the segmenter knows its place on the
// timeline when it is sealed; an HLS media segment is placed here, after the
// event's last archived chunk, and is archived once per media sequence
// whichever recorder fetched it (segment-placement.ts). A storage outage stalls this queue (capture carries on
// into the spool) and it catches up when storage is back; a Redis outage
// leaves chunks "archived" in the catalog and the sweep enqueues them later.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { EventCatalog } from '../shared/catalog/events.ts';
import type { Logger } from '../shared/log.ts';
import { metrics } from '../shared/metrics.ts';
import { withTimeout, type Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { isAfter, mediaPositionOf, placeSegment, segmentSpoolName, type SegmentFacts } from './segment-placement.ts';
import { removeSpooled } from './spool.ts';
import { EventEndedError, PlacementChangedError, type CaptureStore, type ChunkRow, type PlacementGuard } from './store.ts';

/** A chunk the segmenter cut from a stream, placed on the timeline when it was sealed. */
export interface SpooledChunk {
  kind?: 'cut';
  eventId: string;
  sessionNo: number;
  dir: string;
  name: string;
  startSec: number;
  durationSec: number;
}

/** An HLS media segment, remuxed to MPEG-TS in the spool; placed when it is archived. */
export interface SpooledSegment extends SegmentFacts {
  kind: 'segment';
  eventId: string;
  dir: string;
  name: string;
  durationSec: number;
  /** What the gap before it is called, when the source lost time there. */
  gapReason: string;
}

type Spooled = SpooledChunk | SpooledSegment;

/** Shorter gaps are rounding, not lost audio. */
const MIN_GAP_SEC = 0.05;

export interface ArchiverDeps {
  catalog: EventCatalog;
  capture: CaptureStore;
  storage: Storage;
  queues: Queues;
  log: Logger;
}

const ENQUEUE_TIMEOUT_MS = 3000;
/** Placements of one segment in a row that other recorders overtake before it is left to the lane's retry. */
const MAX_PLACEMENTS = 5;
const MAX_BACKOFF_MS = 15_000;

export function spoolName(sessionNo: number, name: string): string {
  return `s${sessionNo}/${name}`;
}

async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const part of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    h.update(part);
    bytes += part.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

export class Archiver {
  private lanes = new Map<string, { items: Spooled[]; running: Promise<void> | null; idle: (() => void)[] }>();
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly deps: ArchiverDeps) {}

  /** Queues a sealed chunk; chunks of one event are archived strictly in submission order. */
  submit(item: Spooled): void {
    let lane = this.lanes.get(item.eventId);
    if (!lane) this.lanes.set(item.eventId, (lane = { items: [], running: null, idle: [] }));
    lane.items.push(item);
    if (!lane.running) lane.running = this.runLane(item.eventId);
  }

  /** Resolves when every chunk submitted for the event so far is archived. */
  drain(eventId: string): Promise<void> {
    const lane = this.lanes.get(eventId);
    if (!lane || (!lane.running && !lane.items.length)) return Promise.resolve();
    return new Promise((r) => lane.idle.push(r));
  }

  pending(eventId: string): number {
    return this.lanes.get(eventId)?.items.length ?? 0;
  }

  /** Periodically hands archived-but-unqueued chunks to the queue (after a Redis outage or a crash). */
  startSweep(intervalMs = 2000): void {
    // A sweep that fails (the catalog unreachable) is logged; the next one is scheduled all the same.
    const sweep = () => void tick().catch((err: Error) => this.deps.log.warn('sweep failed', { err: err.message }));
    const tick = async () => {
      try {
        for (const c of await this.deps.capture.unqueuedChunks()) {
          if (this.closed || !(await this.enqueue(c))) break;
        }
      } finally {
        if (!this.closed) this.sweepTimer = setTimeout(sweep, intervalMs);
      }
    };
    this.sweepTimer = setTimeout(sweep, intervalMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.sweepTimer);
  }

  private async runLane(eventId: string): Promise<void> {
    const lane = this.lanes.get(eventId)!;
    let backoff = 500;
    while (lane.items.length && !this.closed) {
      const item = lane.items[0];
      try {
        const chunk = item.kind === 'segment' ? await this.archiveSegment(item) : await this.archive(item);
        lane.items.shift();
        backoff = 500;
        if (chunk) await this.enqueue(chunk);
      } catch (err) {
        this.deps.log.warn('archiving failed; the chunk stays in the spool and is retried', {
          event: eventId,
          chunk: item.name,
          retryInMs: backoff,
          err: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    lane.running = null;
    for (const r of lane.idle.splice(0)) r();
  }

  /** Idempotent: a chunk archived before a crash is found by its spool name and not stored twice. */
  private async archive(item: SpooledChunk): Promise<ChunkRow> {
    const name = spoolName(item.sessionNo, item.name);
    const known = await this.deps.capture.chunkBySpoolName(item.eventId, name);
    if (known) {
      removeSpooled(item.dir, item.name);
      return known;
    }
    return this.store(item, {
      spoolName: name,
      sessionNo: item.sessionNo,
      startSec: item.startSec,
      key: () => keys.sourceChunk(item.eventId, item.sessionNo, item.name),
    });
  }

  /**
   * Archives an HLS segment after the event's last chunk. Undefined when
   * there is nothing to archive: another recorder archived this media
   * sequence, or already archived segments past it. When another recorder
   * archives a segment while this one is placed, it is placed again.
   */
  private async archiveSegment(item: SpooledSegment): Promise<ChunkRow | undefined> {
    // Named by content too: two recorders whose copies differ never overwrite the one the catalog names.
    const key = (sha256: string) => keys.sourceSegment(item.eventId, `${item.epoch ? `e${item.epoch}-` : ''}m${item.mediaSeq}-${sha256.slice(0, 12)}.ts`);
    let uploaded: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const placed = await this.placeAndStore(item, key);
        // Overtaken, then found archived by another recorder or left behind: an upload of ours is nobody's.
        if (uploaded && (await this.deps.capture.chunkBySpoolName(item.eventId, segmentSpoolName(item)))?.key !== uploaded) {
          await this.deps.storage.delete(uploaded).catch(() => {});
        }
        return placed;
      } catch (err) {
        if (err instanceof EventEndedError) {
          this.deps.log.info('a segment arrived after the event ended; not archived', { event: item.eventId, mediaSeq: item.mediaSeq });
          for (const ours of new Set([err.key, uploaded])) if (ours) await this.deps.storage.delete(ours).catch(() => {});
          removeSpooled(item.dir, item.name);
          return undefined;
        }
        if (!(err instanceof PlacementChangedError) || attempt >= MAX_PLACEMENTS) throw err;
        uploaded = err.key;
      }
    }
  }

  private async placeAndStore(item: SpooledSegment, key: (sha256: string) => string): Promise<ChunkRow | undefined> {
    const { capture, catalog } = this.deps;
    const name = segmentSpoolName(item);
    const prev = await capture.lastChunk(item.eventId);
    const prevAt = prev && mediaPositionOf(prev.spoolName);
    if ((await capture.chunkBySpoolName(item.eventId, name)) || (prevAt && !isAfter(item, prevAt))) {
      removeSpooled(item.dir, item.name);
      return undefined;
    }
    const floor = (await catalog.getEvent(item.eventId))?.timelineSec ?? 0;
    const place = placeSegment(item, prev, floor, await capture.lastSessionNo(item.eventId));
    const prevEnd = prev ? prev.startSec + prev.durationSec : floor;
    const gap = place.startSec - prevEnd >= MIN_GAP_SEC ? { startSec: prevEnd, endSec: place.startSec, reason: item.gapReason } : undefined;
    const stored = await this.store(item, {
      spoolName: name,
      sessionNo: place.sessionNo,
      startSec: place.startSec,
      key,
      guard: { afterSeq: prev?.seq ?? null, gap, run: place.newRun ? { no: place.sessionNo, startSec: place.startSec } : undefined },
    });
    if (gap && stored.startSec === place.startSec) {
      this.deps.log.warn('gap recorded', { event: item.eventId, startSec: gap.startSec.toFixed(3), endSec: gap.endSec.toFixed(3), reason: item.gapReason });
    }
    return stored;
  }

  /** Hash, upload, record in the catalog (the catalog commits durably: only then does the spool copy go). */
  private async store(
    item: Spooled,
    at: { spoolName: string; sessionNo: number; startSec: number; key: (sha256: string) => string; guard?: PlacementGuard },
  ): Promise<ChunkRow> {
    const { capture, storage } = this.deps;
    const file = path.join(item.dir, item.name);
    const { sha256, bytes } = await sha256File(file);
    const key = at.key(sha256);
    await storage.putFile(key, file, { contentType: 'video/mp2t', cacheControl: CACHE_CONTROL.privateArchive });
    const chunk = await capture
      .addChunk(
        {
          eventId: item.eventId,
          sessionNo: at.sessionNo,
          spoolName: at.spoolName,
          startSec: at.startSec,
          durationSec: item.durationSec,
          bytes,
          sha256,
          key,
        },
        at.guard,
      )
      .catch((err: unknown) => {
        // Not registered: say what was uploaded (the next placement puts the same bytes under the same key).
        if (err instanceof PlacementChangedError || err instanceof EventEndedError) err.key = key;
        throw err;
      });
    // Another recorder registered it first, from different bytes: ours is not the archived copy.
    if (chunk.key !== key) await storage.delete(key).catch(() => {});
    else metrics.capturedSeconds.inc(item.durationSec);
    removeSpooled(item.dir, item.name);
    return chunk;
  }

  /** Returns false when the queue is unreachable; the chunk stays "archived" for the sweep. */
  private async enqueue(c: ChunkRow): Promise<boolean> {
    try {
      await withTimeout(
        this.deps.queues.add('chunk-archived', {
          eventId: c.eventId,
          seq: c.seq,
          sessionNo: c.sessionNo,
          key: c.key,
          startSec: c.startSec,
          durationSec: c.durationSec,
          sha256: c.sha256,
        }),
        ENQUEUE_TIMEOUT_MS,
        'enqueue',
      );
      await this.deps.capture.markChunkQueued(c.eventId, c.seq);
      return true;
    } catch (err) {
      this.deps.log.warn('queue unreachable; chunk will be enqueued by the sweep', { event: c.eventId, seq: c.seq, err: (err as Error).message });
      return false;
    }
  }
}
