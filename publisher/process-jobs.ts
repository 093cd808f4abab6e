// The publisher's job processors, PeerTube style: validate the payload,
// return early when the subject is gone, delegate to the library.
//
// A publication needs the final rendition and, if it comes in time, the
// final transcript. Its card needs only the rendition's length and waveform
// (the artwork was drawn when the event started, process-page.ts):
//   rendition-measured draws it while audio.m4a is still being joined.
// Whichever message completes the pair of rendition and transcript publishes:
//   rendition-ready   notes the rendition; publishes at once if the transcript
//                     is final, else waits in the queue (delayed, no polling)
//                     until the transcript's deadline and publishes then;
//   transcript-ready  notes where the transcript stands; publishes if the
//                     rendition is ready, or refreshes a publication made
//                     without it (event.updated). A publication in the making
//                     reads the transcript again when it is done.
import { DelayedError, type Job } from 'bullmq';
import type { RenditionMeasuredJob, RenditionReadyJob, TranscriptReadyJob } from '../shared/queues.ts';
import { preparePublication, publishEvent, republishTranscript, type PublisherDeps } from './publish.ts';

const DEFAULT_TRANSCRIPT_WAIT_MS = 4000;

async function failForGood(eventId: string, err: unknown, deps: PublisherDeps): Promise<void> {
  // The last attempt leaves the reason on the event: never a silent failure.
  const reason = `publishing failed: ${(err as Error).message}`;
  await deps.catalog.transition(eventId, 'failed', { error: reason });
  await deps.catalog.addFailure({ eventId, stage: 'publisher', startSec: null, endSec: null, reason });
}

/** Draws the card from the final length and waveform: the publication then finds it made. */
export async function processRenditionMeasured(job: Job<RenditionMeasuredJob>, deps: PublisherDeps): Promise<void> {
  const { eventId, durationSec } = job.data ?? {};
  if (typeof eventId !== 'string' || typeof durationSec !== 'number' || !Number.isFinite(durationSec) || durationSec < 0) {
    return deps.log.error('dropping malformed rendition-measured job', { id: job.id });
  }
  if (!(await deps.catalog.getEvent(eventId)) || (await deps.publications.get(eventId))) return;
  await preparePublication(eventId, deps, durationSec);
}

export async function processRenditionReady(job: Job<RenditionReadyJob>, deps: PublisherDeps, token?: string): Promise<void> {
  const eventId = job.data?.eventId;
  if (typeof eventId !== 'string') return deps.log.error('dropping malformed rendition-ready job', { id: job.id });
  if (!(await deps.catalog.getEvent(eventId))) return;
  try {
    const readyAt = Date.parse(await deps.publications.renditionReady(eventId));
    const { transcript } = await deps.publications.inputs(eventId);
    const deadline = readyAt + (deps.transcriptWaitMs ?? DEFAULT_TRANSCRIPT_WAIT_MS);
    if (!transcript.final && Date.now() < deadline && token && !(await deps.publications.get(eventId))) {
      // The transcript's last window is still running: make what does not need it, then come back at the
      // deadline (a final transcript message publishes sooner). A repeated job makes the same again.
      await preparePublication(eventId, deps);
      await job.moveToDelayed(deadline, token);
      throw new DelayedError();
    }
    await publishEvent(eventId, deps);
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await failForGood(eventId, err, deps);
    throw err;
  }
}

export async function processTranscriptReady(job: Job<TranscriptReadyJob>, deps: PublisherDeps): Promise<void> {
  const d = job.data;
  if (typeof d?.eventId !== 'string' || !Number.isSafeInteger(d.revision) || typeof d.status !== 'string') {
    return deps.log.error('dropping malformed transcript-ready job', { id: job.id });
  }
  if (!(await deps.catalog.getEvent(d.eventId))) return;
  const t = { status: d.status, reason: d.reason ?? null, revision: d.revision, final: !!d.final };
  await deps.publications.transcriptSaid(d.eventId, t);
  if (await deps.publications.get(d.eventId)) {
    await republishTranscript(d.eventId, t, deps);
    return;
  }
  // A publication being made reads the transcript again when it is done: nothing more to do here.
  if ((await deps.catalog.getEvent(d.eventId))?.status === 'publishing') return;
  const { renditionReadyAt } = await deps.publications.inputs(d.eventId);
  if (renditionReadyAt && t.final) {
    try {
      await publishEvent(d.eventId, deps);
    } catch (err) {
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await failForGood(d.eventId, err, deps);
      throw err;
    }
  }
}
