// The publisher's clip job: a clip's audio is stored (the transcoder cut it);
// draw its social card with sharp (the words said in the span, else its
// title), mark it ready and send `clip.ready`. Idempotent: the card is drawn
// the same way again, and the webhook's delivery id is derived from the clip.
import { UnrecoverableError, type Job } from 'bullmq';
import { clipJobWork, isClipId, type ClipCatalog, type ClipRow } from '../../shared/catalog/clips.ts';
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import type { Config } from '../../shared/config.ts';
import { CACHE_CONTROL, keys } from '../../shared/layout.ts';
import type { Logger } from '../../shared/log.ts';
import type { ClipCutJob } from '../../shared/queues.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import { renderQuoteCard } from '../images.ts';
import { siteName, transcriptSegments } from '../page-input.ts';
import { quoteText } from '../replay-extras.ts';
import { emit, type EmitDeps } from '../webhooks.ts';
import { clipJson } from './clip-json.ts';

export interface ProcessClipCutDeps {
  clips: ClipCatalog;
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  webhooks: EmitDeps;
  /** A soundbite is ready: the feed offers it (writes the feed again). */
  soundbiteReady: () => Promise<void>;
  log: Logger;
}

/** The words said within the clip, as the transcript stands (it may still be coming while live). */
export async function clipText(storage: Storage, clip: ClipRow): Promise<string> {
  const segments = await transcriptSegments(storage, clip.eventId);
  return segments ? quoteText(segments, clip) : '';
}

async function drawCard(deps: ProcessClipCutDeps, clip: ClipRow, ev: EventRow): Promise<string> {
  const said = await clipText(deps.storage, clip);
  const png = await renderQuoteCard({
    quote: said || clip.title || ev.title,
    title: clip.title && said ? `${clip.title} · ${ev.title}` : ev.title,
    host: ev.host ?? undefined,
    startSec: clip.startSec,
    endSec: clip.endSec,
    label: siteName(),
  });
  const key = keys.clipCard(ev.id, clip.id);
  await deps.storage.put(key, png, { contentType: 'image/png', cacheControl: CACHE_CONTROL.immutable });
  return key;
}

export async function processClipCut(job: Job<ClipCutJob>, deps: ProcessClipCutDeps): Promise<string> {
  const { clipId } = job.data ?? {};
  if (!isClipId(clipId)) throw new UnrecoverableError('clip-cut: no valid clipId');
  const clip = await deps.clips.get(clipId);
  const ev = clip && (await deps.catalog.getEvent(clip.eventId));
  if (!clip || !ev || clip.status === 'failed' || !clip.audio) return 'gone';
  return clipJobWork(job, deps.clips, clip.id, async () => {
    const cardKey = clip.cardKey ?? (await drawCard(deps, clip, ev));
    if (!(await deps.clips.markReady(clip.id, cardKey))) {
      await deps.storage.delete(cardKey); // deleted meanwhile
      return 'gone';
    }
    const ready = await deps.clips.get(clip.id);
    if (!ready) return 'gone';
    if (ready.soundbite) await deps.soundbiteReady();
    await emit('clip.ready', { ...clipJson(deps, ready, ev) }, deps.webhooks);
    deps.log.info('clip ready', { clip: clip.id, event: ev.id });
    return 'ready';
  });
}
