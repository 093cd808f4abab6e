// The replay page: one self-contained HTML document per event.
//
// - Works without JavaScript: an <audio> player, the whole transcript rendered
//   on the server as a list of lines (each with a `?t=SECONDS` timestamp link),
//   and download links for the audio and every transcript format.
// - With JavaScript (one inline script, allowed by the caller's CSP nonce):
//   the line being spoken is highlighted (`current`, aria-current) and kept in
//   view, a click on a line seeks, `?t=` / `#t=` deep links seek on load,
//   playback speed is adjustable, and while the event is still live the HLS
//   stream plays natively or through hls.js (loaded only when needed).
// - Open Graph and Twitter player card tags for link previews.
// - Find in transcript: `?find=` marks the matching lines on the server; with
//   JavaScript the box searches as you type (the search API), steps through
//   the hits and draws them on a timeline bar.
// - Quotes: `?t=START&end=END` plays just that span and marks its words (or
//   lines); selecting words offers such a link to copy. The server renders the
//   marks and the quote itself, and a quote card for link previews.
//
// Everything from outside (titles, speaker names, transcript text, URLs) is
// escaped: a speaker can say "<script>" and it stays text.
import { clock, escapeHtml, humanDuration, jsonForHtml, toDate, truncate } from './html.ts';
import { isValidNonce } from './page-csp.ts';
import { SCRIPT } from './page-script.ts';
import { CHAPTER_BAR, renderChapters, type PageChapter } from './chapters/chapters-page.ts';
import { STYLE } from './page-style.ts';

export interface ReplayWord {
  startSec: number;
  endSec: number;
  text: string;
}

export interface ReplaySegment {
  startSec: number;
  endSec: number;
  text: string;
  speaker?: string;
  /** Word timings: each word becomes a `span.w` with data-start/data-end, so a selection maps to times. */
  words?: ReplayWord[];
}

/** A line that matched a find: `ranges` are [start, end) UTF-16 offsets in that segment's text, marked with <mark>. */
export interface FindHit {
  startSec: number;
  endSec: number;
  ranges?: [number, number][];
}

/** The result of `?find=` for the server-rendered page (the same shape the search API returns). */
export interface ReplayFind {
  q: string;
  hits: FindHit[];
  /** Shown instead of the count, e.g. the search API's 400 message. */
  error?: string;
}

/** A quoted span, from `?t=START&end=END`. */
export interface ReplayQuote {
  startSec: number;
  endSec: number;
}

export interface ReplayGap {
  startSec: number;
  endSec: number;
  reason?: string;
}

export interface ReplayPageInput {
  event: {
    title: string;
    host?: string;
    startedAt: Date | string | number;
    durationSec: number;
    slug: string;
    /** Used for the description tags; defaults to a summary plus the transcript's opening. */
    description?: string;
  };
  /** Absolute URLs (link previews need absolute og:image and og:audio). */
  urls: {
    page: string;
    /** The M4A recording. */
    audio: string;
    /** The HLS playlist; played while `live`. */
    hls?: string;
    /** The 1200x630 social card. */
    card: string;
    /** The iframe player for Twitter's player card; default `page?embed=1`. */
    player?: string;
    /** The podcast feed, announced as an RSS alternate. */
    feed?: string;
    /** Absent when there is no transcript file (e.g. no whisper model): no download links then. */
    transcript?: { vtt: string; srt: string; json: string; txt: string };
    /** This event's search API (same origin): `GET {search}?q=` answers `{hits: FindHit[], total}` or 400 `{error}`. */
    search?: string;
    /** The 1200x630 card of `quote`: used as og:image / twitter:image instead of `card` when given. */
    quoteCard?: string;
    /** The transcript JSON in storage, which the live page polls to show new lines. */
    liveTranscript?: string;
    /** The page's state in storage (`{status}`), which the live page polls to load the replay once published. */
    state?: string;
    /** The page's oEmbed JSON, announced for discovery. */
    oembed?: string;
  };
  segments: ReplaySegment[];
  gaps?: ReplayGap[];
  /** The chapters listed and marked on the timeline (a table of contents: silent ones left out). */
  chapters?: PageChapter[];
  /** CSP nonce for the inline <style> and <script>. */
  nonce?: string;
  /** A Content-Security-Policy to carry in a <meta> element (a stored page, which has no headers of its own: storedPageCsp). */
  metaCsp?: string;
  /** The event is still being recorded: play the HLS stream, hide the audio download. */
  live?: boolean;
  /** Where hls.js is served (same origin keeps the CSP simple). */
  hlsJsUrl?: string;
  siteName?: string;
  /** Compact player-only layout, for the Twitter player iframe. */
  embed?: boolean;
  /** Start position from the request's `?t=`, for browsers without JavaScript (media fragment). */
  startAtSec?: number;
  /** MIME type of urls.audio. */
  audioType?: string;
  /** `?find=`: the lines to mark on the server (works without JavaScript). */
  find?: ReplayFind;
  /** `?t=START&end=END`: the span to quote, play and mark. */
  quote?: ReplayQuote;
}

export { isValidNonce, replayPageCsp, storedPageCsp } from './page-csp.ts';

function num(n: number): string {
  return String(Math.round((Number.isFinite(n) ? n : 0) * 1000) / 1000);
}

function secondsParam(sec: number): number {
  return Math.max(0, Math.floor(Number.isFinite(sec) ? sec : 0));
}

// Made once: building an Intl.DateTimeFormat loads locale data (milliseconds each time; pages are rendered per request).
const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

function formatDate(d: Date): string {
  return DATE_FORMAT.format(d);
}

function meta(attr: 'name' | 'property', key: string, value: string | number | undefined): string {
  if (value === undefined || value === '') return '';
  return `<meta ${attr}="${escapeHtml(key)}" content="${escapeHtml(value)}">`;
}

/** The embed player's URL: the page with `embed=1`. */
export function withEmbed(page: string): string {
  try {
    const u = new URL(page);
    u.searchParams.set('embed', '1');
    return u.toString();
  } catch {
    return page + (page.includes('?') ? '&' : '?') + 'embed=1';
  }
}

type Row = { kind: 'line'; seg: ReplaySegment; showSpeaker: boolean } | { kind: 'gap'; gap: ReplayGap };

function transcriptRows(segments: ReplaySegment[], gaps: ReplayGap[]): Row[] {
  const segs = segments.filter((s) => Number.isFinite(s.startSec) && String(s.text ?? '').trim() !== '').sort((a, b) => a.startSec - b.startSec);
  const gs = gaps.filter((g) => Number.isFinite(g.startSec) && g.endSec > g.startSec).sort((a, b) => a.startSec - b.startSec);
  const rows: Row[] = [];
  let gi = 0;
  let lastSpeaker: string | undefined;
  for (const seg of segs) {
    while (gi < gs.length && gs[gi].startSec <= seg.startSec) {
      rows.push({ kind: 'gap', gap: gs[gi++] });
      lastSpeaker = undefined;
    }
    const speaker = seg.speaker?.trim() || undefined;
    rows.push({ kind: 'line', seg, showSpeaker: !!speaker && speaker !== lastSpeaker });
    lastSpeaker = speaker;
  }
  while (gi < gs.length) rows.push({ kind: 'gap', gap: gs[gi++] });
  return rows;
}

// ---- a line's text: words placed in it, find marks, quoted words

type Range = [number, number];

/** A word with its place in the displayed text. */
interface PlacedWord {
  from: number;
  to: number;
  startSec: number;
  endSec: number;
}

/** What a line shows: its text (trimmed), where the raw text's offsets start in it, and its words. */
interface LineText {
  text: string;
  /** Characters trimmed off the front: find ranges count from the raw text. */
  lead: number;
  words: PlacedWord[];
  /** False when the words did not match the text and the line shows the words instead: ranges do not apply then. */
  mapped: boolean;
}

/** Quoted times are compared after a round trip through a URL (3 decimals). */
const QUOTE_EPS = 0.01;

function usableWords(words: ReplayWord[] | undefined): ReplayWord[] {
  return (words ?? []).filter((w) => Number.isFinite(w.startSec) && String(w.text ?? '').trim() !== '');
}

function wordEnd(w: ReplayWord): number {
  return Number.isFinite(w.endSec) && w.endSec > w.startSec ? w.endSec : w.startSec;
}

/** Finds each word, in order, in the text; undefined when one is missing (the words were transcribed differently). */
function placeWords(text: string, words: ReplayWord[]): PlacedWord[] | undefined {
  const placed: PlacedWord[] = [];
  let at = 0;
  for (const w of words) {
    const needle = String(w.text).trim();
    const i = text.indexOf(needle, at);
    if (i < 0) return undefined;
    placed.push({ from: i, to: i + needle.length, startSec: w.startSec, endSec: wordEnd(w) });
    at = i + needle.length;
  }
  return placed;
}

/** The words joined by spaces, for a line whose text they do not match. */
function joinWords(words: ReplayWord[]): LineText {
  let text = '';
  const placed = words.map((w) => {
    const t = String(w.text).trim();
    if (text) text += ' ';
    const from = text.length;
    text += t;
    return { from, to: text.length, startSec: w.startSec, endSec: wordEnd(w) };
  });
  return { text, lead: 0, words: placed, mapped: false };
}

function lineText(seg: ReplaySegment): LineText {
  const raw = String(seg.text ?? '');
  const text = raw.trim();
  const lead = raw.length - raw.trimStart().length;
  const words = usableWords(seg.words);
  if (!words.length) return { text, lead, words: [], mapped: true };
  const placed = placeWords(text, words);
  return placed ? { text, lead, words: placed, mapped: true } : joinWords(words);
}

function mergeRanges(ranges: Range[]): Range[] {
  const merged: Range[] = [];
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Find ranges (offsets in the raw text) as offsets in the displayed text: clipped, whole numbers, merged. */
function displayRanges(lt: LineText, ranges: Range[]): Range[] {
  if (!lt.mapped) return [];
  const clipped = ranges
    .filter((r) => Array.isArray(r) && Number.isFinite(r[0]) && Number.isFinite(r[1]))
    .map(([a, b]): Range => [Math.max(0, Math.floor(a) - lt.lead), Math.min(lt.text.length, Math.ceil(b) - lt.lead)])
    .filter(([a, b]) => b > a);
  return mergeRanges(clipped);
}

function isQuotedWord(w: PlacedWord, q: ReplayQuote | undefined): boolean {
  return !!q && w.startSec >= q.startSec - QUOTE_EPS && w.endSec <= q.endSec + QUOTE_EPS;
}

/** A line without word timings is quoted when it overlaps the span (touching at an edge is not overlapping). */
function isQuotedLine(seg: ReplaySegment, q: ReplayQuote | undefined): boolean {
  if (!q) return false;
  const end = lineEnd(seg);
  if (end === seg.startSec) return seg.startSec >= q.startSec && seg.startSec <= q.endSec;
  return seg.startSec < q.endSec && end > q.startSec;
}

function lineEnd(seg: ReplaySegment): number {
  return Number.isFinite(seg.endSec) && seg.endSec > seg.startSec ? seg.endSec : seg.startSec;
}

function wordOpen(w: PlacedWord, quoted: boolean): string {
  return `<span class="w${quoted ? ' quoted' : ''}" data-start="${num(w.startSec)}" data-end="${num(w.endSec)}">`;
}

/** Every place where a word or a mark starts or ends, in order. */
function cutPoints(length: number, words: PlacedWord[], marks: Range[]): number[] {
  const points = new Set<number>([0, length]);
  for (const w of words) points.add(w.from).add(w.to);
  for (const [a, b] of marks) points.add(a).add(b);
  return [...points].filter((n) => n >= 0 && n <= length).sort((a, b) => a - b);
}

/** The line's text, escaped piece by piece: words in `span.w`, find ranges in <mark> (split at word edges so tags nest). */
function lineTextHtml(lt: LineText, marks: Range[], quote: ReplayQuote | undefined): string {
  const cuts = cutPoints(lt.text.length, lt.words, marks);
  let html = '';
  let open: PlacedWord | undefined;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i], cuts[i + 1]];
    const word = lt.words.find((w) => w.from <= from && to <= w.to);
    if (word !== open) {
      html += (open ? '</span>' : '') + (word ? wordOpen(word, isQuotedWord(word, quote)) : '');
      open = word;
    }
    const piece = escapeHtml(lt.text.slice(from, to));
    html += marks.some(([a, b]) => a <= from && to <= b) ? `<mark>${piece}</mark>` : piece;
  }
  return html + (open ? '</span>' : '');
}

/** What the transcript rows need besides the rows: the lines' texts, the find ranges per line, the quote. */
interface RowContext {
  texts: Map<ReplaySegment, LineText>;
  hits: Map<ReplaySegment, Range[]>;
  quote?: ReplayQuote;
}

function renderGap(gap: ReplayGap): string {
  const { startSec, endSec } = gap;
  return `<li class="gap" data-start="${num(startSec)}" data-end="${num(endSec)}"><span>No audio was captured from ${clock(startSec)} to ${clock(endSec)}.</span></li>`;
}

function renderRow(r: Row, ctx: RowContext): string {
  if (r.kind === 'gap') return renderGap(r.gap);
  const { seg } = r;
  const t = secondsParam(seg.startSec);
  const lt = ctx.texts.get(seg) ?? lineText(seg);
  const ranges = ctx.hits.get(seg);
  const classes = ['line', ranges ? 'hit' : '', !lt.words.length && isQuotedLine(seg, ctx.quote) ? 'quoted' : ''].filter(Boolean).join(' ');
  const textAttrs = (lt.lead ? ` data-lead="${lt.lead}"` : '') + (lt.mapped ? '' : ' data-unmapped=""');
  const speaker = r.showSpeaker ? `<span class="speaker">${escapeHtml(seg.speaker!.trim())}</span> ` : '';
  return (
    `<li class="${classes}" data-start="${num(seg.startSec)}" data-end="${num(lineEnd(seg))}">` +
    `<a class="ts" href="?t=${t}" aria-label="Play from ${clock(seg.startSec)}">${clock(seg.startSec)}</a>` +
    `<p>${speaker}<span class="text"${textAttrs}>${lineTextHtml(lt, displayRanges(lt, ranges ?? []), ctx.quote)}</span></p></li>`
  );
}

// ---- find (server side): which line each hit is

/** The line a hit belongs to: the one starting at the same time, else the one it falls in. */
function lineOfHit(lines: ReplaySegment[], hit: FindHit): ReplaySegment | undefined {
  if (!Number.isFinite(hit.startSec)) return undefined;
  const same = lines.find((l) => Math.abs(l.startSec - hit.startSec) < 0.05);
  return same ?? lines.find((l) => l.startSec <= hit.startSec && hit.startSec <= lineEnd(l));
}

function hitRanges(lines: ReplaySegment[], find: ReplayFind | undefined): Map<ReplaySegment, Range[]> {
  const byLine = new Map<ReplaySegment, Range[]>();
  for (const hit of find?.error ? [] : (find?.hits ?? [])) {
    const line = lineOfHit(lines, hit);
    if (line) byLine.set(line, [...(byLine.get(line) ?? []), ...(Array.isArray(hit.ranges) ? hit.ranges : [])]);
  }
  return byLine;
}

function matchCount(n: number): string {
  if (n === 0) return 'No matches';
  return n === 1 ? '1 match' : `${n} matches`;
}

function renderFindForm(find: ReplayFind | undefined): string {
  const q = find?.q ?? '';
  const error = find?.error?.trim();
  const status = error ? error : q.trim() ? matchCount(find?.hits.length ?? 0) : '';
  return (
    `<form class="find" id="find-form" method="get" role="search" aria-label="Find in the transcript">` +
    `<label for="find-q">Find in transcript</label>` +
    `<input type="search" id="find-q" name="find" value="${escapeHtml(q)}" autocomplete="off" spellcheck="false" maxlength="200" aria-describedby="find-status"${error ? ' aria-invalid="true"' : ''}>` +
    `<button type="submit" id="find-submit">Find</button>` +
    `<button type="button" id="find-prev" hidden aria-label="Previous match">↑</button>` +
    `<button type="button" id="find-next" hidden aria-label="Next match">↓</button>` +
    `<p class="find-status${error ? ' error' : ''}" id="find-status" role="status" aria-live="polite">${escapeHtml(status)}</p>` +
    `</form>`
  );
}

// ---- quotes (server side)

/** The quote when it is a real span; anything else is ignored rather than failing the page. */
function validQuote(q: ReplayQuote | undefined): ReplayQuote | undefined {
  if (!q || !Number.isFinite(q.startSec) || !Number.isFinite(q.endSec)) return undefined;
  return q.endSec > q.startSec && q.startSec >= 0 ? q : undefined;
}

/** The quoted words (or, for lines without word timings, the quoted lines), in order. */
function quoteText(lines: ReplaySegment[], texts: Map<ReplaySegment, LineText>, q: ReplayQuote): string {
  const parts: string[] = [];
  for (const seg of lines) {
    const lt = texts.get(seg) ?? lineText(seg);
    if (lt.words.length) parts.push(...lt.words.filter((w) => isQuotedWord(w, q)).map((w) => lt.text.slice(w.from, w.to)));
    else if (isQuotedLine(seg, q)) parts.push(lt.text);
  }
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

/** `?t=START&end=END` for a quote (relative, like the lines' `?t=` links). */
function quoteQuery(q: ReplayQuote): string {
  return `?t=${num(q.startSec)}&end=${num(q.endSec)}`;
}

function renderQuote(q: ReplayQuote, text: string): string {
  const span = `${clock(q.startSec)}–${clock(q.endSec)}`;
  const body = text ? `<blockquote><p>${escapeHtml(truncate(text, 600))}</p></blockquote>` : '';
  return (
    `<figure class="quote" id="quote" data-start="${num(q.startSec)}" data-end="${num(q.endSec)}">${body}` +
    `<figcaption><a class="play-quote" id="play-quote" href="${escapeHtml(quoteQuery(q))}">▶ Play quote</a> <span class="span">${span}</span></figcaption></figure>`
  );
}

/** The box that offers a link to the selected words; filled and shown by the script. */
const QUOTE_SHARE =
  `<div class="quote-share" id="quote-share" role="region" aria-label="Quote link" hidden>` +
  `<label for="quote-url">Quote link</label><input type="url" id="quote-url" readonly value="">` +
  `<button type="button" id="quote-copy">Copy</button><button type="button" id="quote-clip" hidden>Clip</button>` +
  `<button type="button" id="quote-close" aria-label="Close">×</button>` +
  `<span id="quote-copied" role="status" aria-live="polite"></span></div>`;

export const PLAYBACK_RATES = [0.75, 1, 1.25, 1.5, 1.75, 2];

interface PageParts {
  title: string;
  siteName: string;
  facts: string;
  description: string;
  live: boolean;
  audioType: string;
  /** og:url: the page, or the quote's link so previews fetch the quote's tags. */
  shareUrl: string;
  image: string;
  imageAlt: string;
  nonceAttr: string;
}

function headTags(input: ReplayPageInput, p: PageParts): string[] {
  const { urls } = input;
  const secureAudio = /^https:/i.test(urls.audio) ? urls.audio : undefined;
  return [
    '<meta charset="utf-8">',
    input.metaCsp ? `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(input.metaCsp)}">` : '',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(p.title)} · ${escapeHtml(p.siteName)}</title>`,
    meta('name', 'description', p.description),
    '<meta name="referrer" content="strict-origin-when-cross-origin">',
    '<meta name="color-scheme" content="light dark">',
    `<link rel="canonical" href="${escapeHtml(urls.page)}">`,
    urls.feed ? `<link rel="alternate" type="application/rss+xml" title="${escapeHtml(p.siteName)}" href="${escapeHtml(urls.feed)}">` : '',
    urls.transcript ? `<link rel="alternate" type="text/vtt" title="Captions" href="${escapeHtml(urls.transcript.vtt)}">` : '',
    urls.oembed ? `<link rel="alternate" type="application/json+oembed" title="${escapeHtml(p.title)}" href="${escapeHtml(urls.oembed)}">` : '',
    meta('property', 'og:site_name', p.siteName),
    meta('property', 'og:type', 'website'),
    meta('property', 'og:title', p.title),
    meta('property', 'og:description', p.description),
    meta('property', 'og:url', p.shareUrl),
    meta('property', 'og:image', p.image),
    meta('property', 'og:image:type', 'image/png'),
    meta('property', 'og:image:width', 1200),
    meta('property', 'og:image:height', 630),
    meta('property', 'og:image:alt', p.imageAlt),
    ...(p.live
      ? []
      : [meta('property', 'og:audio', urls.audio), meta('property', 'og:audio:secure_url', secureAudio), meta('property', 'og:audio:type', p.audioType)]),
    meta('name', 'twitter:card', 'player'),
    meta('name', 'twitter:title', p.title),
    meta('name', 'twitter:description', p.description),
    meta('name', 'twitter:image', p.image),
    meta('name', 'twitter:image:alt', p.imageAlt),
    meta('name', 'twitter:player', urls.player ?? withEmbed(urls.page)),
    meta('name', 'twitter:player:width', 480),
    meta('name', 'twitter:player:height', 180),
    ...(p.live ? [] : [meta('name', 'twitter:player:stream', urls.audio), meta('name', 'twitter:player:stream:content_type', p.audioType)]),
    `<style${p.nonceAttr}>${STYLE}</style>`,
  ].filter(Boolean);
}

/** The media fragment that starts (and, for a quote, ends) playback without JavaScript. */
function mediaFragment(input: ReplayPageInput, quote: ReplayQuote | undefined): string {
  if (quote) return `#t=${num(quote.startSec)},${num(quote.endSec)}`;
  const startAt = input.startAtSec !== undefined && Number.isFinite(input.startAtSec) && input.startAtSec > 0 ? secondsParam(input.startAtSec) : 0;
  return startAt ? `#t=${startAt}` : '';
}

function audioElement(input: ReplayPageInput, live: boolean, fragment: string): string {
  const { urls } = input;
  return live && urls.hls
    ? `<audio id="player" controls preload="none"><source src="${escapeHtml(urls.hls)}" type="application/vnd.apple.mpegurl">Your browser cannot play this live stream.</audio>`
    : `<audio id="player" controls preload="metadata" src="${escapeHtml(urls.audio + fragment)}"><a href="${escapeHtml(urls.audio)}">Download the recording</a></audio>`;
}

function speedSelect(): string {
  return (
    `<label class="speed" id="speed-box" hidden>Speed <select id="speed">` +
    PLAYBACK_RATES.map((r) => `<option value="${r}"${r === 1 ? ' selected' : ''}>${r}×</option>`).join('') +
    `</select></label>`
  );
}

function downloadLinks(urls: ReplayPageInput['urls'], live: boolean): string {
  return [
    ...(live ? [] : [[urls.audio, 'Audio (M4A)']]),
    ...(urls.transcript
      ? [
          [urls.transcript.vtt, 'Captions (WebVTT)'],
          [urls.transcript.srt, 'Subtitles (SRT)'],
          [urls.transcript.json, 'Transcript (JSON)'],
          [urls.transcript.txt, 'Transcript (text)'],
        ]
      : []),
  ]
    .map(([href, label]) => `<li><a href="${escapeHtml(href)}" download>${escapeHtml(label)}</a></li>`)
    .join('');
}

/** What the script reads: the JSON config element (escaped for HTML by jsonForHtml). */
function scriptConfig(input: ReplayPageInput, live: boolean, quote: ReplayQuote | undefined): Record<string, unknown> {
  const { urls, find } = input;
  return {
    live,
    hls: live ? (urls.hls ?? null) : null,
    hlsJs: input.hlsJsUrl ?? '/assets/hls.min.js',
    page: urls.page,
    search: urls.search ?? null,
    transcript: live ? (urls.liveTranscript ?? null) : null,
    state: live ? (urls.state ?? null) : null,
    duration: Number.isFinite(input.event.durationSec) ? input.event.durationSec : 0,
    quote: quote ? { start: quote.startSec, end: quote.endSec } : null,
    find: find
      ? {
          q: find.q,
          error: find.error ?? null,
          hits: find.error ? [] : find.hits.map((h) => ({ startSec: h.startSec, endSec: h.endSec, ranges: h.ranges ?? [] })),
        }
      : null,
  };
}

function withQuery(page: string, query: string): string {
  return page + (page.includes('?') ? '&' + query.slice(1) : query);
}

/** The whole page, as a string. */
export function renderReplayPage(input: ReplayPageInput): string {
  const { event, urls } = input;
  if (input.nonce !== undefined && !isValidNonce(input.nonce)) throw new TypeError('invalid CSP nonce');
  const nonceAttr = input.nonce ? ` nonce="${escapeHtml(input.nonce)}"` : '';
  const siteName = input.siteName?.trim() || 'Replay';
  const title = event.title?.trim() || 'Untitled';
  const started = toDate(event.startedAt);
  const live = input.live === true;
  const rows = transcriptRows(input.segments ?? [], input.gaps ?? []);
  const lineSegs = rows.flatMap((r) => (r.kind === 'line' ? [r.seg] : []));
  const quote = validQuote(input.quote);
  const ctx: RowContext = { texts: new Map(lineSegs.map((seg) => [seg, lineText(seg)])), hits: hitRanges(lineSegs, input.find), quote };
  const quoted = quote ? quoteText(lineSegs, ctx.texts, quote) : '';

  const facts = [event.host?.trim() ? `Hosted by ${event.host.trim()}` : '', formatDate(started), live ? '' : humanDuration(event.durationSec)]
    .filter(Boolean)
    .join(' · ');
  const opening = (input.segments ?? [])
    .slice(0, 12)
    .map((s) => s.text)
    .join(' ');
  const description = truncate(quoted || event.description?.trim() || [facts + '.', opening].filter(Boolean).join(' '), 200);
  const head = headTags(input, {
    title,
    siteName,
    facts,
    description,
    live,
    audioType: input.audioType ?? 'audio/mp4',
    shareUrl: quote ? withQuery(urls.page, quoteQuery(quote)) : urls.page,
    image: urls.quoteCard ?? urls.card,
    imageAlt: quoted ? `“${truncate(quoted, 300)}” — ${title}` : `${title}: ${facts}`,
    nonceAttr,
  });

  const transcript = lineSegs.length
    ? `${renderFindForm(input.find)}\n<ol class="transcript" id="transcript" aria-label="Transcript">\n${rows.map((r) => renderRow(r, ctx)).join('\n')}\n</ol>`
    : `<p class="empty">${live ? 'The transcript appears here as the conversation goes on.' : 'No transcript is available for this recording.'}</p>`;

  return `<!doctype html>
<html lang="en">
<head>
${head.join('\n')}
</head>
<body data-event="${escapeHtml(event.slug)}"${input.embed ? ' class="embed"' : ''}>
<a class="skip" href="#transcript">Skip to the transcript</a>
<header class="top"><div class="wrap">
<p class="site">${escapeHtml(siteName)}</p>
<h1>${escapeHtml(title)}</h1>
<p class="facts">${live ? '<span class="live-badge">LIVE</span>' : ''}${escapeHtml(facts)}</p>
${quote ? renderQuote(quote, quoted) : ''}
</div></header>
<div class="bar" id="bar"><div class="wrap controls">${audioElement(input, live, mediaFragment(input, quote))}${speedSelect()}</div><p class="wrap embed-line" id="embed-line"></p><div class="wrap"><div class="hitbar" id="hitbar" aria-hidden="true" hidden></div>${input.chapters?.length ? CHAPTER_BAR : ''}</div></div>
<main class="wrap">
${renderChapters(input.chapters)}
<section aria-labelledby="transcript-heading">
<h2 id="transcript-heading">Transcript</h2>
${transcript}
</section>
<section class="downloads" aria-labelledby="downloads-heading">
<h2 id="downloads-heading">Downloads</h2>
<ul>${downloadLinks(urls, live)}</ul>
</section>
</main>
${QUOTE_SHARE}
<footer class="wrap"><p>Recorded ${escapeHtml(formatDate(started))}${live ? '' : `, ${escapeHtml(clock(event.durationSec))} long`}. Transcribed automatically; it may contain mistakes.</p></footer>
<script type="application/json" id="replay-config">${jsonForHtml(scriptConfig(input, live, quote))}</script>
<script${nonceAttr}>${SCRIPT}</script>
</body>
</html>
`;
}
