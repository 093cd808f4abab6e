// Mapping each window's segments onto the event timeline, and joining
// consecutive windows so that nothing is lost or doubled at their edges.
//
// A window is a run of audio handed to whisper; its time 0 is its first
// sample. The timeline is the event's clock and includes gaps (a dropped
// source, a reconnect): a window may be made of several pieces of audio that
// sit apart on the timeline but were concatenated for whisper. Pure functions.
import type { WhisperSegment, WhisperWord } from './whisper.ts';

export interface TimelineWord {
  startSec: number;
  endSec: number;
  text: string;
}

export interface TimelineSegment {
  startSec: number;
  endSec: number;
  text: string;
  speaker?: string;
  words?: TimelineWord[];
}

/** A stretch of a window's audio and where it lies on the timeline. */
export interface WindowPiece {
  /** Position on the event timeline of the piece's first sample, seconds. */
  startSec: number;
  durationSec: number;
}

export interface TranscribedWindow {
  /** Timeline position of the window's first sample. */
  startSec: number;
  /** Length of the window's audio. */
  durationSec: number;
  /**
   * When the window's audio was concatenated from pieces that lie apart on the
   * timeline (gaps between them), the pieces in order; their durations sum to
   * durationSec. Absent: one piece, [startSec, startSec + durationSec).
   */
  pieces?: WindowPiece[];
  /** whisper's output for the window, times relative to the window's start. */
  segments: WhisperSegment[];
  speaker?: string;
}

const EPS = 1e-6;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function piecesOf(w: TranscribedWindow): WindowPiece[] {
  const p = w.pieces?.length ? w.pieces : [{ startSec: w.startSec, durationSec: w.durationSec }];
  return p.filter((x) => x.durationSec > 0);
}

/** The timeline span a window covers: first piece start to last piece end. */
export function windowSpan(w: TranscribedWindow): { startSec: number; endSec: number } {
  const p = piecesOf(w);
  if (!p.length) return { startSec: w.startSec, endSec: w.startSec };
  const last = p[p.length - 1];
  return { startSec: p[0].startSec, endSec: last.startSec + last.durationSec };
}

/**
 * Maps a time in the window's audio to the timeline. A time exactly at a join
 * maps to the start of the next piece when `edge` is 'start' (a segment that
 * begins there begins in the next piece) and to the end of the previous piece
 * when 'end'.
 */
export function localToTimeline(localSec: number, pieces: WindowPiece[], edge: 'start' | 'end' = 'start'): number {
  if (!pieces.length) return localSec;
  let acc = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    const isLast = i === pieces.length - 1;
    const within = edge === 'start' ? localSec < acc + p.durationSec - EPS : localSec <= acc + p.durationSec + EPS;
    if (within || isLast) {
      const off = Math.min(Math.max(localSec - acc, 0), p.durationSec);
      return p.startSec + off;
    }
    acc += p.durationSec;
  }
  return localSec; // unreachable
}

/**
 * A window's segments on the timeline: times clamped to the window's audio,
 * segments (and words) starting at or after its end dropped (whisper pads to
 * 30 s and can place text in the padding), empty texts dropped, sorted.
 */
export function windowToTimeline(w: TranscribedWindow): TimelineSegment[] {
  const pieces = piecesOf(w);
  const dur = pieces.reduce((a, p) => a + p.durationSec, 0);
  const out: TimelineSegment[] = [];
  const mapWord = (x: WhisperWord): TimelineWord | null => {
    const s = Math.max(0, x.startSec);
    if (s >= dur - EPS || !x.text.trim()) return null;
    const e = Math.min(Math.max(x.endSec, s), dur);
    return { startSec: r3(localToTimeline(s, pieces, 'start')), endSec: r3(localToTimeline(e, pieces, 'end')), text: x.text.trim() };
  };
  for (const seg of w.segments) {
    const text = seg.text.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    const s = Math.max(0, seg.startSec);
    if (s >= dur - EPS) continue;
    const e = Math.min(Math.max(seg.endSec, s), dur);
    const t: TimelineSegment = {
      startSec: r3(localToTimeline(s, pieces, 'start')),
      endSec: r3(localToTimeline(e, pieces, 'end')),
      text,
    };
    if (t.endSec < t.startSec) t.endSec = t.startSec;
    if (w.speaker) t.speaker = w.speaker;
    if (seg.words) {
      const words = seg.words.map(mapWord).filter((x): x is TimelineWord => x !== null);
      if (words.length) t.words = words;
    }
    out.push(t);
  }
  return out.sort((a, b) => a.startSec - b.startSec || a.endSec - b.endSec);
}

export interface StitchState {
  segments: TimelineSegment[];
  /** Timeline span covered so far: the end of the last window appended. */
  coveredUntilSec: number;
}

export interface StitchOptions {
  /**
   * Words at the edge repeated by both windows (a word cut by the edge is
   * often heard by both) are dropped from the later window when they lie
   * within this many seconds of the edge. 0 disables it.
   */
  edgeDedupeSec?: number;
  /** Longest repeated run of words looked for at an edge. */
  edgeDedupeWords?: number;
}

const normWord = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, '');
const wordsOf = (text: string) => text.split(/\s+/).filter(Boolean);

/**
 * Appends one window (in timeline order) to what has been stitched so far.
 *
 * - Overlapping windows: the overlap is split at its middle; each segment is
 *   kept by the window on whose side its midpoint falls (a previous segment
 *   starting before the new window is always kept), so a stretch heard by
 *   both windows is transcribed once.
 * - A kept segment lying within the previous segment's time is dropped; one
 *   that straddles its end starts where the previous one ends.
 * - Words repeated on both sides of the edge (the same last words of the
 *   previous window and first words of the next, close to the edge) are
 *   dropped from the next window.
 * - Gaps between windows are left as they are: nothing is invented or moved
 *   across them.
 */
export function appendWindow(state: StitchState | undefined, w: TranscribedWindow, opts: StitchOptions = {}): StitchState {
  const dedupeSec = opts.edgeDedupeSec ?? 1.5;
  const dedupeWords = opts.edgeDedupeWords ?? 3;
  const span = windowSpan(w);
  const next = windowToTimeline(w);
  if (!state || (!state.segments.length && state.coveredUntilSec <= span.startSec)) {
    return { segments: next, coveredUntilSec: Math.max(span.endSec, state?.coveredUntilSec ?? -Infinity) };
  }
  const prevEnd = state.coveredUntilSec;
  const mid = (s: TimelineSegment) => (s.startSec + s.endSec) / 2;
  let keptPrev = state.segments;
  let incoming = next;
  let edge = prevEnd;
  if (span.startSec < prevEnd - EPS) {
    // overlapping windows: split the overlap at its middle. A previous segment
    // that starts before the new window is kept whatever its midpoint: the new
    // window cannot hold all of it.
    const cut = (span.startSec + Math.min(prevEnd, span.endSec)) / 2;
    keptPrev = state.segments.filter((s) => s.startSec < span.startSec - EPS || mid(s) < cut);
    incoming = next.filter((s) => mid(s) >= cut);
    edge = cut;
  }

  // edge words heard by both windows
  const last = keptPrev[keptPrev.length - 1];
  if (last && incoming.length && dedupeSec > 0) {
    incoming = dropRepeatedEdgeWords(last, incoming, Math.max(edge, Math.min(last.endSec, prevEnd)), dedupeSec, dedupeWords);
  }

  const out = keptPrev.slice();
  for (const s of incoming) {
    const prev = out[out.length - 1];
    if (!prev || s.startSec >= prev.endSec - EPS) {
      out.push(s);
      continue;
    }
    // already covered by the previous segment's time: the same speech twice
    if (s.endSec <= prev.endSec + EPS) continue;
    // straddling the edge: start where the previous segment ends
    const startSec = prev.endSec;
    const t: TimelineSegment = { ...s, startSec };
    if (s.words) {
      const words = s.words.filter((x) => x.endSec > startSec + EPS).map((x) => ({ ...x, startSec: Math.max(x.startSec, startSec) }));
      if (words.length) t.words = words;
      else delete t.words;
    }
    out.push(t);
  }
  return { segments: out, coveredUntilSec: Math.max(prevEnd, span.endSec) };
}

function dropRepeatedEdgeWords(last: TimelineSegment, incoming: TimelineSegment[], edge: number, withinSec: number, maxWords: number): TimelineSegment[] {
  const first = incoming[0];
  if (last.endSec < edge - withinSec || first.startSec > edge + withinSec) return incoming;
  const a = wordsOf(last.text).map(normWord);
  const bRaw = wordsOf(first.text);
  const b = bRaw.map(normWord);
  let k = 0;
  for (let n = Math.min(maxWords, a.length, b.length); n >= 1; n--) {
    const tail = a.slice(a.length - n);
    const head = b.slice(0, n);
    if (tail.every((x, i) => x !== '' && x === head[i])) {
      k = n;
      break;
    }
  }
  if (!k) return incoming;
  // with word times, only words that begin near the edge count as repeats
  if (first.words && first.words.length >= k && first.words[k - 1].startSec > edge + withinSec) return incoming;
  const restText = bRaw.slice(k).join(' ');
  const rest = incoming.slice(1);
  if (!restText) return rest;
  let startSec = first.startSec;
  let words = first.words;
  if (words && words.length > k) {
    words = words.slice(k);
    startSec = Math.max(startSec, words[0].startSec);
  } else {
    // no word times: move the start in proportion to the characters dropped
    const frac = 1 - restText.length / first.text.length;
    startSec = r3(first.startSec + frac * (first.endSec - first.startSec));
    words = undefined;
  }
  const trimmed: TimelineSegment = { ...first, startSec, text: restText };
  if (words) trimmed.words = words;
  else delete trimmed.words;
  return [trimmed, ...rest];
}

/** Maps and stitches a list of windows (any order; sorted by start). */
export function stitchWindows(windows: TranscribedWindow[], opts?: StitchOptions): TimelineSegment[] {
  let st: StitchState | undefined;
  for (const w of [...windows].sort((a, b) => windowSpan(a).startSec - windowSpan(b).startSec)) {
    st = appendWindow(st, w, opts);
  }
  return st?.segments ?? [];
}

/** The tail of the transcript so far, as a decoder prompt for the next window. */
export function promptFrom(segments: TimelineSegment[], maxChars = 200): string {
  let out = '';
  for (let i = segments.length - 1; i >= 0 && out.length < maxChars; i--) {
    out = segments[i].text + (out ? ` ${out}` : '');
  }
  if (out.length <= maxChars) return out;
  const tail = out.slice(out.length - maxChars);
  const sp = tail.indexOf(' ');
  return sp >= 0 ? tail.slice(sp + 1) : tail;
}

/** What stitching a window changed: the segments starting at or after `fromSec` (and before `toSec`) are now `segments`. */
export interface StitchChange {
  fromSec: number;
  toSec: number;
  segments: TimelineSegment[];
}

/**
 * Compares the stitched segments before and after a window was appended
 * (appendWindow keeps the unchanged ones as the same objects). The span
 * starts at the first segment removed or added and reaches past the window.
 */
export function changedSpan(before: TimelineSegment[], after: TimelineSegment[], windowEndSec: number): StitchChange | undefined {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  if (p === before.length && p === after.length) return undefined;
  const fromSec = Math.min(before[p]?.startSec ?? Infinity, after[p]?.startSec ?? Infinity);
  const segments = after.filter((s) => s.startSec >= fromSec);
  const lastStart = segments.length ? segments[segments.length - 1].startSec : fromSec;
  return { fromSec, toSec: Math.max(windowEndSec, lastStart + 0.001), segments };
}
