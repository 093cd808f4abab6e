// The transcoder's event-ended processor: close the rendition (last
// segments, EXT-X-ENDLIST, loudness and peaks totals), tell the transcriber
// that its last piece has come (as soon as the last segment is built), and
// hand the event to the publisher.
import type { Job } from 'bullmq';
import type { EventEndedJob, Queues } from '../shared/queues.ts';
import { finalizeRendition } from './process-chunk.ts';
import { pcmReadyJob, type TranscoderDeps } from './rendition.ts';

export interface ProcessEndedDeps extends TranscoderDeps {
  queues: Pick<Queues, 'add'>;
}

export async function processEventEnded(job: Job<EventEndedJob>, deps: ProcessEndedDeps): Promise<void> {
  const eventId = job.data?.eventId;
  const chunks = job.data?.chunks;
  if (typeof eventId !== 'string' || !Number.isSafeInteger(chunks) || chunks < 0) return deps.log.error('dropping malformed event-ended job', { id: job.id });
  const event = await deps.catalog.getEvent(eventId);
  if (!event) return;
  if (chunks === 0) {
    deps.log.info('event ended without audio; nothing to transcode', { event: eventId });
    return;
  }
  // The last segment's PCM again, marked final, as soon as it exists: the transcriber may now cut its last
  // window, while the playlist and audio.m4a are closed. A retry sends it again, which changes nothing.
  const lastPcmIsFinal = async () => {
    const last = await deps.state.lastSegment(eventId);
    if (last) await deps.queues.add('pcm-ready', { ...pcmReadyJob(eventId, last), final: true });
  };
  try {
    const r = await finalizeRendition(eventId, chunks, deps, lastPcmIsFinal);
    if (r.status === 'skipped') return;
  } catch (err) {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      const reason = `rendition could not be finished: ${(err as Error).message}`;
      await deps.catalog.transition(eventId, 'failed', { error: reason });
      await deps.catalog.addFailure({ eventId, stage: 'transcoder', startSec: null, endSec: null, reason });
    }
    throw err;
  }
  await deps.queues.add('rendition-ready', { eventId });
}
