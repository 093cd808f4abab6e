// The publisher's HTTP routes: the replay page, the podcast feed, the
// player's script, and the publisher's part of an event's JSON.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { Router } from 'express';
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { notFound } from '../shared/http.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { buildFeed } from './feed.ts';
import { renderQuoteCard } from './images.ts';
import { renderReplayPage, replayPageCsp, type ReplaySegment } from './page.ts';
import type { PublicationStore } from './publication-store.ts';
import { eventUrls } from './publish.ts';
import { findOnPage, quoteOf, quoteText, withWords } from './replay-extras.ts';
import type { SearchEngine } from './search/search.ts';

export interface PublisherRouteDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  publications: PublicationStore;
  /** The search index: word timings, find-in-transcript and quotes on the replay page. */
  engine: SearchEngine;
}

const hlsJsFile = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

/** The transcript as the transcriber last wrote it to storage (partial while live). */
async function transcriptSegments(storage: Storage, eventId: string): Promise<ReplaySegment[] | undefined> {
  const key = keys.transcript(eventId, 'json');
  if (!(await storage.head(key))) return undefined;
  const j = JSON.parse((await storage.get(key)).toString('utf8')) as { segments?: { startTime: number; endTime: number; body?: string; speaker?: string }[] };
  return (j.segments ?? []).map((s) => ({ startSec: s.startTime, endSec: s.endTime, text: String(s.body ?? ''), speaker: s.speaker }));
}

export function publisherRoutes(deps: PublisherRouteDeps): Router {
  const { catalog, storage, config, publications, engine } = deps;
  const r = Router();

  /** The event a page is about. */
  const shown = async (slug: string) => {
    const ev = await catalog.getEventBySlug(slug);
    if (!ev) throw notFound('no such event');
    return ev;
  };

  r.get('/assets/hls.min.js', (_req, res) => {
    res.sendFile(hlsJsFile, { maxAge: '7d', headers: { 'content-type': 'text/javascript; charset=utf-8' } });
  });

  r.get('/e/:slug', async (req, res) => {
    const ev = await shown(String(req.params.slug));
    const pub = await publications.get(ev.id);
    const live = ev.status === 'live' || !pub;
    const urls = eventUrls(config, storage, ev);
    const durationSec = pub?.durationSec ?? ev.timelineSec;
    const quote = quoteOf(req.query.t, req.query.end, durationSec);
    const t = Number(req.query.t);
    const embed = 'embed' in req.query;
    const nonce = crypto.randomBytes(16).toString('base64');
    const stored = await transcriptSegments(storage, ev.id);
    const segments = stored ? await withWords(stored, engine, ev.id) : [];
    const html = renderReplayPage({
      event: { title: ev.title, host: ev.host ?? undefined, startedAt: ev.createdAt, durationSec, slug: ev.slug },
      urls: {
        ...urls,
        feed: `${config.publicUrl}/feed.xml`,
        transcript: stored ? urls.transcript : undefined,
        // Same origin as the page, whatever REPLAY_PUBLIC_URL says: the page's script fetches it.
        search: `/api/events/${encodeURIComponent(ev.id)}/search`,
        quoteCard: quote ? `${urls.page}/quote.png?t=${quote.startSec}&end=${quote.endSec}` : undefined,
      },
      segments,
      gaps: await catalog.gaps(ev.id),
      nonce,
      live,
      embed,
      startAtSec: quote?.startSec ?? (Number.isFinite(t) && t > 0 ? t : undefined),
      audioType: 'audio/mp4',
      find: await findOnPage(req.query.find, engine, ev.id),
      quote,
    });
    // Only the embed player may be framed (by any site that embeds it: X's player card, oEmbed consumers).
    res.set('Content-Security-Policy', replayPageCsp(nonce, { mediaOrigins: [urls.audio], frameAncestors: embed ? ['*'] : ["'none'"] }));
    if (embed) res.removeHeader('X-Frame-Options');
    res.set('Cache-Control', live ? 'no-cache' : 'public, max-age=60');
    res.type('html').send(html);
  });

  // The card of a quote: what a link to `?t=START&end=END` shows in a preview.
  r.get('/e/:slug/quote.png', async (req, res) => {
    const ev = await shown(String(req.params.slug));
    const pub = await publications.get(ev.id);
    const quote = quoteOf(req.query.t, req.query.end ?? '', pub?.durationSec ?? ev.timelineSec)!;
    const stored = await transcriptSegments(storage, ev.id);
    const text = quoteText(stored ? await withWords(stored, engine, ev.id) : [], quote);
    const png = await renderQuoteCard({ quote: text || ev.title, title: ev.title, host: ev.host ?? undefined, startSec: quote.startSec, endSec: quote.endSec });
    res.set('Cache-Control', 'public, max-age=3600');
    res.type('png').send(png);
  });

  r.get('/feed.xml', async (_req, res) => {
    const pubs = await publications.published();
    const events = await catalog.eventsById(pubs.map((p) => p.eventId));
    const items = pubs.flatMap((p) => {
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
        },
      ];
    });
    res.type('application/rss+xml; charset=utf-8');
    res.set('Cache-Control', 'public, max-age=60');
    res.send(
      buildFeed({
        title: process.env.REPLAY_FEED_TITLE || 'Replay',
        description: 'Recordings and transcripts of live conversations, posted as soon as they end.',
        siteUrl: config.publicUrl,
        feedUrl: `${config.publicUrl}/feed.xml`,
        imageUrl: items[0]?.imageUrl ?? `${config.publicUrl}/feed.xml`,
        author: process.env.REPLAY_FEED_AUTHOR || 'Replay',
        language: config.whisperLanguage,
        items,
      }),
    );
  });

  return r;
}

/** The publisher's part of events' JSON: publication time, latency and URLs (one query for a whole list). */
export function publisherView(deps: Pick<PublisherRouteDeps, 'publications' | 'config' | 'storage'>) {
  return async (events: EventRow[]): Promise<Record<string, unknown>[]> => {
    const pubs = await deps.publications.getMany(events.map((e) => e.id));
    return events.map((ev) => {
      const pub = pubs.get(ev.id);
      const urls = eventUrls(deps.config, deps.storage, ev);
      // Before publication the transcoder and transcriber give their own live URLs (hls, transcript).
      return {
        publishedAt: pub?.publishedAt ?? null,
        publishLatencyMs: pub?.latencyMs ?? null,
        urls: pub
          ? {
              page: urls.page,
              audio: urls.audio,
              hls: urls.hls,
              manifest: urls.manifest,
              card: urls.card,
              artwork: urls.artwork,
              peaks: urls.peaks,
              transcript: pub.transcriptRevision > 0 ? urls.transcript : null,
            }
          : { page: urls.page, audio: null, manifest: null },
      };
    });
  };
}
