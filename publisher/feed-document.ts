// The podcast feed as a document built from the catalog: the same bytes for
// `GET /feed.xml` and for the `feed.xml` object stored at the public root
// (which a bucket or a CDN serves alone). Built from every publication each
// time, never patched, so whichever publisher writes last writes it whole.
import type { ClipCatalog, ClipRow } from '../shared/catalog/clips.ts';
import type { EventCatalog } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import type { ChapterStore } from './chapters/chapter-store.ts';
import { chaptersKey } from './chapters/publish-chapters.ts';
import { buildFeed, type FeedItem } from './feed.ts';
import type { PublicationStore } from './publication-store.ts';
import { eventUrls } from './event-urls.ts';

export interface FeedDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  publications: PublicationStore;
  /** Which events have chapters (a <podcast:chapters> link each). */
  chapters: Pick<ChapterStore, 'withChapters'>;
  /** Clips offered as soundbites (<podcast:soundbite> each). */
  clips: Pick<ClipCatalog, 'soundbitesOf'>;
}

/** Where listeners find the feed: the stored object when a bucket serves the publications (S3), else the app. */
export function feedUrl(config: Config, storage: Storage): string {
  return config.storage === 's3' ? storage.publicUrl(keys.feed()) : `${config.publicUrl}/feed.xml`;
}

export async function feedDocument(deps: FeedDeps): Promise<string> {
  const { catalog, storage, config, publications } = deps;
  const pubs = await publications.published();
  const events = await catalog.eventsById(pubs.map((p) => p.eventId));
  const withChapters = await deps.chapters.withChapters(pubs.map((p) => p.eventId));
  const soundbites = new Map<string, ClipRow[]>();
  for (const c of await deps.clips.soundbitesOf(pubs.map((p) => p.eventId))) {
    const list = soundbites.get(c.eventId);
    if (list) list.push(c);
    else soundbites.set(c.eventId, [c]);
  }
  const items = pubs.flatMap((p): FeedItem[] => {
    const ev = events.get(p.eventId);
    if (!ev) return [];
    const urls = eventUrls(config, storage, ev);
    // Transcript files exist once a window was transcribed; a late one rewrites them at the same URLs.
    const hasTranscript = p.transcriptRevision > 0;
    return [
      {
        guid: ev.id,
        title: ev.title,
        description: `${ev.host ? `Hosted by ${ev.host}. ` : ''}Recorded live ${new Date(ev.createdAt).toUTCString()}.`,
        pubDate: p.publishedAt,
        pageUrl: urls.page,
        audio: { url: urls.audio, length: p.audioBytes, type: 'audio/mp4' },
        durationSec: p.durationSec,
        imageUrl: urls.artwork,
        transcripts: hasTranscript ? { vtt: urls.transcript.vtt, srt: urls.transcript.srt, json: urls.transcript.json } : {},
        language: config.whisperLanguage,
        chaptersUrl: withChapters.has(ev.id) ? storage.publicUrl(chaptersKey(ev.id)) : undefined,
        soundbites: soundbites.get(ev.id)?.map((c) => ({ startSec: c.startSec, durationSec: c.endSec - c.startSec, title: c.title ?? undefined })),
      },
    ];
  });
  const self = feedUrl(config, storage);
  return buildFeed({
    title: process.env.REPLAY_FEED_TITLE || 'Replay',
    description: 'Recordings and transcripts of live conversations, posted as soon as they end.',
    siteUrl: config.publicUrl,
    feedUrl: self,
    imageUrl: items[0]?.imageUrl ?? self,
    author: process.env.REPLAY_FEED_AUTHOR || 'Replay',
    language: config.whisperLanguage,
    items,
  });
}

/** Feed rewrites that keep seeing a changed catalog give up after this many rounds (the next change writes it again). */
const MAX_ROUNDS = 5;

/**
 * Stores the feed as it stands (`feed.xml` at the public root). Publishers on
 * other machines may write it at the same time with an older catalog in
 * hand: after each write the feed is built again, and written again if it
 * changed meanwhile, so the last write always holds the whole current feed.
 */
export async function writeFeed(deps: FeedDeps): Promise<void> {
  let xml = await feedDocument(deps);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await deps.storage.put(keys.feed(), xml, { contentType: FEED_TYPE, cacheControl: CACHE_CONTROL.short });
    const now = await feedDocument(deps);
    if (now === xml) return;
    xml = now;
  }
}

export const FEED_TYPE = 'application/rss+xml; charset=utf-8';
