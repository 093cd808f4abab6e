// A search hit as the API, the pages, the exports and the alerts give it:
// the segment with its event (title, host, date), a snippet with the
// matched words marked, and the URL that opens the replay page at that
// second. One function, so all of them say the same thing.
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import type { ParsedQuery } from './query.ts';
import type { SegmentHit } from './search.ts';
import { matchOffsets, snippetHtml } from './snippet.ts';

export interface HitJson {
  eventId: string;
  slug: string;
  title: string;
  host: string | null;
  /** The event's date (when it was created: it went live then). */
  date: string;
  live: boolean;
  startSec: number;
  endSec: number;
  speaker: string | null;
  text: string;
  /** HTML: the text escaped, the matched words in <mark>. */
  snippet: string;
  /** Character ranges of the matched words in `text`. */
  ranges: [number, number][];
  url: string;
  score: number;
}

/** The replay page playing from a second (rounded up to the centisecond, so it lands inside the line). */
export function timestampUrl(publicUrl: string, slug: string, sec: number): string {
  return `${publicUrl}/e/${encodeURIComponent(slug)}?t=${Math.ceil(sec * 100) / 100}`;
}

export function hitJson(hit: SegmentHit, ev: EventRow, query: ParsedQuery, publicUrl: string): HitJson {
  return {
    eventId: ev.id,
    slug: ev.slug,
    title: ev.title,
    host: ev.host,
    date: ev.createdAt,
    live: ev.status !== 'published',
    startSec: hit.startSec,
    endSec: hit.endSec,
    speaker: hit.speaker,
    text: hit.text,
    snippet: snippetHtml(hit.text, query),
    ranges: matchOffsets(hit.text, query),
    url: timestampUrl(publicUrl, ev.slug, hit.startSec),
    score: hit.score,
  };
}

/** Hits with their events, read in one query. */
export async function hitsJson(hits: SegmentHit[], catalog: EventCatalog, query: ParsedQuery, publicUrl: string): Promise<HitJson[]> {
  const events = await catalog.eventsById([...new Set(hits.map((h) => h.eventId))]);
  return hits.flatMap((h) => {
    const ev = events.get(h.eventId);
    return ev ? [hitJson(h, ev, query, publicUrl)] : [];
  });
}
