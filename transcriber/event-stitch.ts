// The stitched transcript of an event, kept in this process between jobs.
// Every new PCM piece needs the transcript so far (the prompt of the next
// window, then the files), and stitching every finished window again for
// each piece re-reads, re-parses and re-stitches the whole event: 1,200
// windows at 10 hours, on every piece and at the end, before the last window
// can even start. Instead the last stitch is kept with a mark of what it was
// made from (how many finished windows, where the last ends, the length of
// their text). A job compares that mark with the catalog's (one aggregate),
// appends only the windows finished since, and stitches from scratch when the
// two do not fit together (another process changed the windows, or this one
// restarted): the catalog stays the truth, the kept stitch a shortcut.
import { appendWindow, type StitchState, type TranscribedWindow } from './stitch.ts';
import type { DoneWindowsMark, TranscriberState, WindowRow } from './state.ts';
import type { WhisperSegment } from './whisper.ts';

interface Kept {
  mark: DoneWindowsMark;
  stitched: StitchState | undefined;
}

/** Events kept at once per catalog (each holds its transcript's segments); the least recently used goes first. */
const MAX_KEPT = 256;
/** Per catalog handle: two catalogs (tests, tools) may hold the same event id. */
const keptBy = new WeakMap<TranscriberState, Map<string, Kept>>();

function keptOf(state: TranscriberState): Map<string, Kept> {
  let kept = keptBy.get(state);
  if (!kept) keptBy.set(state, (kept = new Map<string, Kept>()));
  return kept;
}

const EDGE_EPS = 1e-6;

export const asWindow = (w: { startSec: number; endSec: number; segments: WhisperSegment[] }): TranscribedWindow => ({
  startSec: w.startSec,
  durationSec: w.endSec - w.startSec,
  segments: w.segments,
});

function stitchAll(from: StitchState | undefined, windows: WindowRow[]): StitchState | undefined {
  let stitched = from;
  for (const w of windows) stitched = appendWindow(stitched, asWindow(w));
  return stitched;
}

/** Characters (code points, as SQL's length() counts them) of the windows' stored text, which is their segments as JSON. */
function textLength(windows: WindowRow[]): number {
  let n = 0;
  for (const w of windows) {
    const json = JSON.stringify(w.segments);
    n += json.length - (json.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
  }
  return n;
}

function keep(kept: Map<string, Kept>, eventId: string, k: Kept): void {
  kept.delete(eventId);
  kept.set(eventId, k);
  if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
}

/**
 * Every finished window, stitched in timeline order, and how many there are:
 * what stitching them all from the catalog gives, appending only what is new
 * since this process last stitched the event.
 */
export async function eventStitch(state: TranscriberState, eventId: string): Promise<{ stitched: StitchState | undefined; windows: number }> {
  const kept = keptOf(state);
  const mark = await state.doneWindowsMark(eventId);
  const k = kept.get(eventId);
  if (k && k.mark.count === mark.count && k.mark.lastEndSec === mark.lastEndSec && k.mark.chars === mark.chars) {
    keep(kept, eventId, k);
    return { stitched: k.stitched, windows: mark.count };
  }
  if (k && k.mark.count < mark.count) {
    // Windows only ever come after the covered time: the new ones start where the kept ones end.
    const newer = await state.doneWindows(eventId, k.mark.lastEndSec - EDGE_EPS);
    if (k.mark.count + newer.length === mark.count && k.mark.chars + textLength(newer) === mark.chars) {
      const stitched = stitchAll(k.stitched, newer);
      keep(kept, eventId, { mark, stitched });
      return { stitched, windows: mark.count };
    }
  }
  const all = await state.doneWindows(eventId);
  const stitched = stitchAll(undefined, all);
  keep(kept, eventId, { mark: { count: all.length, lastEndSec: all.length ? all[all.length - 1].endSec : 0, chars: textLength(all) }, stitched });
  return { stitched, windows: all.length };
}

/** Drops what is kept of an event (its transcript is complete, or it was deleted). */
export function forgetStitch(state: TranscriberState, eventId: string): void {
  keptBy.get(state)?.delete(eventId);
}
