// The publisher's HTTP routes: the replay page, the podcast feed, the
// player's script, and the publisher's part of an event's JSON.
import crypto from 'node:crypto';
import { Router } from 'express';
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { notFound } from '../shared/http.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { FEED_TYPE, feedDocument } from './feed-document.ts';
import { renderQuoteCard } from './images.ts';
import { renderReplayPage, replayPageCsp } from './page.ts';
import { replayPageBase, transcriptSegments } from './page-input.ts';
import { hlsJsFile } from './player-asset.ts';
import type { PublicationStore } from './publication-store.ts';
import { eventUrls } from './event-urls.ts';
import { findOnPage, quoteOf, quoteText, withWords } from './replay-extras.ts';
import type { ChapterStore } from './chapters/chapter-store.ts';
import type { ClipCatalog } from '../shared/catalog/clips.ts';
import type { SearchEngine } from './search/search.ts';

export interface PublisherRouteDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  publications: PublicationStore;
  /** The search index: word timings, find-in-transcript and quotes on the replay page. */
  engine: SearchEngine;
  chapters: ChapterStore;
  clips: Pick<ClipCatalog, 'soundbitesOf'>;
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

  // The page, rendered as it is stored beside the media (stored-page.ts), plus what this request asks for.
  r.get('/e/:slug', async (req, res) => {
    const ev = await shown(String(req.params.slug));
    const pub = await publications.get(ev.id);
    const base = await replayPageBase(deps, ev, pub);
    const quote = quoteOf(req.query.t, req.query.end, base.event.durationSec);
    const t = Number(req.query.t);
    const embed = 'embed' in req.query;
    const nonce = crypto.randomBytes(16).toString('base64');
    const html = renderReplayPage({
      ...base,
      urls: {
        ...base.urls,
        // Same origin as the page, whatever REPLAY_PUBLIC_URL says: the page's script fetches it.
        search: `/api/events/${encodeURIComponent(ev.id)}/search`,
        quoteCard: quote ? `${config.publicUrl}/e/${encodeURIComponent(ev.slug)}/quote.png?t=${quote.startSec}&end=${quote.endSec}` : undefined,
      },
      nonce,
      embed,
      startAtSec: quote?.startSec ?? (Number.isFinite(t) && t > 0 ? t : undefined),
      find: await findOnPage(req.query.find, engine, ev.id),
      quote,
    });
    // Only the embed player may be framed (by any site that embeds it: X's player card, oEmbed consumers).
    const csp = replayPageCsp(nonce, {
      mediaOrigins: [base.urls.audio],
      scriptUrls: base.hlsJsUrl ? [base.hlsJsUrl] : [],
      frameAncestors: embed ? ['*'] : ["'none'"],
    });
    res.set('Content-Security-Policy', csp);
    if (embed) res.removeHeader('X-Frame-Options');
    res.set('Cache-Control', base.live ? 'no-cache' : 'public, max-age=60');
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

  // The same document as the stored feed.xml (feed-document.ts).
  r.get('/feed.xml', async (_req, res) => {
    res.type(FEED_TYPE);
    res.set('Cache-Control', 'public, max-age=60');
    res.send(await feedDocument(deps));
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
