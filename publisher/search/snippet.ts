// Search result snippets: the words a query found, marked in the original segment
// text, cut to a readable window around the first hit. Transcript text comes from
// speech recognition and people, so it is always escaped; only our <mark> is markup.

import { escapeHtml } from '../html.ts';
import { matchedRanges, type ParsedQuery } from './query.ts';
import { tokenize, type TextToken } from './tokens.ts';

export interface SnippetOptions {
  maxChars?: number;
}

const DEFAULT_MAX_CHARS = 240;
const ELLIPSIS = '…';
/** Part of the room before the first hit that goes to the text leading up to it. */
const LEAD_SHARE = 1 / 3;

type Range = [number, number];

/** HTML: the text escaped, every hit in <mark>, cut around the first hit with … where text was left out. */
export function snippetHtml(text: string, q: ParsedQuery, opts?: SnippetOptions): string {
  const maxChars = Math.max(1, Math.floor(opts?.maxChars ?? DEFAULT_MAX_CHARS));
  const words = tokenize(text);
  const marks = markRanges(words, q);
  const [from, to] = text.length <= maxChars ? [0, text.length] : snippetWindow(text, words, marks[0], maxChars);
  const body = markedHtml(text, from, to, marks);
  return (from > 0 ? ELLIPSIS : '') + body + (to < text.length ? ELLIPSIS : '');
}

/** The same marks as snippetHtml, as [start, end) UTF-16 ranges of the original text. */
export function matchOffsets(text: string, q: ParsedQuery): Array<[number, number]> {
  return markRanges(tokenize(text), q);
}

/** Character ranges of the hits, overlapping or touching ones merged, in text order. */
function markRanges(words: TextToken[], q: ParsedQuery): Range[] {
  const tokens = words.map((w) => w.token);
  const ranges = matchedRanges(q, tokens).map(([from, to]): Range => [words[from].start, words[to - 1].end]);
  return mergeRanges(ranges);
}

function mergeRanges(sorted: Range[]): Range[] {
  const merged: Range[] = [];
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/**
 * The [from, to) part of a long text to show: about maxChars (less room for the
 * ellipses), the first hit a third of the way in, cut where words begin and end.
 */
function snippetWindow(text: string, words: TextToken[], firstHit: Range | undefined, maxChars: number): Range {
  const room = Math.max(1, maxChars - 2 * ELLIPSIS.length);
  const [hitStart, hitEnd] = firstHit ?? [0, 0];
  const lead = Math.floor(Math.max(0, room - (hitEnd - hitStart)) * LEAD_SHARE);
  let from = Math.max(0, hitStart - lead);
  const to = Math.min(text.length, from + room);
  from = Math.max(0, to - room);
  return snapToWords(text, words, from, to);
}

/** Moves the window edges inward to word boundaries; falls back to code point boundaries when no word fits. */
function snapToWords(text: string, words: TextToken[], from: number, to: number): Range {
  const first = from === 0 ? undefined : words.find((w) => w.start >= from && w.end <= to);
  const last = to === text.length ? undefined : findLast(words, (w) => w.end <= to && w.start >= from);
  const start = from === 0 ? 0 : first?.start;
  const end = to === text.length ? text.length : last?.end;
  if (start === undefined || end === undefined || start >= end) return [codePointEdge(text, from, 1), codePointEdge(text, to, -1)];
  return [start, end];
}

function findLast<T>(items: T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return items[i];
  return undefined;
}

/** Never cut between the two halves of a surrogate pair: step to the next (1) or previous (-1) code point start. */
function codePointEdge(text: string, at: number, direction: 1 | -1): number {
  const c = text.charCodeAt(at);
  const splitsPair = at > 0 && at < text.length && c >= 0xdc00 && c <= 0xdfff && isHighSurrogate(text.charCodeAt(at - 1));
  return splitsPair ? at + direction : at;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** The text between from and to, escaped piece by piece, with the marks (clipped to the window) as the only tags. */
function markedHtml(text: string, from: number, to: number, marks: Range[]): string {
  let html = '';
  let at = from;
  for (const [markStart, markEnd] of marks) {
    const start = Math.max(markStart, from);
    const end = Math.min(markEnd, to);
    if (start >= end) continue;
    html += escapeHtml(text.slice(at, start)) + '<mark>' + escapeHtml(text.slice(start, end)) + '</mark>';
    at = end;
  }
  return html + escapeHtml(text.slice(at, to));
}
