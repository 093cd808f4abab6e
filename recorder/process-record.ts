// The recorder's job processor (PeerTube style): a pull event to record. The
// job lasts as long as the recording here. When another process holds the
// event, or this one lets it go while it is live (shutdown, a lost lease),
// the job goes back to the queue for whoever can record it next.
import { DelayedError, type Job } from 'bullmq';
import { isEventId } from '../shared/catalog/events.ts';
import type { Logger } from '../shared/log.ts';
import type { RecordJob } from '../shared/queues.ts';
import type { Recorder } from './recorder.ts';

export interface ProcessRecordDeps {
  recorder: Recorder;
  log: Logger;
  /** How long to wait before asking again when another process holds the event. */
  retryMs: number;
}

export async function processRecord(job: Job<RecordJob>, deps: ProcessRecordDeps, token?: string): Promise<void> {
  const eventId = job.data?.eventId;
  if (!isEventId(eventId)) return deps.log.error('dropping malformed record job', { id: job.id });
  const slot = job.data.slot;
  if (slot !== undefined && !(Number.isInteger(slot) && slot > 0)) return deps.log.error('dropping malformed record job', { id: job.id });
  const outcome = await deps.recorder.record(eventId, slot);
  if ((outcome === 'busy' || outcome === 'suspended') && token) {
    await job.moveToDelayed(Date.now() + (outcome === 'busy' ? deps.retryMs : 0), token);
    throw new DelayedError();
  }
}
