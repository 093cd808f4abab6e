// A search as asked over HTTP (the API, the results page, the exports and
// the alerts): every parameter checked, and anything wrong a 400 naming
// the parameter and saying what is wrong, never a query the engines see raw.
import type { EventCatalog } from '../../shared/catalog/events.ts';
import { badRequest } from '../../shared/http.ts';
import type { SearchSort } from './cursor.ts';
import { parseDay, type SearchFilters } from './filters.ts';
import { parseQuery, QueryError, type ParsedQuery } from './query.ts';

export interface SearchParams {
  q: string;
  query: ParsedQuery;
  filters: SearchFilters;
  sort: SearchSort;
  limit: number;
  cursor?: string;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

type Raw = Record<string, unknown>;

/** One string parameter, absent when missing or empty; a repeated one is a 400. */
function one(raw: Raw, name: string, maxLength = 500): string | undefined {
  const v = raw[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(name, `${name} must be given once, as text`);
  if (v.length > maxLength) throw badRequest(name, `${name} is longer than ${maxLength} characters`);
  return v.trim() === '' ? undefined : v;
}

/** The query: parsed here, so only compiled queries reach the engines. */
export function parseQ(raw: string | undefined, field = 'q'): ParsedQuery {
  if (raw === undefined) throw badRequest(field, `${field} is required: the words to search for`);
  try {
    return parseQuery(raw);
  } catch (e) {
    if (e instanceof QueryError) throw badRequest(field, e.message);
    throw e;
  }
}

/** Filters as given in a query string or a JSON body; the event may be named by id or slug. */
export async function parseFilters(raw: Raw, catalog: EventCatalog): Promise<SearchFilters> {
  const f: SearchFilters = {};
  const host = one(raw, 'host', 200);
  if (host !== undefined) f.host = host;
  const event = one(raw, 'event', 200);
  if (event !== undefined) {
    const ev = (await catalog.getEvent(event)) ?? (await catalog.getEventBySlug(event));
    if (!ev) throw badRequest('event', `no event with id or slug ${JSON.stringify(event.slice(0, 80))}`);
    f.eventId = ev.id;
  }
  const from = one(raw, 'from', 40);
  const to = one(raw, 'to', 40);
  if (from !== undefined) f.from = parseDay('from', from);
  if (to !== undefined) f.to = parseDay('to', to);
  if (f.from && f.to && f.from > f.to) throw badRequest('to', 'to is before from');
  const status = one(raw, 'status', 20);
  if (status !== undefined) {
    if (status !== 'live' && status !== 'published') throw badRequest('status', 'status must be live or published');
    f.status = status;
  }
  return f;
}

export async function parseSearchParams(raw: Raw, catalog: EventCatalog): Promise<SearchParams> {
  const q = one(raw, 'q');
  const query = parseQ(q);
  const filters = await parseFilters(raw, catalog);
  const sort = one(raw, 'sort', 20) ?? 'relevance';
  if (sort !== 'relevance' && sort !== 'date') throw badRequest('sort', 'sort must be relevance or date');
  const limitRaw = one(raw, 'limit', 10);
  const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest('limit', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return { q: q!, query, filters, sort, limit, cursor: one(raw, 'cursor', 512) };
}
