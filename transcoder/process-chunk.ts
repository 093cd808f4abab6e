// Job processors of the transcoder stage (PeerTube style: validate the
// payload, return early when the subject is gone, delegate to the library).
//
// processChunkArchived  one job per archived chunk (queue chunk-archived):
//                       record the chunk the message announces, decode every
//                       announced chunk whose predecessors are all known
//                       (messages may arrive out of order), make every
//                       rendition segment that became possible, and the
//                       live edge's partial segments (live-parts.ts),
//                       upload the playlist, hand 16 kHz PCM to the
//                       transcriber, send every full run of segments as a
//                       part of audio.m4a, and merge every full run's
//                       waveform and loudness (measure-runs.ts).
// finalizeRendition     once at the event's end: last segment(s), ENDLIST,
//                       waveform and loudness of the whole event; the live
//                       parts are deleted.
//
// Both are idempotent: a retried job, a duplicate, or a job re-run after the
// worker was killed half-way finds finished work recorded in the catalog
// (state.ts) and only does what is missing; objects are uploaded before the
// rows and playlists that refer to them. Jobs of one event are serialized
// within a process; run the chunk-archived worker with concurrency 1 per
// event (or accept that two processes may both build a segment: they write
// identical objects and the catalog keeps one row).
import { UnrecoverableError } from 'bullmq';
import type { ChunkArchivedJob, PcmReadyJob } from '../shared/queues.ts';
import { assertValidKey, NotFoundError } from '../shared/storage/storage.ts';
import {
  buildReady,
  dropWorkPcm,
  finalize,
  ingestChunk,
  notifyPcmReady,
  packMeasureRuns,
  publishPlaylist,
  withEventLock,
  type FinalizeHooks,
  type FinalizeResult,
  type TranscoderDeps,
} from './rendition.ts';

import { buildLiveParts, dropAllParts, dropOldParts, livePlaylistParts } from './live-parts.ts';
import { packM4aParts, resetM4a } from './progressive-m4a.ts';

export type { TranscoderDeps } from './rendition.ts';

/** A payload that can never succeed: BullMQ does not retry it. */
export class InvalidJobError extends UnrecoverableError {}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Checks a chunk-archived payload; throws InvalidJobError naming the bad field. */
export function validateChunkArchived(data: unknown): ChunkArchivedJob {
  const bad = (what: string): never => {
    throw new InvalidJobError(`invalid chunk-archived job: ${what}`);
  };
  if (!data || typeof data !== 'object') bad('payload is not an object');
  const d = data as Record<string, unknown>;
  if (typeof d.eventId !== 'string' || !ID.test(d.eventId) || d.eventId.length > 128) bad('eventId');
  if (!Number.isSafeInteger(d.seq) || (d.seq as number) < 0) bad('seq');
  if (!Number.isSafeInteger(d.sessionNo) || (d.sessionNo as number) < 1) bad('sessionNo');
  if (typeof d.key !== 'string') bad('key');
  try {
    assertValidKey(d.key as string);
  } catch {
    bad('key');
  }
  // Only the event's own source archive (under private/, or where earlier versions kept it).
  if (!(d.key as string).startsWith(`private/events/${d.eventId as string}/source/`) && !(d.key as string).startsWith(`events/${d.eventId as string}/source/`))
    bad('key');
  if (typeof d.startSec !== 'number' || !Number.isFinite(d.startSec) || d.startSec < 0) bad('startSec');
  if (typeof d.durationSec !== 'number' || !Number.isFinite(d.durationSec) || d.durationSec <= 0) bad('durationSec');
  if (typeof d.sha256 !== 'string') bad('sha256'); // informative here: the catalog row is what is trusted
  return {
    eventId: d.eventId as string,
    seq: d.seq as number,
    sessionNo: d.sessionNo as number,
    key: d.key as string,
    startSec: d.startSec as number,
    durationSec: d.durationSec as number,
    sha256: d.sha256 as string,
  };
}

export interface ChunkJobResult {
  status: 'done' | 'skipped';
  reason?: 'event-gone' | 'finalized' | 'ended';
  /** False when the chunk had been decoded by an earlier attempt. */
  decoded: boolean;
  /** Segments made by this job. */
  segments: number[];
  /** Rendition seconds playable from the start after this job. */
  transcodedSec: number;
  /** 16 kHz PCM made by this job (or handed to deps.onPcmReady). */
  pcmReady: PcmReadyJob[];
}

/** Accepts a BullMQ Job (or anything with `data`). */
export interface JobLike {
  data: unknown;
  id?: string;
}

export async function processChunkArchived(job: JobLike, deps: TranscoderDeps): Promise<ChunkJobResult> {
  const data = validateChunkArchived(job.data);
  const { eventId, seq } = data;
  const log = deps.log.child('transcoder');
  const st = deps.state;
  const skipped = async (reason: ChunkJobResult['reason']): Promise<ChunkJobResult> => ({
    status: 'skipped',
    reason,
    decoded: false,
    segments: [],
    transcodedSec: await st.transcodedSec(eventId),
    pcmReady: [],
  });

  const event = await deps.catalog.getEvent(eventId);
  if (!event) {
    log.info('event is gone; chunk ignored', { event: eventId, seq });
    return skipped('event-gone');
  }
  if ((await st.state(eventId))?.finalizedAt) {
    log.warn('rendition already finalized; chunk ignored (finalize again to include it)', { event: eventId, seq });
    return skipped('finalized');
  }
  await st.addInput(eventId, data);
  // After the end nobody listens live: the end's job decodes the last chunks and makes the last segments itself,
  // so it need not wait for each of them to be made one job at a time, live parts and all.
  if (event.status !== 'live') return skipped('ended');

  const l = { ...deps, log };
  return withEventLock(eventId, async () => {
    if ((await st.state(eventId))?.finalizedAt) return skipped('finalized');
    // Every announced chunk whose predecessors are all known, in order (this one, and any that waited for it).
    let decoded = false;
    for (const c of await st.undecodedInputs(eventId)) {
      if ((await ingestChunk(l, eventId, c.seq)).decoded && c.seq === seq) decoded = true;
    }
    const built = await buildReady(l, eventId, { final: false });
    await buildLiveParts(l, eventId);
    await publishPlaylist(l, eventId, false, (segments) => livePlaylistParts(l, eventId, segments));
    await dropOldParts(l, eventId);
    const sent = await notifyPcmReady(l, eventId);
    // A side line: the rendition never waits on it. What fails here is sent by a later job or at the end.
    await packM4aParts(l, eventId).catch(async (err: unknown) => {
      log.warn('audio.m4a part not sent; a later job or the end sends it', { event: eventId, err: (err as Error).message });
      if (err instanceof NotFoundError) await resetM4a(l, eventId); // the upload is gone: the next job starts it over
    });
    await packMeasureRuns(st, eventId);
    await dropWorkPcm(l, eventId);
    const transcodedSec = await st.transcodedSec(eventId);
    if (built.length) log.info('segments ready', { event: eventId, seq, segments: built.map((b) => b.k).join(','), transcodedSec: transcodedSec.toFixed(3) });
    return {
      status: 'done',
      decoded,
      segments: built.map((b) => b.k),
      transcodedSec,
      pcmReady: deps.onPcmReady ? sent : built.map((b) => b.pcmReady),
    };
  });
}

/** Closes the event's rendition once its `chunks` chunks were announced (see rendition.ts finalize, and its `segmentsDone`); skipped when the event is gone. */
export async function finalizeRendition(eventId: string, chunks: number, deps: TranscoderDeps, hooks: FinalizeHooks = {}): Promise<FinalizeResult> {
  const log = deps.log.child('transcoder');
  if (typeof eventId !== 'string' || !ID.test(eventId)) throw new InvalidJobError(`invalid event id ${JSON.stringify(eventId)}`);
  const event = await deps.catalog.getEvent(eventId);
  if (!event) {
    log.info('event is gone; nothing to finalize', { event: eventId });
    return {
      status: 'skipped',
      reason: 'event-gone',
      segments: 0,
      segmentsBuilt: 0,
      chunksDecoded: 0,
      durationSec: 0,
      lengthErrorSec: 0,
      playlistKey: '',
      peaksKey: '',
      loudnessKey: '',
      pcmReady: [],
    };
  }
  if (event.status === 'live') log.warn('finalizing the rendition of an event that is still live', { event: eventId });
  return withEventLock(eventId, async () => {
    const result = await finalize({ ...deps, log }, eventId, chunks, hooks);
    await dropAllParts({ ...deps, log }, eventId); // the final playlist lists none
    return result;
  });
}
