// The transcriber's job processor: a new 16 kHz PCM piece arrived.
import type { Job } from 'bullmq';
import { jobId, type PcmReadyJob, type Queues } from '../shared/queues.ts';
import { advanceTranscript, type TranscriberDeps } from './transcribe-event.ts';

export interface ProcessPcmDeps extends TranscriberDeps {
  queues: Pick<Queues, 'transcriptReady'>;
}

function valid(d: any): d is PcmReadyJob {
  return d && typeof d.eventId === 'string' && typeof d.key === 'string' && Number.isFinite(d.startSec) && Number.isFinite(d.durationSec);
}

export async function processPcmReady(job: Job<PcmReadyJob>, deps: ProcessPcmDeps): Promise<void> {
  const d = job.data;
  if (!valid(d)) {
    deps.log.error('dropping malformed pcm-ready job', { id: job.id });
    return;
  }
  if (!deps.catalog.getEvent(d.eventId)) return;
  deps.state.addPiece(d.eventId, { startSec: d.startSec, durationSec: d.durationSec, key: d.key, final: !!d.final });
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const r = await advanceTranscript(d.eventId, deps, { giveUp: lastAttempt });
  // The publisher (re)publishes the transcript once it is complete, and again whenever it changes after that.
  if (r.revision !== undefined && (r.complete || deps.state.status(d.eventId).finalReceived)) {
    await deps.queues.transcriptReady.add('transcript', { eventId: d.eventId, revision: r.revision }, { jobId: jobId.transcript(d.eventId, r.revision) });
  }
  if (deps.state.status(d.eventId).status === 'unavailable') {
    // No model: nobody will read this audio; keep no work files behind.
    if (d.key) await deps.storage.delete(d.key).catch(() => {});
    if (d.final) await deps.queues.transcriptReady.add('transcript', { eventId: d.eventId, revision: 0 }, { jobId: jobId.transcript(d.eventId, 0) });
  }
}
