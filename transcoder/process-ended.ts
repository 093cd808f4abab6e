// The transcoder's event-ended processor: close the rendition (last
// segments, EXT-X-ENDLIST, loudness and peaks totals), tell the transcriber
// that its last piece has come, and hand the event to the publisher.
import type { Job } from 'bullmq';
import { jobId, type EventEndedJob, type Queues } from '../shared/queues.ts';
import { finalizeRendition } from './process-chunk.ts';
import { pcmReadyJob, type TranscoderDeps } from './rendition.ts';
import { TranscoderState } from './state.ts';

export interface ProcessEndedDeps extends TranscoderDeps {
  queues: Pick<Queues, 'pcmReady' | 'renditionReady'>;
}

export async function processEventEnded(job: Job<EventEndedJob>, deps: ProcessEndedDeps): Promise<void> {
  const eventId = job.data?.eventId;
  if (typeof eventId !== 'string') return deps.log.error('dropping malformed event-ended job', { id: job.id });
  const event = deps.catalog.getEvent(eventId);
  if (!event) return;
  if (!deps.catalog.chunks(eventId).length) {
    deps.log.info('event ended without audio; nothing to transcode', { event: eventId });
    return;
  }
  try {
    const r = await finalizeRendition(eventId, deps);
    if (r.status === 'skipped') return;
  } catch (err) {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      const reason = `rendition could not be finished: ${(err as Error).message}`;
      deps.catalog.setStatus(eventId, 'failed', reason);
      deps.catalog.addFailure({ eventId, stage: 'transcoder', startSec: null, endSec: null, reason });
    }
    throw err;
  }
  // The last segment's PCM again, marked final: the transcriber may now cut its last window.
  const segments = new TranscoderState(deps.catalog).segments(eventId);
  const last = segments[segments.length - 1];
  if (last) {
    await deps.queues.pcmReady.add('pcm', { ...pcmReadyJob(eventId, last), final: true }, { jobId: `${eventId}-pcm-final` });
  }
  await deps.queues.renditionReady.add('rendition', { eventId }, { jobId: jobId.rendition(eventId) });
}
