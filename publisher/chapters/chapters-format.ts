// Podcasting 2.0 JSON chapters (`application/json+chapters`): what a host
// sends to `PUT /api/events/:id/chapters`, what the feed's
// <podcast:chapters> points at, and what the replay page lists. Everything in
// a chapter comes from people and ends up in pages and feeds: each field is
// checked here, and a bad one is a 400 naming it (`chapters[2].startTime`),
// before anything is written.
import { badRequest } from '../../shared/http.ts';

export const CHAPTERS_TYPE = 'application/json+chapters';
/** The version of the format written out (the spec's current one). */
export const CHAPTERS_VERSION = '1.2.0';
export const MAX_CHAPTERS = 500;
export const MAX_TITLE_CHARS = 200;
const MAX_URL_CHARS = 2048;

export interface Chapter {
  startTime: number;
  endTime?: number;
  title?: string;
  img?: string;
  url?: string;
  /** false: a silent marker, not listed in a table of contents. */
  toc?: boolean;
  location?: { name: string; geo: string; osm?: string };
}

export interface ChaptersDocument {
  version: string;
  chapters: Chapter[];
  /** Optional fields of the format's top level. */
  author?: string;
  title?: string;
  podcastName?: string;
  description?: string;
  fileName?: string;
}

const CHAPTER_FIELDS = new Set(['startTime', 'endTime', 'title', 'img', 'url', 'toc', 'location']);
const TOP_FIELDS = new Set(['version', 'chapters', 'author', 'title', 'podcastName', 'description', 'fileName']);
const GEO = /^geo:-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?(;u=\d+(\.\d+)?)?$/;
const OSM = /^[NWR]\d{1,15}(#\d{1,15})?$/;

/** A JSON object (not an array, not null): what a body or a chapter must be. */
export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A title or name: a string, trimmed, without control characters, at most `max` characters. */
export function cleanText(raw: unknown, field: string, max = MAX_TITLE_CHARS): string {
  if (typeof raw !== 'string') throw badRequest(field, `${field} must be a string`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)) throw badRequest(field, `${field} contains control characters`);
  const text = raw.trim();
  if (!text) throw badRequest(field, `${field} is empty`);
  if ([...text].length > max) throw badRequest(field, `${field} is longer than ${max} characters`);
  return text;
}

/** A link shown to listeners: absolute http(s), no credentials, not too long. */
function cleanUrl(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || !raw) throw badRequest(field, `${field} must be an absolute http(s) URL`);
  if (raw.length > MAX_URL_CHARS) throw badRequest(field, `${field} is longer than ${MAX_URL_CHARS} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badRequest(field, `${field} must be an absolute http(s) URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badRequest(field, `${field} must use http or https`);
  if (u.username || u.password) throw badRequest(field, `${field} must not carry a user name or password`);
  return u.href;
}

/** A time on the recording, in seconds: finite, not negative, within `durationSec` when it is known. */
export function cleanTime(raw: unknown, field: string, durationSec: number | undefined): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw badRequest(field, `${field} must be a number of seconds`);
  if (raw < 0) throw badRequest(field, `${field} must not be negative`);
  if (durationSec !== undefined && raw > durationSec) throw badRequest(field, `${field} is past the end of the recording (${durationSec.toFixed(3)} s)`);
  return Math.round(raw * 1000) / 1000;
}

function unknownField(o: Record<string, unknown>, known: Set<string>, at: string): void {
  const extra = Object.keys(o).find((k) => !known.has(k));
  if (extra !== undefined) throw badRequest(`${at}${extra}`, `${at}${extra} is not a field of JSON chapters`);
}

function parseLocation(raw: unknown, at: string): Chapter['location'] {
  if (!isObject(raw)) throw badRequest(at, `${at} must be an object: {name, geo, osm?}`);
  unknownField(raw, new Set(['name', 'geo', 'osm']), `${at}.`);
  const name = cleanText(raw.name, `${at}.name`);
  if (typeof raw.geo !== 'string' || !GEO.test(raw.geo)) throw badRequest(`${at}.geo`, `${at}.geo must be a geo URI (geo:LAT,LON)`);
  if (raw.osm !== undefined && (typeof raw.osm !== 'string' || !OSM.test(raw.osm)))
    throw badRequest(`${at}.osm`, `${at}.osm must be an OpenStreetMap id like R113314`);
  return { name, geo: raw.geo, ...(raw.osm !== undefined ? { osm: raw.osm } : {}) };
}

function parseChapter(raw: unknown, at: string, durationSec: number | undefined): Chapter {
  if (!isObject(raw)) throw badRequest(at, `${at} must be an object: {startTime, title?, img?, url?, toc?, endTime?, location?}`);
  unknownField(raw, CHAPTER_FIELDS, `${at}.`);
  const c: Chapter = { startTime: cleanTime(raw.startTime, `${at}.startTime`, durationSec) };
  if (raw.endTime !== undefined) {
    c.endTime = cleanTime(raw.endTime, `${at}.endTime`, durationSec);
    if (c.endTime <= c.startTime) throw badRequest(`${at}.endTime`, `${at}.endTime must be after its startTime`);
  }
  if (raw.title !== undefined) c.title = cleanText(raw.title, `${at}.title`);
  if (raw.img !== undefined) c.img = cleanUrl(raw.img, `${at}.img`);
  if (raw.url !== undefined) c.url = cleanUrl(raw.url, `${at}.url`);
  if (raw.toc !== undefined) {
    if (typeof raw.toc !== 'boolean') throw badRequest(`${at}.toc`, `${at}.toc must be true or false`);
    c.toc = raw.toc;
  }
  if (raw.location !== undefined) c.location = parseLocation(raw.location, `${at}.location`);
  return c;
}

/**
 * A chapters document from an untrusted body, checked field by field, with
 * its chapters in time order. `durationSec`: the recording's length, past
 * which no chapter may start (unknown: unchecked).
 */
export function parseChapters(body: unknown, durationSec: number | undefined): ChaptersDocument {
  if (!isObject(body)) throw badRequest('body', 'expected a JSON chapters object: {version, chapters: [{startTime, title}]}');
  unknownField(body, TOP_FIELDS, '');
  if (typeof body.version !== 'string' || !/^1\.\d+(\.\d+)?$/.test(body.version))
    throw badRequest('version', 'version must be a 1.x version string, e.g. "1.2.0"');
  if (!Array.isArray(body.chapters)) throw badRequest('chapters', 'chapters must be an array');
  if (body.chapters.length > MAX_CHAPTERS) throw badRequest('chapters', `at most ${MAX_CHAPTERS} chapters`);
  const chapters = body.chapters.map((c, i) => parseChapter(c, `chapters[${i}]`, durationSec));
  const doc: ChaptersDocument = { version: CHAPTERS_VERSION, chapters: sortChapters(chapters) };
  for (const f of ['author', 'title', 'podcastName', 'description', 'fileName'] as const) {
    if (body[f] !== undefined) doc[f] = cleanText(body[f], f, f === 'description' ? 4000 : MAX_TITLE_CHARS);
  }
  return doc;
}

/** In time order; chapters starting together keep the order they came in. */
export function sortChapters(chapters: Chapter[]): Chapter[] {
  return chapters
    .map((c, i) => ({ c, i }))
    .sort((a, b) => a.c.startTime - b.c.startTime || a.i - b.i)
    .map((x) => x.c);
}

/** The chapters a listener can jump to (the format's `toc: false` ones are silent). */
export const tableOfContents = (doc: ChaptersDocument): Chapter[] => doc.chapters.filter((c) => c.toc !== false);
