// Audiograms: for every ready clip, a video of its audio in three sizes
// (sizes.ts), each rendered by its own queued job, its progress on the clip's
// JSON, and an `audiogram.ready` webhook per size.
//
// Why the publisher renders them, not the transcoder that does the other
// ffmpeg work: an audiogram is a presentation of a finished clip, made of
// what only the publisher has or makes — the event's artwork (it draws
// artwork.jpg), the word timings (its search index keeps them), the clip's
// card and page, and the signed webhooks. The transcoder would need all of
// that sent back upstream, against the one-way flow of the pipeline; the
// publisher needs only the clip's audio, which the transcoder already stored,
// and ffmpeg, which every stage reaches through shared/ffmpeg.ts.
//
// A job is idempotent and restartable: a ready size is never rendered again;
// a retried render overwrites its own key; the URL is given out only once the
// MP4 is uploaded whole. The last failed attempt leaves the reason on the
// clip's entry for that size.
import { UnrecoverableError, type Job } from 'bullmq';
import { isClipId, type AttemptInfo, type ClipCatalog, type ClipRow } from '../../shared/catalog/clips.ts';
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import type { Logger } from '../../shared/log.ts';
import { AUDIOGRAM_SIZES, type AudiogramRequestedJob, type AudiogramSize, type ClipCutJob, type Queues } from '../../shared/queues.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import { processClipCut, type ProcessClipCutDeps } from '../clips/process-clip.ts';
import type { SearchEngine } from '../search/search.ts';
import { emit, type EmitDeps } from '../webhooks.ts';
import type { AudiogramStore, RenderedVideo } from './audiogram-store.ts';
import { clipWords } from './clip-words.ts';
import { renderClipAudiogram } from './render-clip.ts';
import { isAudiogramSize, LAYOUTS } from './sizes.ts';

export interface AudiogramDeps {
  clips: ClipCatalog;
  catalog: EventCatalog;
  store: AudiogramStore;
  storage: Storage;
  engine: SearchEngine;
  queues: Pick<Queues, 'add'>;
  webhooks: EmitDeps;
  log: Logger;
}

/** A clip became ready: its three audiograms are queued (again harmlessly: rows and job ids are per clip and size). */
export async function requestAudiograms(deps: Pick<AudiogramDeps, 'clips' | 'store' | 'queues'>, clipId: string): Promise<void> {
  const clip = await deps.clips.get(clipId);
  if (!clip || clip.status !== 'ready') return;
  await deps.store.request(clip.id, clip.eventId, AUDIOGRAM_SIZES);
  for (const size of AUDIOGRAM_SIZES) await deps.queues.add('audiogram-requested', { clipId: clip.id, size });
}

/** The `clip-cut` job (card, ready, `clip.ready`), then the clip's audiograms queued once it is ready (again on a retry: harmless). */
export async function processClipCutThenAudiograms(
  job: Job<ClipCutJob>,
  clipDeps: ProcessClipCutDeps,
  deps: Pick<AudiogramDeps, 'clips' | 'store' | 'queues'>,
): Promise<string> {
  const done = await processClipCut(job, clipDeps);
  if (done === 'ready') await requestAudiograms(deps, job.data.clipId);
  return done;
}

/**
 * Queues every size not rendered yet again (job ids dedupe one still queued): run at start, so a
 * render whose message was lost (Redis away when its clip became ready) is not left pending.
 */
export async function requeueUnfinishedAudiograms(deps: Pick<AudiogramDeps, 'store' | 'queues'>): Promise<number> {
  const todo = await deps.store.unfinished();
  for (const t of todo) await deps.queues.add('audiogram-requested', t);
  return todo.length;
}

async function announce(deps: AudiogramDeps, clip: ClipRow, ev: EventRow, size: AudiogramSize, video: Pick<RenderedVideo, 'key' | 'bytes'>): Promise<void> {
  const { width, height } = LAYOUTS[size];
  const data = {
    id: clip.id,
    eventId: ev.id,
    size,
    width,
    height,
    url: deps.storage.publicUrl(video.key),
    bytes: video.bytes,
    durationSec: clip.endSec - clip.startSec,
  };
  // One message per size: the size's place in the list tells the deliveries apart.
  await emit('audiogram.ready', data, deps.webhooks, { revision: AUDIOGRAM_SIZES.indexOf(size) });
}

/** Runs a render; a failed attempt shows its reason, the last one leaves the size failed with it. */
async function audiogramJobWork<T>(job: AttemptInfo, store: AudiogramStore, clipId: string, size: AudiogramSize, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const reason = (e as Error).message;
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await store.fail(clipId, size, reason);
    else await store.retrying(clipId, size, reason);
    throw e;
  }
}

async function render(deps: AudiogramDeps, clip: ClipRow, ev: EventRow, size: AudiogramSize): Promise<string> {
  if (!(await deps.store.start(clip.id, size))) return 'ready';
  let progress = Promise.resolve();
  const onProgress = (p: number) => void (progress = progress.then(() => deps.store.progress(clip.id, size, p)).catch(() => {}));
  const words = (c: ClipRow) => clipWords(deps, c.eventId, c.startSec, c.endSec);
  const video = await renderClipAudiogram({ storage: deps.storage, words }, clip, ev, size, onProgress);
  await progress;
  // Deleted while it rendered: its video goes too (the clip's folder was emptied before it was uploaded).
  if (!(await deps.clips.get(clip.id)) || !(await deps.store.ready(clip.id, size, video))) {
    await deps.storage.delete(video.key);
    await deps.store.forgetClip(clip.id);
    return 'gone';
  }
  deps.log.info('audiogram ready', {
    clip: clip.id,
    size,
    bytes: video.bytes,
    renderMs: video.renderMs,
    perClipSec: video.renderMs / 1000 / (clip.endSec - clip.startSec),
  });
  await announce(deps, clip, ev, size, video);
  return 'ready';
}

export async function processAudiogramRequested(job: Job<AudiogramRequestedJob>, deps: AudiogramDeps): Promise<string> {
  const { clipId, size } = job.data ?? {};
  if (!isClipId(clipId) || !isAudiogramSize(size)) throw new UnrecoverableError('audiogram-requested: no valid clipId and size');
  const clip = await deps.clips.get(clipId);
  const ev = clip && (await deps.catalog.getEvent(clip.eventId));
  if (!clip || !ev) {
    await deps.store.forgetClip(clipId);
    return 'gone';
  }
  await deps.store.request(clip.id, clip.eventId, [size]);
  if (clip.status === 'failed') {
    await deps.store.fail(clip.id, size, 'the clip failed');
    return 'gone';
  }
  const row = await deps.store.get(clip.id, size);
  if (row?.status === 'ready' && row.key && row.bytes !== null) {
    // Rendered already (a repeated job, or a crash between the row and the webhook): the webhook's id is stable.
    await announce(deps, clip, ev, size, { key: row.key, bytes: row.bytes });
    return 'ready';
  }
  return audiogramJobWork(job, deps.store, clip.id, size, () => render(deps, clip, ev, size));
}
