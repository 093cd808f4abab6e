// The publisher's job processors, PeerTube style: validate the payload,
// return early when the subject is gone, delegate to the library.
import type { Job } from 'bullmq';
import type { RenditionReadyJob, TranscriptReadyJob } from '../shared/queues.ts';
import { publishEvent, republishTranscript, type PublisherDeps } from './publish.ts';

export async function processRenditionReady(job: Job<RenditionReadyJob>, deps: PublisherDeps): Promise<void> {
  if (typeof job.data?.eventId !== 'string') return deps.log.error('dropping malformed rendition-ready job', { id: job.id });
  try {
    await publishEvent(job.data.eventId, deps);
  } catch (err) {
    // The last attempt leaves the reason on the event: never a silent failure.
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      const reason = `publishing failed: ${(err as Error).message}`;
      deps.catalog.setStatus(job.data.eventId, 'failed', reason);
      deps.catalog.addFailure({ eventId: job.data.eventId, stage: 'publisher', startSec: null, endSec: null, reason });
    }
    throw err;
  }
}

export async function processTranscriptReady(job: Job<TranscriptReadyJob>, deps: PublisherDeps): Promise<void> {
  if (typeof job.data?.eventId !== 'string') return deps.log.error('dropping malformed transcript-ready job', { id: job.id });
  await republishTranscript(job.data.eventId, deps);
}
