// The search index's job processor: a window was stitched onto an event's
// transcript (replace its span in the index, then let the alerts look at the
// new rows), or the transcript is complete (check the index holds every
// segment; if a message was lost, rebuild the event from the stored
// transcript, which the transcriber has written by then).
import type { Job } from 'bullmq';
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import { keys } from '../../shared/layout.ts';
import type { Logger } from '../../shared/log.ts';
import { metrics } from '../../shared/metrics.ts';
import type { TranscriptSegmentsJob } from '../../shared/queues.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import type { IndexedEvent, IndexSegment, SearchIndexWriter, WrittenRows } from './index-writer.ts';

export interface SearchIndexDeps {
  catalog: EventCatalog;
  storage: Storage;
  writer: SearchIndexWriter;
  log: Logger;
  /** Told the rows a message wrote (the alerts check them). */
  onIndexed?: (ev: EventRow, rows: WrittenRows) => Promise<void>;
}

/** The final message came before the last window's: retried (not a failure of the index). */
export class IndexBehindError extends Error {}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function validSegment(s: unknown): s is IndexSegment {
  const x = s as Partial<IndexSegment> | null;
  return !!x && finite(x.startSec) && finite(x.endSec) && typeof x.text === 'string' && (x.words === undefined || Array.isArray(x.words));
}

function valid(d: unknown): d is TranscriptSegmentsJob {
  const j = d as Partial<TranscriptSegmentsJob> | undefined;
  return (
    !!j &&
    typeof j.eventId === 'string' &&
    Number.isSafeInteger(j.version) &&
    finite(j.fromSec) &&
    finite(j.toSec) &&
    Array.isArray(j.segments) &&
    j.segments.every(validSegment) &&
    (j.final === undefined || Number.isSafeInteger(j.final?.total))
  );
}

const indexed = (ev: EventRow): IndexedEvent => ({ id: ev.id, host: ev.host, createdAt: ev.createdAt });

/** The transcript as the transcriber stored it (Podcasting 2.0 JSON): every segment, without word timings. */
async function storedSegments(storage: Storage, eventId: string): Promise<IndexSegment[] | undefined> {
  const key = keys.transcript(eventId, 'json');
  if (!(await storage.head(key))) return undefined;
  const j = JSON.parse((await storage.get(key)).toString('utf8')) as { segments?: { startTime: number; endTime: number; body: string; speaker?: string }[] };
  return (j.segments ?? []).map((s) => ({ startSec: s.startTime, endSec: s.endTime, text: s.body, ...(s.speaker ? { speaker: s.speaker } : {}) }));
}

/** Rebuilds an event's index from its stored transcript (a lost message, or an event transcribed before search existed). */
export async function rebuildFromStorage(ev: EventRow, deps: SearchIndexDeps): Promise<WrittenRows | undefined> {
  const segments = await storedSegments(deps.storage, ev.id);
  if (!segments) return undefined;
  return deps.writer.replaceAll(indexed(ev), segments);
}

export async function processTranscriptSegments(
  job: Pick<Job<TranscriptSegmentsJob>, 'data' | 'id' | 'timestamp' | 'attemptsMade'>,
  deps: SearchIndexDeps,
): Promise<void> {
  const d = job.data;
  if (!valid(d)) return deps.log.error('dropping malformed transcript-segments job', { id: job.id });
  const ev = await deps.catalog.getEvent(d.eventId);
  if (!ev) return; // gone, or deleted (its purge empties the index)
  if (ev.status === 'failed') return deps.writer.removeEvent(ev.id); // a failed event is never shown: out of the index
  if (d.final) {
    const have = await deps.writer.indexedSegments(ev.id);
    if (have === d.final.total) return;
    // Usually the last window's message is still being applied (jobs run side by side): a retry after the
    // queue's backoff finds it done. Only a message still missing then was lost, and costs a rebuild.
    if (job.attemptsMade === 0) throw new IndexBehindError(`search index of ${ev.id} holds ${have ?? 0} of ${d.final.total} segments: checking again`);
    deps.log.warn('search index incomplete: rebuilding it from the stored transcript', { event: ev.id, have: have ?? 0, total: d.final.total });
    const rows = await rebuildFromStorage(ev, deps);
    if (rows && deps.onIndexed) await deps.onIndexed(ev, rows);
    return;
  }
  const rows = await deps.writer.replaceSpan(indexed(ev), { fromSec: d.fromSec, toSec: d.toSec }, d.segments);
  // The message was queued as the window was stitched: from then to now is how long its words took to become searchable.
  metrics.searchLag.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
  if (deps.onIndexed) await deps.onIndexed(ev, rows);
}
