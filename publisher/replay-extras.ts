// What the replay page adds from the search index: word timings for its
// lines (so a selection maps to seconds), the server-side find-in-transcript
// (`?find=`), and quotes (`?t=START&end=END`): the span checked, and its text
// for the page and the quote card.
import { badRequest, HttpError } from '../shared/http.ts';
import type { ReplayFind, ReplayQuote, ReplaySegment } from './page.ts';
import { parseQ } from './search/request.ts';
import type { SearchEngine } from './search/search.ts';
import { matchOffsets } from './search/snippet.ts';

/** A quote is a passage, not the whole event. */
export const MAX_QUOTE_SEC = 600;

const ms = (sec: number) => Math.round(sec * 1000);

/** The page's lines with the word timings the index holds for them (matched by start, to the millisecond). */
export async function withWords(segments: ReplaySegment[], engine: SearchEngine, eventId: string): Promise<ReplaySegment[]> {
  const words = new Map<number, ReplaySegment['words']>();
  for (const s of await engine.segmentsOf(eventId)) if (s.words?.length) words.set(ms(s.startSec), s.words);
  return segments.map((s) => {
    const w = words.get(ms(s.startSec));
    return w ? { ...s, words: w } : s;
  });
}

/** `?find=`: the event's lines that match, with the matched words' offsets; a bad query is an error shown on the page. */
export async function findOnPage(raw: unknown, engine: SearchEngine, eventId: string): Promise<ReplayFind | undefined> {
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const q = raw.slice(0, 500);
  try {
    const query = parseQ(q, 'find');
    const found = await engine.inEvent(eventId, query);
    return { q, hits: found.hits.map((h) => ({ startSec: h.startSec, endSec: h.endSec, ranges: matchOffsets(h.text, query) })) };
  } catch (e) {
    if (e instanceof HttpError && e.status === 400) return { q, hits: [], error: e.message };
    throw e;
  }
}

/** `?t=START&end=END` as a quote, or a 400 naming the parameter; without `end` there is no quote. */
export function quoteOf(t: unknown, end: unknown, durationSec: number): ReplayQuote | undefined {
  if (end === undefined) return undefined;
  const startSec = Number(t);
  const endSec = Number(end);
  if (typeof t !== 'string' || !Number.isFinite(startSec) || startSec < 0) throw badRequest('t', 't must be the quote’s start in seconds');
  if (typeof end !== 'string' || !Number.isFinite(endSec) || endSec <= startSec) throw badRequest('end', 'end must be a number of seconds after t');
  if (endSec - startSec > MAX_QUOTE_SEC) throw badRequest('end', `a quote is at most ${MAX_QUOTE_SEC} seconds long`);
  if (durationSec > 0 && startSec > durationSec) throw badRequest('t', 't is past the end of the recording');
  return { startSec, endSec };
}

/** The words said within the quote (whole lines when there are no word timings). */
export function quoteText(segments: ReplaySegment[], q: ReplayQuote): string {
  const parts: string[] = [];
  for (const s of segments) {
    if (s.endSec <= q.startSec || s.startSec >= q.endSec) continue;
    if (s.words?.length) parts.push(...s.words.filter((w) => w.endSec > q.startSec && w.startSec < q.endSec).map((w) => w.text.trim()));
    else parts.push(s.text.trim());
  }
  return parts.filter(Boolean).join(' ');
}
