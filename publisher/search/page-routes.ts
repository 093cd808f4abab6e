// The pages people land on: the home page (`/`: live now, recent
// recordings, the search box) and the results page (`/search?q=…`), both
// rendered on the server so they work without JavaScript. A bad query is
// answered with the page, its form and the error naming the field (400).
import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { HttpError } from '../../shared/http.ts';
import type { PublicationStore } from '../publication-store.ts';
import { renderHomePage, renderResultsPage, searchPageCsp, type SearchForm } from './pages.ts';
import { parseSearchParams } from './request.ts';
import { runSearch, type SearchRouteDeps } from './routes.ts';

export interface PageRouteDeps extends SearchRouteDeps {
  publications: PublicationStore;
  siteName: string;
}

const FORM_FIELDS = ['q', 'host', 'event', 'from', 'to', 'status', 'sort'] as const;

/** The form as the reader filled it in (only single string values; the page escapes them). */
function formOf(query: Request['query']): SearchForm {
  const form: SearchForm = { q: '' };
  for (const f of FORM_FIELDS) {
    const v = query[f];
    if (typeof v === 'string') form[f] = v.slice(0, 500);
  }
  return form;
}

/** The results page's URL for the same search, at another cursor. */
function pageUrl(form: SearchForm, cursor?: string, base = '/search'): string {
  const p = new URLSearchParams();
  for (const f of FORM_FIELDS) if (form[f]) p.set(f, form[f]);
  if (cursor) p.set('cursor', cursor);
  return `${base}?${p.toString()}`;
}

function sendPage(res: Response, nonce: string, html: string, status = 200): void {
  res.status(status).set('Content-Security-Policy', searchPageCsp(nonce)).set('Cache-Control', 'no-cache').type('html').send(html);
}

export function searchPageRoutes(deps: PageRouteDeps): Router {
  const r = Router();

  r.get('/', async (_req, res) => {
    const nonce = crypto.randomBytes(16).toString('base64');
    const [live, pubs] = await Promise.all([deps.catalog.liveEvents(), deps.publications.published(20)]);
    const events = await deps.catalog.eventsById(pubs.map((p) => p.eventId));
    const card = (ev: { title: string; host: string | null; slug: string; createdAt: string }, isLive: boolean, durationSec?: number) => ({
      title: ev.title,
      host: ev.host ?? undefined,
      url: `${deps.publicUrl}/e/${ev.slug}`,
      startedAt: ev.createdAt,
      durationSec,
      live: isLive,
    });
    const recent = pubs.flatMap((p) => {
      const ev = events.get(p.eventId);
      return ev && ev.status === 'published' ? [card(ev, false, p.durationSec)] : [];
    });
    const html = renderHomePage({
      siteName: deps.siteName,
      live: live.map((ev) => card(ev, true)),
      recent,
      nonce,
      feedUrl: `${deps.publicUrl}/feed.xml`,
      searchUrl: '/search',
    });
    sendPage(res, nonce, html);
  });

  r.get('/search', async (req, res) => {
    const nonce = crypto.randomBytes(16).toString('base64');
    const form = formOf(req.query);
    const base = { siteName: deps.siteName, form, nonce, searchUrl: '/search' };
    try {
      const p = await parseSearchParams(req.query, deps.catalog);
      const found = await runSearch(p, deps);
      const html = renderResultsPage({
        ...base,
        hits: found.hits.map((h) => ({
          title: h.title,
          host: h.host ?? undefined,
          date: h.date,
          startSec: h.startSec,
          endSec: h.endSec,
          snippetHtml: h.snippet,
          url: h.url,
          eventUrl: `${deps.publicUrl}/e/${h.slug}`,
          live: h.live,
        })),
        total: found.total,
        totalCapped: found.totalCapped,
        nextUrl: found.nextCursor ? pageUrl(form, found.nextCursor) : undefined,
        firstUrl: p.cursor ? pageUrl(form) : undefined,
        exportUrls: {
          csv: `${pageUrl(form, undefined, '/api/search/export')}&format=csv`,
          json: `${pageUrl(form, undefined, '/api/search/export')}&format=json`,
        },
      });
      sendPage(res, nonce, html);
    } catch (e) {
      if (!(e instanceof HttpError) || e.status >= 500) throw e;
      const error = { field: e.field ?? 'q', message: e.message };
      sendPage(res, nonce, renderResultsPage({ ...base, hits: [], total: 0, totalCapped: false, error }), e.status);
    }
  });

  return r;
}
