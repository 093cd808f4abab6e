// The search API: across every recording (`GET /api/search`), within one
// (`GET /api/events/:id/search`, for find-in-transcript), and as files to
// cite from (`GET /api/search/export?format=csv|json`). Public reads, as the
// pages are: they show live and published events, never failed ones.
import { Router } from 'express';
import type { EventCatalog } from '../../shared/catalog/events.ts';
import { notFound } from '../../shared/http.ts';
import { citation, citationsCsv } from './export.ts';
import { hitsJson, type HitJson } from './hit-json.ts';
import { parseQ, parseSearchParams, type SearchParams } from './request.ts';
import type { SearchEngine, SearchPage } from './search.ts';
import { VISIBLE_STATUSES } from './filters.ts';

export interface SearchRouteDeps {
  catalog: EventCatalog;
  engine: SearchEngine;
  publicUrl: string;
}

/** At most this many hits in one export. */
export const EXPORT_MAX = 1000;

export interface SearchResult {
  hits: HitJson[];
  total: number;
  totalCapped: boolean;
  nextCursor: string | null;
}

/** One page of a search, its hits with their events. */
export async function runSearch(p: SearchParams, deps: SearchRouteDeps): Promise<SearchResult> {
  const page: SearchPage = await deps.engine.search({ query: p.query, filters: p.filters, sort: p.sort, limit: p.limit, cursor: p.cursor });
  return {
    hits: await hitsJson(page.hits, deps.catalog, p.query, deps.publicUrl),
    total: page.total,
    totalCapped: page.totalCapped,
    nextCursor: page.nextCursor,
  };
}

/** Up to EXPORT_MAX hits, page after page. */
async function exportHits(p: SearchParams, deps: SearchRouteDeps): Promise<HitJson[]> {
  const out: HitJson[] = [];
  let cursor = p.cursor;
  do {
    const r = await runSearch({ ...p, limit: Math.min(100, EXPORT_MAX - out.length), cursor }, deps);
    out.push(...r.hits);
    cursor = r.nextCursor ?? undefined;
  } while (cursor && out.length < EXPORT_MAX);
  return out;
}

export function searchRoutes(deps: SearchRouteDeps): Router {
  const r = Router();

  r.get('/api/search', async (req, res) => {
    const p = await parseSearchParams(req.query, deps.catalog);
    res.set('Cache-Control', 'no-cache');
    res.json(await runSearch(p, deps));
  });

  r.get('/api/search/export', async (req, res) => {
    const { format, ...rest } = req.query;
    if (format !== 'csv' && format !== 'json') return void res.status(400).json({ error: 'format must be csv or json', field: 'format' });
    const p = await parseSearchParams(rest, deps.catalog);
    const rows = (await exportHits(p, deps)).map(citation);
    res.set('Content-Disposition', `attachment; filename="replay-search.${format}"`);
    if (format === 'csv') return void res.type('text/csv; charset=utf-8').send(citationsCsv(rows));
    res.json({ query: p.q, filters: p.filters, sort: p.sort, exportedAt: new Date().toISOString(), hits: rows });
  });

  r.get('/api/events/:id/search', async (req, res) => {
    const ev = (await deps.catalog.getEvent(req.params.id)) ?? (await deps.catalog.getEventBySlug(req.params.id));
    if (!ev || !(VISIBLE_STATUSES as readonly string[]).includes(ev.status)) throw notFound('no such event');
    const query = parseQ(typeof req.query.q === 'string' ? req.query.q : undefined);
    const found = await deps.engine.inEvent(ev.id, query);
    res.set('Cache-Control', 'no-cache');
    res.json({ ...found, hits: await hitsJson(found.hits, deps.catalog, query, deps.publicUrl) });
  });

  return r;
}
