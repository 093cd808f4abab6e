// The typed table of job handlers: for every queue, the stage whose
// processor takes its message, in which role, how many at once, and what a
// job that used its last attempt leaves on its event. The composition root
// starts one BullMQ Worker per row that its roles serve; the message types,
// attempts and job-id schemes are in shared/queues.ts.
import type { Job } from 'bullmq';
import type { FailureRow } from '../shared/catalog/events.ts';
import type { Config, Role } from '../shared/config.ts';
import type { JobPayloads, QueueName } from '../shared/queues.ts';
import { processRecord, type ProcessRecordDeps } from '../recorder/process-record.ts';
import { processChunkArchived } from '../transcoder/process-chunk.ts';
import { processEventEnded, type ProcessEndedDeps } from '../transcoder/process-ended.ts';
import { processPcmReady, type ProcessPcmDeps } from '../transcriber/process-pcm.ts';
import { processRenditionMeasured, processRenditionReady, processTranscriptReady } from '../publisher/process-jobs.ts';
import { processEventPage } from '../publisher/process-page.ts';
import type { ProcessClipCutDeps } from '../publisher/clips/process-clip.ts';
import { processAudiogramRequested, processClipCutThenAudiograms, type AudiogramDeps } from '../publisher/audiograms/process-audiogram.ts';
import { processClipRequested, type ProcessClipDeps } from '../transcoder/process-clip.ts';
import type { PublisherDeps } from '../publisher/publish.ts';
import { processTranscriptSegments, type SearchIndexDeps } from '../publisher/search/process-segments.ts';
import { processWebhook, type DeliverDeps } from '../publisher/webhooks.ts';
import { leaseTimes } from '../shared/lease-times.ts';
import { processEventDeleted, type PurgeDeps } from './purge-event.ts';

export interface JobHandler<Q extends QueueName> {
  role: Role;
  concurrency: number;
  /** How long a job's lock lasts without renewal (a dead process's jobs are taken back after it), and how often that may happen. */
  /** The job's lock and how often workers look for lapsed ones (default: REPLAY_LEASE_SEC, and half of it). */
  lock?: { durationMs: number; stalledCheckMs?: number; maxStalledCount: number };
  process: (job: Job<JobPayloads[Q]>, token?: string) => Promise<unknown>;
  /** The failed range a job that gave up leaves on its event (beyond what its processor records itself). */
  onGiveUp?: (data: JobPayloads[Q]) => Omit<FailureRow, 'reason' | 'at'>;
}

export type JobTable = { [Q in QueueName]: JobHandler<Q> };

export interface StageDeps {
  recorder: ProcessRecordDeps;
  transcoder: ProcessEndedDeps;
  transcriber: ProcessPcmDeps;
  publisher: PublisherDeps;
  search: SearchIndexDeps;
  webhooks: DeliverDeps;
  purge: PurgeDeps;
  clipCutter: ProcessClipDeps;
  clipPublisher: ProcessClipCutDeps;
  audiograms: AudiogramDeps;
}

export function jobTable(config: Config, deps: StageDeps): JobTable {
  const c = config.concurrency;
  const lease = leaseTimes(config.leaseSec);
  return {
    record: {
      role: 'recorder',
      concurrency: c.recorder,
      // A record job runs as long as its event: its lock is renewed; a recorder that dies gives its events up within REPLAY_LEASE_SEC.
      lock: { durationMs: lease.jobLockMs, stalledCheckMs: lease.stalledCheckMs, maxStalledCount: 1_000_000 },
      process: (job, token) => processRecord(job, deps.recorder, token),
    },
    'chunk-archived': {
      role: 'transcoder',
      concurrency: c.transcoder,
      process: (job) => processChunkArchived(job, deps.transcoder),
      onGiveUp: (d) => ({ eventId: d.eventId, stage: 'transcoder', startSec: d.startSec, endSec: d.startSec + d.durationSec }),
    },
    'event-ended': { role: 'transcoder', concurrency: c.transcoder, process: (job) => processEventEnded(job, deps.transcoder) },
    'pcm-ready': { role: 'transcriber', concurrency: c.transcriber, process: (job) => processPcmReady(job, deps.transcriber) },
    'rendition-measured': { role: 'publisher', concurrency: c.publisher, process: (job) => processRenditionMeasured(job, deps.publisher) },
    'rendition-ready': { role: 'publisher', concurrency: c.publisher, process: (job, token) => processRenditionReady(job, deps.publisher, token) },
    'transcript-ready': { role: 'publisher', concurrency: 1, process: (job) => processTranscriptReady(job, deps.publisher) },
    // Each message replaces its own span of the transcript: any order, any number at once.
    'transcript-segments': { role: 'publisher', concurrency: c.publisher, process: (job) => processTranscriptSegments(job, deps.search) },
    webhook: { role: 'publisher', concurrency: c.webhooks, process: (job) => processWebhook(job, deps.webhooks) },
    // A deleted event's purge touches every stage's rows and the storage, which every role shares: the last stage runs it.
    'event-deleted': { role: 'publisher', concurrency: 1, process: (job) => processEventDeleted(job, deps.purge) },
    'event-page': { role: 'publisher', concurrency: c.publisher, process: (job) => processEventPage(job, deps.publisher) },
    // A clip: its audio cut from the rendition (transcoder), then its card and webhook (publisher).
    'clip-requested': { role: 'transcoder', concurrency: c.transcoder, process: (job) => processClipRequested(job, deps.clipCutter) },
    // A ready clip's audiograms are queued as it becomes ready (again on a retry: rows and job ids are per clip and size).
    'clip-cut': { role: 'publisher', concurrency: c.publisher, process: (job) => processClipCutThenAudiograms(job, deps.clipPublisher, deps.audiograms) },
    // Rendering video is heavy and x264 already uses every core: one at a time per process.
    'audiogram-requested': { role: 'publisher', concurrency: 1, process: (job) => processAudiogramRequested(job, deps.audiograms) },
  };
}
