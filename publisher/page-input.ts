// What the replay page shows, the same for the page the app renders per
// request (`GET /e/:slug`, which adds what the request asks: a nonce, `?t=`,
// a quote, `?find=`) and for the page stored beside the media (which does
// those in the browser). One function, so the two pages cannot drift apart.
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import type { ChapterStore } from './chapters/chapter-store.ts';
import { tableOfContents } from './chapters/chapters-format.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { feedUrl } from './feed-document.ts';
import type { ReplayPageInput, ReplaySegment } from './page.ts';
import { ensurePlayerAsset } from './player-asset.ts';
import type { Publication } from './publication-store.ts';
import { eventUrls } from './event-urls.ts';
import { withWords } from './replay-extras.ts';
import type { SearchEngine } from './search/search.ts';

export interface PageInputDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  /** Word timings for the lines (selections map to seconds); without it, lines only. */
  engine?: SearchEngine;
  /** The event's chapters, listed and marked on the timeline. */
  chapters: Pick<ChapterStore, 'chapters'>;
}

/** The transcript as the transcriber last wrote it to storage (partial while live). */
export async function transcriptSegments(storage: Storage, eventId: string): Promise<ReplaySegment[] | undefined> {
  const key = keys.transcript(eventId, 'json');
  if (!(await storage.head(key))) return undefined;
  const j = JSON.parse((await storage.get(key)).toString('utf8')) as { segments?: { startTime: number; endTime: number; body?: string; speaker?: string }[] };
  return (j.segments ?? []).map((s) => ({ startSec: s.startTime, endSec: s.endTime, text: String(s.body ?? ''), speaker: s.speaker }));
}

/** Whether the page is the live page (the HLS stream, the growing transcript) rather than the replay. */
export const isLivePage = (ev: EventRow, pub: Publication | undefined) => ev.status === 'live' || !pub;

/** The page of an event as it stands, before anything a request adds. */
export async function replayPageBase(deps: PageInputDeps, ev: EventRow, pub: Publication | undefined): Promise<ReplayPageInput> {
  const { storage, config } = deps;
  const urls = eventUrls(config, storage, ev);
  const stored = await transcriptSegments(storage, ev.id);
  const [segments, gaps, hlsJsUrl, chapters] = await Promise.all([
    stored && deps.engine ? withWords(stored, deps.engine, ev.id) : (stored ?? []),
    deps.catalog.gaps(ev.id),
    ensurePlayerAsset(storage),
    deps.chapters.chapters(ev.id),
  ]);
  return {
    event: { title: ev.title, host: ev.host ?? undefined, startedAt: ev.createdAt, durationSec: pub?.durationSec ?? ev.timelineSec, slug: ev.slug },
    urls: {
      ...urls,
      feed: feedUrl(config, storage),
      transcript: stored ? urls.transcript : undefined,
      // The app's search API, used by a page the app's origin serves; elsewhere the page finds in itself.
      search: `${config.publicUrl}/api/events/${encodeURIComponent(ev.id)}/search`,
      liveTranscript: urls.transcript.json,
      state: storage.publicUrl(keys.pageState(ev.id)),
      oembed: storage.publicUrl(keys.oembed(ev.id)),
    },
    segments,
    gaps,
    chapters: tableOfContents(chapters.doc).map((c) => ({ startSec: c.startTime, title: c.title ?? '', url: c.url })),
    live: isLivePage(ev, pub),
    hlsJsUrl,
    siteName: siteName(),
    audioType: 'audio/mp4',
  };
}

/** The name pages and the feed go by. */
export const siteName = () => process.env.REPLAY_FEED_TITLE || 'Replay';
