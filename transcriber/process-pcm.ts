// The transcriber's job processor: a new 16 kHz PCM piece arrived. Each
// window stitched is announced to the search index (transcript-segments).
// When the transcript files changed once the last piece has come (or the
// transcript cannot be made at all), the publisher is told where the
// transcript stands in the transcript-ready message itself.
import type { Job } from 'bullmq';
import type { PcmReadyJob, Queues, TranscriptReadyJob, TranscriptSegmentsJob } from '../shared/queues.ts';
import type { StatusRow } from './state.ts';
import { advanceTranscript, dropWorkAudio, type TranscriberDeps } from './transcribe-event.ts';

export interface ProcessPcmDeps extends TranscriberDeps {
  queues: Pick<Queues, 'add'>;
}

function valid(d: unknown): d is PcmReadyJob {
  const j = d as Partial<PcmReadyJob> | undefined;
  return !!j && typeof j.eventId === 'string' && typeof j.key === 'string' && Number.isFinite(j.startSec) && Number.isFinite(j.durationSec);
}

/** What the publisher needs to know about the transcript, as a message. */
function readyMessage(eventId: string, revision: number, s: StatusRow): TranscriptReadyJob {
  return { eventId, revision, status: s.status, reason: s.reason, final: s.status === 'complete' || s.status === 'unavailable' || s.status === 'failed' };
}

export async function processPcmReady(job: Job<PcmReadyJob>, deps: ProcessPcmDeps): Promise<void> {
  const d = job.data;
  if (!valid(d)) {
    deps.log.error('dropping malformed pcm-ready job', { id: job.id });
    return;
  }
  if (!(await deps.catalog.getEvent(d.eventId))) return;
  await deps.state.addPiece(d.eventId, { startSec: d.startSec, durationSec: d.durationSec, key: d.key, final: !!d.final });
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const announce = (change: Omit<TranscriptSegmentsJob, 'eventId'>) => deps.queues.add('transcript-segments', { eventId: d.eventId, ...change });
  const r = await advanceTranscript(d.eventId, { ...deps, announce }, { giveUp: lastAttempt });
  const status = await deps.state.status(d.eventId);
  const send = (revision: number) => deps.queues.add('transcript-ready', readyMessage(d.eventId, revision, status));
  if (status.status === 'unavailable') {
    // No model: nobody will read this audio; keep no work files behind.
    if (d.key) await deps.storage.delete(d.key).catch(() => {});
    if (d.final) await send(status.revision);
    return;
  }
  // The publisher (re)publishes the transcript once it is complete, and again whenever it changes after that.
  if (r.revision !== undefined && (r.complete || status.finalReceived)) await send(r.revision);
  if (r.complete) await dropWorkAudio(d.eventId, deps);
}
