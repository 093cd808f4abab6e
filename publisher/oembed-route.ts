// The oEmbed endpoint (https://oembed.com): `GET /oembed?url=…&maxwidth=&maxheight=`
// answers type "rich", the embed player in an iframe, for the URLs replay
// gives out:
//
//   {publicUrl}/e/<slug>              a replay (or a live event's page)
//   {publicUrl}/e/<slug>?t=90         a moment: the player starts there
//   {publicUrl}/e/<slug>?t=90&end=120 a quote: it plays exactly that span
//   the stored page's URL             the same, when a bucket serves pages
//   {publicUrl}/c/<clipId>            a clip: the player plays its span
//
// The URL is a stranger's input: it is only compared with these shapes, never
// fetched. Anything else is a 404 (the spec's answer for a URL with no
// embed), a bad bound a 400 naming it, a format other than JSON a 501.
import { Router } from 'express';
import { isClipId, type ClipCatalog } from '../shared/catalog/clips.ts';
import { isEventId, type EventCatalog, type EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { badRequest, HttpError, notFound } from '../shared/http.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { eventUrls } from './event-urls.ts';
import { oembedFor } from './oembed.ts';
import { siteName } from './page-input.ts';
import type { PublicationStore } from './publication-store.ts';

export interface OembedRouteDeps {
  catalog: EventCatalog;
  clips: Pick<ClipCatalog, 'get'>;
  publications: PublicationStore;
  storage: Storage;
  config: Config;
}

/** What an embeddable URL names: an event's page, from a second, maybe to another. */
interface Target {
  ev: EventRow;
  startSec?: number;
  endSec?: number;
  /** A clip's own title and card, instead of its event's. */
  title?: string;
  cardKey?: string;
}

const MAX_URL = 2048;
const SLUG = /^[a-z0-9][a-z0-9-]{0,119}$/;

/** `t` / `end` of a page URL: seconds, or absent; anything else makes the URL one replay does not give out. */
function seconds(u: URL, name: string): number | undefined {
  const raw = u.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n)) throw badRequest('url', `the URL's ${name} must be a number of seconds`);
  return n;
}

function bound(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10_000)) throw badRequest(field, `${field} must be a whole number of pixels from 1 to 10000`);
  return n;
}

/** The base a URL must start with (no trailing slash). */
const trimmed = (base: string) => base.replace(/\/+$/, '');

export function oembedRoutes(deps: OembedRouteDeps): Router {
  const r = Router();

  /** The event or clip `raw` names, or undefined when it is not a URL replay gave out. */
  async function resolve(raw: string): Promise<Target | undefined> {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw badRequest('url', 'url must be an absolute URL of a replay, a clip or a moment');
    }
    if (u.username || u.password) return undefined;
    const site = trimmed(deps.config.publicUrl);
    const here = `${u.origin}${u.pathname}`;
    const page = here.startsWith(`${site}/e/`) ? here.slice(site.length + 3) : undefined;
    if (page !== undefined && SLUG.test(page)) {
      const ev = await deps.catalog.getEventBySlug(page);
      return ev && { ev, startSec: seconds(u, 't'), endSec: seconds(u, 'end') };
    }
    const clipId = here.startsWith(`${site}/c/`) ? here.slice(site.length + 3) : undefined;
    if (clipId !== undefined && isClipId(clipId)) {
      const clip = await deps.clips.get(clipId);
      const ev = clip && (await deps.catalog.getEvent(clip.eventId));
      return ev && clip && { ev, startSec: clip.startSec, endSec: clip.endSec, title: clip.title ?? undefined, cardKey: clip.cardKey ?? undefined };
    }
    // A stored page: <bucket>/events/<id>/index.html.
    const stored = /\/events\/([^/]+)\/index\.html$/.exec(u.pathname);
    if (stored && isEventId(stored[1])) {
      const ev = await deps.catalog.getEvent(stored[1]);
      if (ev && deps.storage.publicUrl(keys.page(ev.id)) === here) return { ev, startSec: seconds(u, 't'), endSec: seconds(u, 'end') };
    }
    return undefined;
  }

  r.get('/oembed', async (req, res) => {
    const q = req.query;
    if (q.format !== undefined && q.format !== 'json') throw new HttpError(501, 'only format=json is served');
    if (typeof q.url !== 'string' || !q.url) throw badRequest('url', 'url is required: the address of a replay, a clip or a moment');
    if (q.url.length > MAX_URL) throw badRequest('url', `url is longer than ${MAX_URL} characters`);
    const maxWidth = bound(q.maxwidth, 'maxwidth');
    const maxHeight = bound(q.maxheight, 'maxheight');
    const target = await resolve(q.url);
    if (!target || target.ev.status === 'failed') throw notFound('nothing to embed at this URL');
    const { ev } = target;
    const duration = (await deps.publications.get(ev.id))?.durationSec ?? ev.timelineSec;
    const startSec = target.startSec !== undefined ? Math.min(target.startSec, duration) : undefined;
    const endSec = target.endSec !== undefined && startSec !== undefined && target.endSec > startSec ? Math.min(target.endSec, duration) : undefined;
    const urls = eventUrls(deps.config, deps.storage, ev);
    res.set('Cache-Control', 'public, max-age=60');
    res.json(
      oembedFor({
        title: target.title ?? ev.title,
        host: ev.host ?? undefined,
        pageUrl: urls.page,
        cardUrl: target.cardKey ? deps.storage.publicUrl(target.cardKey) : urls.card,
        siteName: siteName(),
        siteUrl: deps.config.publicUrl,
        startSec,
        endSec,
        maxWidth,
        maxHeight,
      }),
    );
  });

  return r;
}
