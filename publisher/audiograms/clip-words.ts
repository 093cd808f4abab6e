// The words said in a clip, on the clip's own timeline, for its captions.
// The stored transcript JSON has the lines; the search index has their word
// timings when the transcriber was asked for them (WHISPER_WORD_TIMESTAMPS),
// as the replay page reads them (withWords). A line without word timings is
// spread over its span by word length, so its captions still move along.
import type { Storage } from '../../shared/storage/storage.ts';
import type { ReplaySegment } from '../page.ts';
import { transcriptSegments } from '../page-input.ts';
import { withWords } from '../replay-extras.ts';
import type { SearchEngine } from '../search/search.ts';
import type { TimedWord } from './captions.ts';

/** A line's words, timed by the transcriber or else spread over the line in proportion to their length. */
export function lineWords(seg: ReplaySegment): TimedWord[] {
  if (seg.words?.length) return seg.words.map((w) => ({ startSec: w.startSec, endSec: w.endSec, text: w.text.trim() }));
  const texts = seg.text.split(/\s+/).filter(Boolean);
  const weight = texts.reduce((n, t) => n + t.length + 1, 0);
  const span = Math.max(0, seg.endSec - seg.startSec);
  let at = seg.startSec;
  return texts.map((text) => {
    const startSec = at;
    at += (span * (text.length + 1)) / weight;
    return { startSec, endSec: at, text };
  });
}

/** The words of [startSec, endSec) of the recording, shifted to start at 0, those cut by an edge clamped to it. */
export function wordsInSpan(segments: ReplaySegment[], startSec: number, endSec: number): TimedWord[] {
  return segments
    .filter((s) => s.endSec > startSec && s.startSec < endSec)
    .flatMap(lineWords)
    .filter((w) => w.text && w.endSec > startSec && w.startSec < endSec)
    .map((w) => ({ text: w.text, startSec: Math.max(0, w.startSec - startSec), endSec: Math.min(endSec, w.endSec) - startSec }));
}

export interface ClipWordsDeps {
  storage: Storage;
  engine: SearchEngine;
}

/** The clip's words as the transcript stands now (none when there is no transcript yet). */
export async function clipWords(deps: ClipWordsDeps, eventId: string, startSec: number, endSec: number): Promise<TimedWord[]> {
  const stored = await transcriptSegments(deps.storage, eventId);
  if (!stored) return [];
  return wordsInSpan(await withWords(stored, deps.engine, eventId), startSec, endSec);
}
