// The transcoder's event-ended processor: close the rendition (last
// segments, EXT-X-ENDLIST, loudness and peaks totals), tell the transcriber
// that its last piece has come (as soon as the last segment is built), the
// publisher that the length and waveform are final (as soon as they are,
// while audio.m4a is joined), and hand the event to the publisher.
import type { Job } from 'bullmq';
import type { EventEndedJob, Queues } from '../shared/queues.ts';
import { finalizeRendition } from './process-chunk.ts';
import { pcmReadyJob, type TranscoderDeps } from './rendition.ts';

export interface ProcessEndedDeps extends TranscoderDeps {
  queues: Pick<Queues, 'add'>;
}

/** How long the end waits for the last chunks' messages before it fails and is retried after the queue's backoff. */
const CHUNK_WAIT_MS = 10_000;

/**
 * The last chunks' messages are usually a moment behind the end's (their jobs
 * are queued before it, and taken one at a time): waiting for them here costs
 * that moment, where failing for a retry would cost the backoff (a second).
 */
async function chunkMessagesArrived(deps: ProcessEndedDeps, eventId: string, chunks: number): Promise<void> {
  const until = Date.now() + CHUNK_WAIT_MS;
  while (!(await deps.state.hasInputsThrough(eventId, chunks)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
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
  await chunkMessagesArrived(deps, eventId, chunks);
  try {
    const r = await finalizeRendition(eventId, chunks, deps, {
      segmentsDone: lastPcmIsFinal,
      measured: (durationSec) => deps.queues.add('rendition-measured', { eventId, durationSec }),
    });
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
