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
  };
  segments: ReplaySegment[];
  gaps?: ReplayGap[];
  /** CSP nonce for the inline <style> and <script>. */
  nonce?: string;
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

const NONCE = /^[A-Za-z0-9+/_=-]{8,128}$/;

/** Whether a CSP nonce is safe to put in a header and an attribute as it is. */
export function isValidNonce(nonce: string): boolean {
  return NONCE.test(nonce);
}

/** A Content-Security-Policy that fits the page: inline code by nonce only, media from the given origins. */
export function replayPageCsp(nonce: string, opts: { mediaOrigins?: string[]; frameAncestors?: string[] } = {}): string {
  if (!isValidNonce(nonce)) throw new TypeError('invalid CSP nonce');
  const media = (opts.mediaOrigins ?? []).map((o) => new URL(o).origin).join(' ');
  const extra = media ? ` ${media}` : '';
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}' 'self'`,
    `style-src 'nonce-${nonce}'`,
    `img-src 'self' data:${extra}`,
    `media-src 'self' blob:${extra}`,
    `connect-src 'self'${extra}`,
    `base-uri 'none'`,
    `form-action 'self'`, // the find box submits to the page itself
    ...(opts.frameAncestors ? [`frame-ancestors ${opts.frameAncestors.join(' ') || "'none'"}`] : []),
  ].join('; ');
}

function num(n: number): string {
  return String(Math.round((Number.isFinite(n) ? n : 0) * 1000) / 1000);
}

function secondsParam(sec: number): number {
  return Math.max(0, Math.floor(Number.isFinite(sec) ? sec : 0));
}

function formatDate(d: Date): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(d);
}

function meta(attr: 'name' | 'property', key: string, value: string | number | undefined): string {
  if (value === undefined || value === '') return '';
  return `<meta ${attr}="${escapeHtml(key)}" content="${escapeHtml(value)}">`;
}

function withEmbed(page: string): string {
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
  `<button type="button" id="quote-copy">Copy</button><button type="button" id="quote-close" aria-label="Close">×</button>` +
  `<span id="quote-copied" role="status" aria-live="polite"></span></div>`;

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--accent:#0369a1;--hl:#e0f2fe;--hl-bar:#0284c7;--card:#f8fafc;--mark:#fde68a;--mark-bar:#d97706;--quote:#dcfce7;--quote-bar:#16a34a;--error:#b91c1c}
@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--fg:#e5e7eb;--muted:#94a3b8;--line:#1e293b;--accent:#38bdf8;--hl:#0c4a6e;--hl-bar:#38bdf8;--card:#111c33;--mark:#854d0e;--mark-bar:#fbbf24;--quote:#14532d;--quote-bar:#4ade80;--error:#fca5a5}}
[hidden]{display:none!important}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible,audio:focus-visible{outline:3px solid var(--hl-bar);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0}.skip:focus{left:1rem;z-index:10;background:var(--bg);padding:.25rem .5rem}
.wrap{max-width:46rem;margin:0 auto;padding:0 1rem}
header.top{padding:1rem 0 0}
.bar{position:sticky;top:0;z-index:5;background:var(--bg);border-bottom:1px solid var(--line);padding:.5rem 0}
.site{margin:0;font-size:.8rem;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:var(--accent)}
h1{margin:.15rem 0 .1rem;font-size:clamp(1.3rem,4vw,1.9rem);line-height:1.25;overflow-wrap:anywhere}
.facts{margin:0 0 .5rem;color:var(--muted);font-size:.92rem}
.live-badge{display:inline-block;background:#dc2626;color:#fff;border-radius:.25rem;padding:0 .4rem;font-size:.75rem;font-weight:700;letter-spacing:.05em;margin-right:.4rem;vertical-align:middle}
.controls{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
audio{width:100%;flex:1 1 18rem;min-width:0}
.speed{display:flex;align-items:center;gap:.35rem;font-size:.9rem;color:var(--muted)}
.speed[hidden]{display:none}
select{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.15rem .35rem}
main{padding:1rem 0 2rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.transcript{list-style:none;margin:0;padding:0}
.transcript li{display:grid;grid-template-columns:4.5rem 1fr;gap:.75rem;padding:.35rem .5rem;border-left:3px solid transparent;border-radius:.25rem;scroll-margin:6rem 0 4rem}
.transcript li.line{cursor:pointer}
.transcript li.line:hover{background:var(--card)}
.transcript li.current{background:var(--hl);border-left-color:var(--hl-bar)}
.transcript p{margin:0;overflow-wrap:anywhere}
.ts{font-variant-numeric:tabular-nums;font-size:.85rem;padding-top:.15rem;text-decoration:none;color:var(--muted)}
.ts:hover,.current .ts{color:var(--accent);text-decoration:underline}
.speaker{font-weight:700}
.gap{color:var(--muted);font-style:italic}
.gap span{grid-column:2}
.empty{color:var(--muted)}
.downloads ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.5rem}
.downloads a{display:inline-block;border:1px solid var(--line);border-radius:.375rem;padding:.3rem .7rem;text-decoration:none;background:var(--card)}
footer{color:var(--muted);font-size:.85rem;padding:1rem 0 2rem}
mark{background:var(--mark);color:inherit;border-radius:.15rem}
.transcript li.hit{border-left-color:var(--mark-bar)}
.transcript li.hit-active{box-shadow:inset 0 0 0 2px var(--mark-bar)}
.transcript li.quoted,.w.quoted{background:var(--quote)}
.transcript li.quoted{border-left-color:var(--quote-bar)}
.w.quoted{border-radius:.15rem}
button,input{font:inherit;color:var(--fg)}
button{background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.15rem .6rem;cursor:pointer}
.find{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .5rem;margin:0 0 .75rem}
.find label{font-size:.9rem;color:var(--muted)}
.find input{flex:1 1 12rem;min-width:0;background:var(--bg);border:1px solid var(--line);border-radius:.375rem;padding:.25rem .5rem}
.find-status{flex:1 0 100%;margin:0;font-size:.9rem;color:var(--muted);min-height:1.2em}
.find-status.error{color:var(--error);font-weight:600}
.hitbar{position:relative;height:.5rem;margin:.4rem 0 .1rem;background:var(--line);border-radius:.25rem}
.hitbar .tick{position:absolute;top:-.2rem;bottom:-.2rem;width:3px;margin-left:-1px;background:var(--mark-bar);border-radius:1px;cursor:pointer}
.hitbar .tick.active{background:var(--fg);width:5px;margin-left:-2px}
.quote{margin:.75rem 0 .25rem;padding:.6rem 1rem;border-left:4px solid var(--quote-bar);background:var(--card);border-radius:.25rem}
.quote blockquote{margin:0 0 .35rem;font-size:1.1rem;overflow-wrap:anywhere}
.quote blockquote p{margin:0}
.quote figcaption{font-size:.9rem;color:var(--muted)}
.quote .span{font-variant-numeric:tabular-nums}
.quote-share{position:fixed;left:50%;bottom:1rem;transform:translateX(-50%);z-index:20;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;width:min(40rem,calc(100% - 2rem));background:var(--bg);border:1px solid var(--line);border-radius:.5rem;padding:.5rem .75rem;box-shadow:0 4px 18px rgba(0,0,0,.25)}
.quote-share label{font-size:.9rem;font-weight:600}
.quote-share input{flex:1 1 14rem;min-width:0;font-size:.85rem;background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.2rem .4rem}
#quote-copied{font-size:.85rem;color:var(--muted)}
@media (max-width:30rem){body{font-size:16px}.transcript li{grid-template-columns:3.6rem 1fr;gap:.5rem;padding:.3rem .25rem}}
@media (prefers-reduced-motion:reduce){*{scroll-behavior:auto!important}}
body.embed .bar{position:static;border:0}
body.embed main,body.embed footer,body.embed .skip,body.embed .hitbar,body.embed .quote-share{display:none}
`;

// The page's behaviour. Plain ES2017, no dependencies; every element it needs
// is looked up by id and it does nothing when one is missing.
const SCRIPT = `
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('replay-config').textContent);
  var audio = document.getElementById('player');
  var list = document.getElementById('transcript');
  if (!audio) return;
  var lines = list ? Array.prototype.slice.call(list.querySelectorAll('li.line')) : [];
  var starts = lines.map(function (l) { return parseFloat(l.getAttribute('data-start')) || 0; });
  var ends = lines.map(function (l) { return parseFloat(l.getAttribute('data-end')) || 0; });
  var current = -1;
  var userScrolledAt = 0;
  var reduceMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  // ---- live: HLS natively, or through hls.js when the browser has MSE but no native HLS
  if (cfg.live && cfg.hls) {
    if (audio.canPlayType('application/vnd.apple.mpegurl')) {
      audio.src = cfg.hls;
    } else if (window.MediaSource || window.ManagedMediaSource) {
      var s = document.createElement('script');
      s.src = cfg.hlsJs;
      s.nonce = document.currentScript ? document.currentScript.nonce : '';
      s.onload = function () {
        if (window.Hls && window.Hls.isSupported()) {
          var hls = new window.Hls({ enableWorker: false });
          hls.loadSource(cfg.hls);
          hls.attachMedia(audio);
        }
      };
      document.head.appendChild(s);
    }
  }

  // ---- which line is being spoken
  function indexAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    // keep a line lit through short pauses, not through long silences or gaps
    if (found >= 0 && t > Math.max(ends[found], starts[found]) + 2) return -1;
    return found;
  }

  function reveal(el) {
    if (Date.now() - userScrolledAt < 4000) return;
    var r = el.getBoundingClientRect();
    var header = document.getElementById('bar');
    var top = header ? header.getBoundingClientRect().bottom : 0;
    if (r.top < top || r.bottom > window.innerHeight) {
      el.scrollIntoView({ block: 'center', behavior: reduceMotion ? 'auto' : 'smooth' });
    }
  }

  function setCurrent(i, scroll) {
    if (i === current) return;
    if (current >= 0) {
      lines[current].classList.remove('current');
      lines[current].removeAttribute('aria-current');
    }
    current = i;
    if (i >= 0) {
      lines[i].classList.add('current');
      lines[i].setAttribute('aria-current', 'true');
      if (scroll) reveal(lines[i]);
    }
  }

  function sync() { setCurrent(indexAt(audio.currentTime), !audio.paused); }
  audio.addEventListener('timeupdate', sync);
  audio.addEventListener('seeked', function () { setCurrent(indexAt(audio.currentTime), true); });
  ['wheel', 'touchmove'].forEach(function (type) {
    window.addEventListener(type, function () { userScrolledAt = Date.now(); }, { passive: true });
  });
  window.addEventListener('keydown', function (e) {
    if (['PageUp', 'PageDown', 'ArrowUp', 'ArrowDown', 'Home', 'End', ' '].indexOf(e.key) >= 0 && e.target === document.body) userScrolledAt = Date.now();
  });

  // ---- seeking
  function seek(t, play) {
    t = Math.max(0, t);
    var apply = function () {
      try { audio.currentTime = t; } catch (e) { /* not seekable yet */ }
    };
    if (audio.readyState >= 1) apply(); else audio.addEventListener('loadedmetadata', apply, { once: true });
    userScrolledAt = 0;
    setCurrent(indexAt(t), false);
    if (current >= 0) lines[current].scrollIntoView({ block: 'center', behavior: reduceMotion ? 'auto' : 'smooth' });
    if (play) { var p = audio.play(); if (p && p.catch) p.catch(function () {}); }
  }

  function remember(t) {
    try {
      var u = new URL(window.location.href);
      u.searchParams.set('t', String(Math.floor(t)));
      u.searchParams.delete('end'); // a line's own position, no longer the quote
      u.hash = '';
      window.history.replaceState(null, '', u.toString());
    } catch (e) { /* old browser: no URL update */ }
  }

  if (list) {
    list.addEventListener('click', function (e) {
      var li = e.target.closest ? e.target.closest('li.line') : null;
      if (!li) return;
      var onLink = e.target.closest('a.ts');
      if (!onLink) {
        var sel = window.getSelection && window.getSelection();
        if (sel && String(sel).length > 0) return; // selecting text, not seeking
      }
      if (onLink && (e.metaKey || e.ctrlKey || e.shiftKey || e.button === 1)) return; // open in a new tab
      e.preventDefault();
      var t = parseFloat(li.getAttribute('data-start')) || 0;
      seek(t, true);
      remember(t);
    });
  }

  // ---- ?t= and #t= deep links: 90, 90.5, 1:30, 1:02:03, 1h2m3s
  function parseTime(v) {
    if (!v) return null;
    v = String(v).trim();
    var m;
    if (/^\\d+(\\.\\d+)?$/.test(v)) return parseFloat(v);
    if ((m = /^(?:(\\d+):)?(\\d{1,2}):(\\d{1,2}(?:\\.\\d+)?)$/.exec(v))) return (parseInt(m[1] || '0', 10) * 3600) + parseInt(m[2], 10) * 60 + parseFloat(m[3]);
    if ((m = /^(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+(?:\\.\\d+)?)s)?$/.exec(v)) && (m[1] || m[2] || m[3])) return (parseInt(m[1] || '0', 10) * 3600) + (parseInt(m[2] || '0', 10) * 60) + parseFloat(m[3] || '0');
    return null;
  }
  function linkedTime() {
    var hash = /(?:^#|&)t=([^&]+)/.exec(window.location.hash);
    if (hash) return parseTime(decodeURIComponent(hash[1]));
    var q = /[?&]t=([^&]+)/.exec(window.location.search);
    return q ? parseTime(decodeURIComponent(q[1])) : null;
  }
  var start = linkedTime();
  if (start !== null) seek(start, false);
  window.addEventListener('hashchange', function () { var t = linkedTime(); if (t !== null) seek(t, true); });

  // ---- playback speed
  var speed = document.getElementById('speed');
  var speedBox = document.getElementById('speed-box');
  if (speed && speedBox) {
    var saved = null;
    try { saved = window.localStorage.getItem('replay-speed'); } catch (e) { /* storage blocked */ }
    if (saved && speed.querySelector('option[value="' + saved + '"]')) {
      speed.value = saved;
      audio.defaultPlaybackRate = audio.playbackRate = parseFloat(saved);
    }
    speed.addEventListener('change', function () {
      var r = parseFloat(speed.value) || 1;
      audio.defaultPlaybackRate = audio.playbackRate = r;
      try { window.localStorage.setItem('replay-speed', speed.value); } catch (e) { /* storage blocked */ }
    });
    audio.addEventListener('loadedmetadata', function () { audio.playbackRate = parseFloat(speed.value) || 1; });
    speedBox.hidden = false;
  }

  var forEach = function (nodes, fn) { Array.prototype.forEach.call(nodes, fn); };
  function clockText(sec) {
    var s = Math.max(0, Math.floor(sec || 0)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = h ? (m < 10 ? '0' : '') + m : String(m);
    return (h ? h + ':' : '') + mm + ':' + (r < 10 ? '0' : '') + r;
  }

  // ---- quotes: ?t=START&end=END plays the span, stops at its end and marks its words (or lines)
  var QUOTE_EPS = 0.01;
  function urlQuote() {
    var e = /[?&]end=([^&]+)/.exec(window.location.search);
    var s = linkedTime();
    var end = e ? parseTime(decodeURIComponent(e[1])) : null;
    return s !== null && end !== null && end > s ? { start: s, end: end } : null;
  }
  var quote = cfg.quote || urlQuote();
  var stopAt = null, stopTimer = 0;

  function markQuote(q) {
    if (!list) return;
    forEach(list.querySelectorAll('span.w[data-start]'), function (w) {
      var s = parseFloat(w.getAttribute('data-start')), e = parseFloat(w.getAttribute('data-end'));
      w.classList.toggle('quoted', s >= q.start - QUOTE_EPS && e <= q.end + QUOTE_EPS);
    });
    lines.forEach(function (li, i) {
      if (li.querySelector('span.w')) return;
      var s = starts[i], e = Math.max(ends[i], starts[i]);
      li.classList.toggle('quoted', e === s ? s >= q.start && s <= q.end : s < q.end && e > q.start);
    });
  }

  function checkStop() {
    clearTimeout(stopTimer);
    if (stopAt === null || audio.paused) return;
    var left = stopAt - audio.currentTime;
    if (left <= 0) { audio.pause(); stopAt = null; return; }
    // timeupdate comes about 4 times a second: stop on time rather than up to 250 ms late
    if (left < 0.6) stopTimer = setTimeout(checkStop, (left / (audio.playbackRate || 1)) * 1000);
  }
  audio.addEventListener('timeupdate', checkStop);
  audio.addEventListener('seeking', function () {
    // seeking away from the quote ends it: play on from there
    if (stopAt !== null && quote && (audio.currentTime < quote.start - 1 || audio.currentTime > stopAt)) stopAt = null;
  });

  function playQuote() {
    stopAt = quote.end;
    seek(quote.start, true);
  }
  if (quote) {
    markQuote(quote);
    stopAt = quote.end;
    if (start === null) seek(quote.start, false);
    var playQuoteLink = document.getElementById('play-quote');
    if (playQuoteLink) playQuoteLink.addEventListener('click', function (e) { e.preventDefault(); playQuote(); });
  }

  // ---- selecting words offers a link to them: ?t=first word's start&end=last word's end
  var share = document.getElementById('quote-share');
  var shareUrl = document.getElementById('quote-url');
  var shareCopy = document.getElementById('quote-copy');
  var shareClose = document.getElementById('quote-close');
  var shareDone = document.getElementById('quote-copied');

  // whether some non-blank text of el is inside the range (not just touching its edge)
  function selectedIn(range, el) {
    if (!range.intersectsNode(el)) return false;
    var r = document.createRange();
    r.selectNodeContents(el);
    if (range.compareBoundaryPoints(Range.START_TO_START, r) > 0) r.setStart(range.startContainer, range.startOffset);
    if (range.compareBoundaryPoints(Range.END_TO_END, r) < 0) r.setEnd(range.endContainer, range.endOffset);
    return /\\S/.test(r.toString());
  }

  // the selected words, or whole lines for lines without word timings, in order
  function selectedItems() {
    var sel = window.getSelection ? window.getSelection() : null;
    if (!list || !sel || sel.isCollapsed || !sel.rangeCount) return null;
    var range = sel.getRangeAt(0);
    if (!range.intersectsNode(list)) return null;
    var items = [];
    lines.forEach(function (li) {
      if (!range.intersectsNode(li)) return;
      var words = li.querySelectorAll('span.w[data-start]');
      if (words.length) forEach(words, function (w) { if (selectedIn(range, w)) items.push(w); });
      else if (selectedIn(range, li.querySelector('.text') || li)) items.push(li);
    });
    return items.length ? items : null;
  }

  function quoteUrl(items) {
    var page = cfg.page || window.location.href.split(/[?#]/)[0];
    var s = items[0].getAttribute('data-start'), e = items[items.length - 1].getAttribute('data-end');
    return page + (page.indexOf('?') >= 0 ? '&' : '?') + 't=' + s + '&end=' + e;
  }

  function showShare(items) {
    var url = quoteUrl(items);
    if (url !== shareUrl.value || share.hidden) shareDone.textContent = ''; // keep "Copied" while the link stays the same
    shareUrl.value = url;
    share.hidden = false;
  }

  // shown for a selection in the transcript; hidden by a plain click elsewhere, another selection, Escape or ×
  function onSelection(target) {
    var items = selectedItems();
    if (items) { showShare(items); return; }
    if ((target && share.contains(target)) || share.contains(document.activeElement)) return;
    var sel = window.getSelection ? window.getSelection() : null;
    if (target || (sel && !sel.isCollapsed)) share.hidden = true;
  }

  function copied(ok) { shareDone.textContent = ok ? 'Copied' : 'Press Ctrl+C (⌘C) to copy'; }
  function copyByHand() {
    shareUrl.focus();
    shareUrl.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { /* not allowed */ }
    copied(ok);
  }

  if (share && shareUrl && shareCopy && shareDone) {
    var selTimer = 0;
    document.addEventListener('selectionchange', function () { clearTimeout(selTimer); selTimer = setTimeout(function () { onSelection(null); }, 150); });
    document.addEventListener('mouseup', function (e) { var target = e.target; setTimeout(function () { onSelection(target); }, 0); });
    document.addEventListener('keyup', function (e) { if (e.key === 'Escape') share.hidden = true; else if (e.shiftKey) onSelection(null); });
    shareUrl.addEventListener('focus', function () { shareUrl.select(); });
    shareCopy.addEventListener('click', function () {
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(shareUrl.value).then(function () { copied(true); }, copyByHand);
      else copyByHand();
    });
    if (shareClose) shareClose.addEventListener('click', function () { share.hidden = true; });
  }

  // ---- find in transcript: the search API as you type, next/previous, ticks on a timeline bar
  var findForm = document.getElementById('find-form');
  var findInput = document.getElementById('find-q');
  var findStatus = document.getElementById('find-status');
  var prevBtn = document.getElementById('find-prev');
  var nextBtn = document.getElementById('find-next');
  var hitbar = document.getElementById('hitbar');
  var hits = [], active = -1, total = 0, seq = 0, typeTimer = 0;
  var lastQ = cfg.find ? String(cfg.find.q || '').trim() : null;

  function status(text, isError) {
    if (!findStatus) return;
    findStatus.textContent = text;
    findStatus.classList.toggle('error', !!isError);
  }

  function lineOf(t) {
    for (var i = 0; i < starts.length; i++) if (Math.abs(starts[i] - t) < 0.05) return i;
    for (var j = 0; j < starts.length; j++) if (starts[j] <= t && t <= Math.max(ends[j], starts[j])) return j;
    return -1;
  }

  function unmark() {
    if (!list) return;
    forEach(list.querySelectorAll('mark'), function (m) {
      var parent = m.parentNode;
      while (m.firstChild) parent.insertBefore(m.firstChild, m);
      parent.removeChild(m);
      parent.normalize();
    });
    forEach(list.querySelectorAll('li.hit'), function (li) { li.classList.remove('hit', 'hit-active'); });
  }

  function textNodes(el) {
    var out = [], walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (var n = walker.nextNode(); n; n = walker.nextNode()) out.push(n);
    return out;
  }

  function wrapMark(node, from, to) {
    var mid = node.splitText(from);
    mid.splitText(to - from);
    var m = document.createElement('mark');
    mid.parentNode.insertBefore(m, mid);
    m.appendChild(mid);
  }

  function mergeRanges(ranges) {
    var out = [];
    ranges.filter(function (r) { return Array.isArray(r) && isFinite(r[0]) && isFinite(r[1]) && r[1] > r[0]; })
      .sort(function (a, b) { return a[0] - b[0]; })
      .forEach(function (r) {
        var last = out[out.length - 1];
        if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]); else out.push([r[0], r[1]]);
      });
    return out;
  }

  // ranges count from the segment's raw text: data-lead says how much the page trimmed off its front
  function markRanges(el, ranges) {
    if (!el || el.hasAttribute('data-unmapped') || !ranges.length) return;
    var lead = parseInt(el.getAttribute('data-lead') || '0', 10) || 0, pos = 0;
    textNodes(el).forEach(function (node) {
      var a = pos, b = pos + node.data.length, parts = [];
      pos = b;
      ranges.forEach(function (r) {
        var s = Math.max(a, r[0] - lead), e = Math.min(b, r[1] - lead);
        if (e > s) parts.push([s - a, e - a]);
      });
      parts.reverse().forEach(function (p) { wrapMark(node, p[0], p[1]); });
    });
  }

  function setHits(found) {
    unmark();
    active = -1;
    var byLine = {};
    hits = found.filter(function (h) { return h && isFinite(h.startSec); })
      .sort(function (a, b) { return a.startSec - b.startSec; })
      .map(function (h) {
        var i = lineOf(h.startSec);
        if (i >= 0) byLine[i] = (byLine[i] || []).concat(Array.isArray(h.ranges) ? h.ranges : []);
        return { start: h.startSec, line: i >= 0 ? lines[i] : null };
      });
    Object.keys(byLine).forEach(function (k) {
      lines[k].classList.add('hit');
      markRanges(lines[k].querySelector('.text'), mergeRanges(byLine[k]));
    });
    drawTicks();
    if (prevBtn && nextBtn) prevBtn.disabled = nextBtn.disabled = hits.length === 0;
  }

  function timelineLength() {
    var d = cfg.duration > 0 ? cfg.duration : (isFinite(audio.duration) ? audio.duration : 0);
    return hits.reduce(function (m, h) { return Math.max(m, h.start); }, d);
  }

  function drawTicks() {
    if (!hitbar) return;
    while (hitbar.firstChild) hitbar.removeChild(hitbar.firstChild);
    var d = timelineLength();
    hitbar.hidden = !hits.length || !(d > 0);
    hits.forEach(function (h, i) {
      var tick = document.createElement('span');
      tick.className = 'tick' + (i === active ? ' active' : '');
      tick.style.left = Math.min(100, Math.max(0, (h.start / d) * 100)) + '%';
      tick.setAttribute('data-i', String(i));
      tick.title = clockText(h.start);
      hitbar.appendChild(tick);
    });
  }

  function countText() {
    var n = hits.length, more = total > n ? ' (the first ' + n + ' of ' + total + ')' : '';
    return (n === 1 ? '1 match' : n + ' matches') + more;
  }

  function go(i) {
    if (!hits.length) return;
    active = ((i % hits.length) + hits.length) % hits.length;
    var h = hits[active];
    forEach(list.querySelectorAll('li.hit-active'), function (li) { li.classList.remove('hit-active'); });
    if (h.line) h.line.classList.add('hit-active');
    seek(h.start, false);
    if (h.line) h.line.scrollIntoView({ block: 'center', behavior: reduceMotion ? 'auto' : 'smooth' });
    if (hitbar) forEach(hitbar.children, function (t, k) { t.classList.toggle('active', k === active); });
    status(active + 1 + ' of ' + hits.length + (total > hits.length ? ' (of ' + total + ')' : ''));
  }
  function next() { go(active < 0 ? 0 : active + 1); }
  function prev() { go(active < 0 ? -1 : active - 1); }

  function rememberFind(q) {
    try {
      var u = new URL(window.location.href);
      if (q) u.searchParams.set('find', q); else u.searchParams.delete('find');
      window.history.replaceState(null, '', u.toString());
    } catch (e) { /* old browser: no URL update */ }
  }

  function errorText(body, code) {
    var err = body && body.error;
    if (err && typeof err === 'object') err = err.message;
    return typeof err === 'string' && err ? err : 'Search failed (' + code + ')';
  }

  function readJson(r) {
    return r.json().then(function (body) { return { ok: r.ok, code: r.status, body: body }; }, function () { return { ok: false, code: r.status, body: null }; });
  }

  function showResult(res, thenGo) {
    if (!res.ok) { setHits([]); status(errorText(res.body, res.code), true); return; }
    var found = res.body && Array.isArray(res.body.hits) ? res.body.hits : [];
    total = res.body && typeof res.body.total === 'number' ? res.body.total : found.length;
    setHits(found);
    if (!hits.length) status('No matches');
    else if (thenGo) go(0);
    else status(countText());
  }

  function runSearch(q, thenGo) {
    var mine = ++seq;
    lastQ = q;
    rememberFind(q);
    if (!q) { total = 0; setHits([]); status(''); return; }
    status('Searching…');
    var url = cfg.search + (cfg.search.indexOf('?') >= 0 ? '&' : '?') + 'q=' + encodeURIComponent(q);
    fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(readJson)
      .then(function (res) { if (mine === seq) showResult(res, thenGo); })
      .catch(function () { if (mine === seq) status('Search failed: check your connection and try again.', true); });
  }

  // Enter / the Find button: the next hit of the same words, or search now for new ones
  function findNow(backwards) {
    var q = findInput.value.trim();
    clearTimeout(typeTimer);
    if (q === lastQ && hits.length) { if (backwards) prev(); else next(); return true; }
    if (!cfg.search) return false; // no API: the form submits and the server marks the lines
    runSearch(q, true);
    return true;
  }

  if (findForm && findInput) {
    if (cfg.find && Array.isArray(cfg.find.hits) && !cfg.find.error) { total = cfg.find.hits.length; setHits(cfg.find.hits); }
    if (prevBtn && nextBtn && (cfg.search || hits.length)) {
      prevBtn.hidden = nextBtn.hidden = false;
      prevBtn.disabled = nextBtn.disabled = hits.length === 0;
      prevBtn.addEventListener('click', prev);
      nextBtn.addEventListener('click', next);
    }
    findInput.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && findNow(e.shiftKey)) e.preventDefault();
    });
    findForm.addEventListener('submit', function (e) { if (findNow(false)) e.preventDefault(); });
    if (cfg.search) {
      findInput.addEventListener('input', function () {
        clearTimeout(typeTimer);
        typeTimer = setTimeout(function () { var q = findInput.value.trim(); if (q !== lastQ) runSearch(q, false); }, 250);
      });
    }
    if (hitbar) hitbar.addEventListener('click', function (e) {
      var tick = e.target.closest ? e.target.closest('.tick') : null;
      if (tick) go(parseInt(tick.getAttribute('data-i'), 10) || 0);
    });
    audio.addEventListener('loadedmetadata', drawTicks);
  }
})();
`;

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
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(p.title)} · ${escapeHtml(p.siteName)}</title>`,
    meta('name', 'description', p.description),
    '<meta name="referrer" content="strict-origin-when-cross-origin">',
    '<meta name="color-scheme" content="light dark">',
    `<link rel="canonical" href="${escapeHtml(urls.page)}">`,
    urls.feed ? `<link rel="alternate" type="application/rss+xml" title="${escapeHtml(p.siteName)}" href="${escapeHtml(urls.feed)}">` : '',
    urls.transcript ? `<link rel="alternate" type="text/vtt" title="Captions" href="${escapeHtml(urls.transcript.vtt)}">` : '',
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
  if (input.nonce !== undefined && !NONCE.test(input.nonce)) throw new TypeError('invalid CSP nonce');
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
<div class="bar" id="bar"><div class="wrap controls">${audioElement(input, live, mediaFragment(input, quote))}${speedSelect()}</div><div class="wrap"><div class="hitbar" id="hitbar" aria-hidden="true" hidden></div></div></div>
<main class="wrap">
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
