// The server-rendered search pages: the home page (search box, live events,
// recent recordings) and the results page. Pure functions from data to HTML, so
// they work without JavaScript and are tested as strings; every outside string
// goes through escapeHtml, except snippets, which the search already escaped.
import { escapeHtml, humanDuration, toDate } from '../html.ts';
import { isValidNonce } from '../page.ts';

export interface EventCard {
  title: string;
  host?: string;
  /** The event's page. */
  url: string;
  /** ISO date of the start. */
  startedAt: string;
  durationSec?: number;
  live: boolean;
}

export interface ResultHit {
  title: string;
  host?: string;
  /** ISO date of the event. */
  date: string;
  startSec: number;
  endSec: number;
  /** Already escaped HTML whose only tags are <mark>…</mark>: inserted as it is. */
  snippetHtml: string;
  /** The replay page at that second. */
  url: string;
  eventUrl: string;
  live: boolean;
}

export interface SearchForm {
  q: string;
  host?: string;
  event?: string;
  from?: string;
  to?: string;
  status?: string;
  sort?: string;
}

export interface HomePageInput {
  siteName: string;
  live: EventCard[];
  recent: EventCard[];
  nonce: string;
  feedUrl: string;
  /** Where the search form goes, e.g. "/search". */
  searchUrl: string;
}

export interface ResultsPageInput {
  siteName: string;
  form: SearchForm;
  hits: ResultHit[];
  total: number;
  /** `total` is a lower bound. */
  totalCapped: boolean;
  nextUrl?: string;
  firstUrl?: string;
  /** A bad parameter (the 400 the API would give): shown above the form's results. */
  error?: { field: string; message: string };
  nonce: string;
  searchUrl: string;
  exportUrls?: { csv: string; json: string };
}

/** The Content-Security-Policy for both pages: inline code by nonce only, forms to this origin, never framed. */
export function searchPageCsp(nonce: string): string {
  checkNonce(nonce);
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    `img-src 'self' data:`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
    `base-uri 'none'`,
  ].join('; ');
}

function checkNonce(nonce: string): void {
  if (typeof nonce !== 'string' || !isValidNonce(nonce)) throw new TypeError('invalid CSP nonce');
}

// ---- small formatting helpers

/** Links only to http(s) and relative URLs: a `javascript:` URL in the data becomes a dead link. */
function safeHref(url: string | undefined): string {
  const u = String(url ?? '').trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(u) && !/^https?:/i.test(u)) return '#';
  return escapeHtml(u);
}

function parseDate(iso: string): Date | undefined {
  try {
    return toDate(iso);
  } catch {
    return undefined;
  }
}

// Made once: building an Intl.DateTimeFormat loads locale data (milliseconds each; a results page has many dates).
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });

function formatDay(d: Date): string {
  return DAY.format(d);
}

function formatDayTime(d: Date): string {
  return `${formatDay(d)}, ${TIME.format(d)} UTC`;
}

/** A <time> element, or nothing for a date that does not parse. */
function timeEl(iso: string, withTime: boolean): string {
  const d = parseDate(iso);
  return d ? `<time datetime="${escapeHtml(d.toISOString())}">${escapeHtml(withTime ? formatDayTime(d) : formatDay(d))}</time>` : '';
}

/** `mm:ss` below an hour, `h:mm:ss` from an hour on. */
export function timestamp(sec: number): string {
  const s = Number.isFinite(sec) && sec > 0 ? Math.floor(sec) : 0;
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const LIVE_BADGE = '<span class="live-badge">LIVE</span>';

function clean(s: string | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

// ---- the search form

interface FormOptions {
  searchUrl: string;
  form: SearchForm;
  error?: { field: string; message: string };
  /** The home page's box gets the focus; the results page's does not (the results are what is read). */
  autofocus: boolean;
}

const FILTER_FIELDS = ['host', 'from', 'to', 'status', 'sort', 'event'];

function invalidAttrs(field: string, o: FormOptions): string {
  return o.error?.field === field ? ' aria-invalid="true" aria-describedby="search-error"' : '';
}

function option(value: string, label: string, current: string): string {
  return `<option value="${escapeHtml(value)}"${value === current ? ' selected' : ''}>${escapeHtml(label)}</option>`;
}

function filterFields(o: FormOptions): string {
  const f = o.form;
  const status = f.status ?? '';
  const sort = f.sort === 'date' ? 'date' : 'relevance';
  return (
    `<div class="filters">` +
    `<label>Host <input type="text" name="host" id="f-host" value="${escapeHtml(f.host ?? '')}" autocomplete="off"${invalidAttrs('host', o)}></label>` +
    `<label>From <input type="date" name="from" id="f-from" value="${escapeHtml(f.from ?? '')}"${invalidAttrs('from', o)}></label>` +
    `<label>To <input type="date" name="to" id="f-to" value="${escapeHtml(f.to ?? '')}"${invalidAttrs('to', o)}></label>` +
    `<label>Status <select name="status" id="f-status"${invalidAttrs('status', o)}>${option('', 'Any', status)}${option('live', 'Live', status)}${option('published', 'Published', status)}</select></label>` +
    `<label>Sort by <select name="sort" id="f-sort"${invalidAttrs('sort', o)}>${option('relevance', 'Relevance', sort)}${option('date', 'Date', sort)}</select></label>` +
    `</div>`
  );
}

function hasFilters(o: FormOptions): boolean {
  const f = o.form;
  const set = [f.host, f.from, f.to, f.status].some((v) => clean(v) !== '') || f.sort === 'date';
  return set || FILTER_FIELDS.includes(o.error?.field ?? '');
}

function eventScope(o: FormOptions): string {
  const event = clean(o.form.event);
  if (!event) return '';
  const everywhere = `${o.searchUrl}?${new URLSearchParams({ q: o.form.q ?? '' }).toString()}`;
  return (
    `<input type="hidden" name="event" value="${escapeHtml(event)}">` +
    `<p class="scope">Searching one event only. <a href="${safeHref(everywhere)}">Search every event</a></p>`
  );
}

function searchForm(o: FormOptions): string {
  return (
    `<form class="search" id="search-form" method="get" action="${safeHref(o.searchUrl)}" role="search">` +
    `<label class="q-label" for="q">Search the transcripts</label>` +
    `<div class="q-row"><input type="search" id="q" name="q" value="${escapeHtml(o.form.q ?? '')}" placeholder="Words that were said…" maxlength="500" autocomplete="off"${o.autofocus ? ' autofocus' : ''}${invalidAttrs('q', o)}>` +
    `<button type="submit">Search</button></div>` +
    eventScope(o) +
    `<details class="more"${hasFilters(o) ? ' open' : ''}><summary>Filters</summary>${filterFields(o)}</details>` +
    `</form>`
  );
}

// ---- page shell

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--accent:#0369a1;--card:#f8fafc;--mark:#fde68a;--error:#b91c1c;--error-bg:#fef2f2}
@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--fg:#e5e7eb;--muted:#94a3b8;--line:#1e293b;--accent:#38bdf8;--card:#111c33;--mark:#854d0e;--error:#fca5a5;--error-bg:#3b0d0d}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0}.skip:focus{left:1rem;z-index:10;background:var(--bg);padding:.25rem .5rem}
.wrap{max-width:46rem;margin:0 auto;padding:0 1rem}
header.wrap{padding-top:1.25rem;padding-bottom:.5rem}
.site{margin:0;font-size:.85rem;font-weight:700;letter-spacing:.12em;text-transform:uppercase}
.site a{text-decoration:none}
h1{margin:.2rem 0 .75rem;font-size:clamp(1.4rem,4vw,2rem);line-height:1.25}
h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
input,select,button{font:inherit;color:var(--fg)}
input,select{background:var(--bg);border:1px solid var(--line);border-radius:.375rem;padding:.35rem .5rem;min-width:0}
button{background:var(--accent);color:#fff;border:0;border-radius:.375rem;padding:.35rem 1rem;cursor:pointer;font-weight:600}
.q-label{display:block;font-weight:600;margin-bottom:.3rem}
.q-row{display:flex;gap:.5rem}
.q-row input{flex:1 1 auto;font-size:1.05rem}
.more{margin-top:.5rem}
.more summary{cursor:pointer;color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin-top:.5rem}
.filters label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.15rem}
.scope{margin:.4rem 0 0;font-size:.9rem;color:var(--muted)}
.error{margin:1rem 0;padding:.6rem .9rem;border:1px solid var(--error);border-radius:.375rem;background:var(--error-bg);color:var(--error)}
.error p{margin:0}
.count{color:var(--muted);margin:1rem 0 .5rem}
.export{font-size:.9rem;color:var(--muted)}
.events,.hits{list-style:none;margin:0;padding:0}
.events li,.hits li{padding:.75rem 0;border-bottom:1px solid var(--line)}
.events a.title,.hits .title a{font-weight:600;overflow-wrap:anywhere}
.hits .title{margin:0;font-size:1.05rem}
.meta{margin:.15rem 0 0;color:var(--muted);font-size:.9rem;overflow-wrap:anywhere}
.snippet{margin:.35rem 0 0;overflow-wrap:anywhere}
.play{font-variant-numeric:tabular-nums;font-weight:600;margin-right:.4rem;text-decoration:none;white-space:nowrap}
.play::before{content:"▶ ";font-size:.8em}
mark{background:var(--mark);color:inherit;border-radius:.15rem}
.live-badge{display:inline-block;background:#dc2626;color:#fff;border-radius:.25rem;padding:0 .4rem;font-size:.75rem;font-weight:700;letter-spacing:.05em;margin-right:.4rem;vertical-align:middle}
.empty{color:var(--muted)}
.pager{display:flex;gap:1rem;margin:1.25rem 0}
footer{color:var(--muted);font-size:.85rem}
footer.wrap{padding-top:1.5rem;padding-bottom:2rem}
@media (max-width:30rem){body{font-size:16px}.q-row{flex-direction:column}}
`;

// Progressive enhancement only: empty filters are left out of the URL, and "/" focuses the search box.
const SCRIPT = `
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  var q = document.getElementById('q');
  if (!form || !q) return;
  function enableAll() {
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
  }
  form.addEventListener('submit', function () {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== 'q' && (el.value === '' || (el.name === 'sort' && el.value === 'relevance'))) el.disabled = true;
    });
    setTimeout(enableAll, 0);
  });
  window.addEventListener('pageshow', enableAll);
  document.addEventListener('keydown', function (e) {
    var t = e.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); q.focus(); q.select(); }
  });
})();
`;

interface ShellOptions {
  title: string;
  nonce: string;
  description: string;
  body: string;
  headExtra?: string;
}

function page(o: ShellOptions): string {
  const n = escapeHtml(o.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<meta name="description" content="${escapeHtml(o.description)}">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="color-scheme" content="light dark">
${o.headExtra ?? ''}
<style nonce="${n}">${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
${o.body}
<script nonce="${n}">${SCRIPT}</script>
</body>
</html>
`;
}

function siteHeader(siteName: string, heading: string): string {
  return `<p class="site"><a href="/">${escapeHtml(siteName)}</a></p><h1>${escapeHtml(heading)}</h1>`;
}

// ---- home page

function eventMeta(e: EventCard): string {
  const started = timeEl(e.startedAt, e.live);
  const parts = [clean(e.host) ? escapeHtml(clean(e.host)) : '', e.live && started ? `Live since ${started}` : started];
  if (!e.live && e.durationSec !== undefined && Number.isFinite(e.durationSec) && e.durationSec > 0) parts.push(escapeHtml(humanDuration(e.durationSec)));
  return parts.filter(Boolean).join(' · ');
}

function eventItem(e: EventCard): string {
  const title = clean(e.title) || 'Untitled';
  return (
    `<li class="event${e.live ? ' live' : ''}">${e.live ? LIVE_BADGE : ''}<a class="title" href="${safeHref(e.url)}">${escapeHtml(title)}</a>` +
    `<p class="meta">${eventMeta(e)}</p></li>`
  );
}

function eventList(id: string, events: EventCard[], empty: string): string {
  return events.length ? `<ul class="events" id="${id}">${events.map(eventItem).join('')}</ul>` : `<p class="empty" id="${id}">${escapeHtml(empty)}</p>`;
}

/** `/`: the search box, what is live now and the latest recordings. */
export function renderHomePage(i: HomePageInput): string {
  checkNonce(i.nonce);
  const siteName = clean(i.siteName) || 'Replay';
  const body = `<header class="wrap">${siteHeader(siteName, 'Conversations, recorded and transcribed')}
${searchForm({ searchUrl: i.searchUrl, form: { q: '' }, autofocus: true })}
</header>
<main class="wrap" id="main">
<section aria-labelledby="live-heading"><h2 id="live-heading">Live now</h2>
${eventList('live-list', i.live ?? [], 'Nothing is live right now.')}
</section>
<section aria-labelledby="recent-heading"><h2 id="recent-heading">Recent recordings</h2>
${eventList('recent-list', i.recent ?? [], 'No recordings yet.')}
</section>
</main>
<footer class="wrap"><p><a href="${safeHref(i.feedUrl)}">Podcast feed (RSS)</a></p></footer>`;
  return page({
    title: siteName,
    nonce: i.nonce,
    description: `Search and listen to ${siteName}'s recorded conversations and their transcripts.`,
    body,
    headExtra: `<link rel="alternate" type="application/rss+xml" title="${escapeHtml(siteName)}" href="${safeHref(i.feedUrl)}">`,
  });
}

// ---- results page

const NUMBER = new Intl.NumberFormat('en-US');

function countLine(i: ResultsPageInput): string {
  if (!clean(i.form.q) && i.hits.length === 0) return 'Type some words to search every transcript.';
  const n = Number.isFinite(i.total) ? Math.max(0, Math.floor(i.total)) : i.hits.length;
  if (i.totalCapped) return `More than ${NUMBER.format(n)} results`;
  if (n === 0) return 'No results';
  return n === 1 ? '1 result' : `${NUMBER.format(n)} results`;
}

function hitItem(h: ResultHit): string {
  const title = clean(h.title) || 'Untitled';
  const meta = [clean(h.host) ? escapeHtml(clean(h.host)) : '', timeEl(h.date, false)].filter(Boolean).join(' · ');
  const at = timestamp(h.startSec);
  return (
    `<li class="hit"><h3 class="title">${h.live ? LIVE_BADGE : ''}<a href="${safeHref(h.eventUrl)}">${escapeHtml(title)}</a></h3>` +
    (meta ? `<p class="meta">${meta}</p>` : '') +
    `<p class="snippet"><a class="play" href="${safeHref(h.url)}" aria-label="Play from ${at} in ${escapeHtml(title)}">${at}</a> ${h.snippetHtml}</p></li>`
  );
}

function errorBox(error: { field: string; message: string }): string {
  return `<div class="error" id="search-error" role="alert"><p><strong>Check “${escapeHtml(error.field)}”:</strong> ${escapeHtml(error.message)}</p></div>`;
}

function pager(i: ResultsPageInput): string {
  const links = [
    i.firstUrl ? `<a id="first-page" href="${safeHref(i.firstUrl)}">First page</a>` : '',
    i.nextUrl ? `<a id="next-page" rel="next" href="${safeHref(i.nextUrl)}">Next page</a>` : '',
  ].filter(Boolean);
  return links.length ? `<nav class="pager" aria-label="Result pages">${links.join('')}</nav>` : '';
}

function exportLinks(urls: ResultsPageInput['exportUrls']): string {
  if (!urls) return '';
  return `<p class="export">Export these results: <a id="export-csv" href="${safeHref(urls.csv)}" type="text/csv">CSV</a> · <a id="export-json" href="${safeHref(urls.json)}" type="application/json">JSON</a></p>`;
}

function results(i: ResultsPageInput): string {
  if (i.error && !i.hits.length) return errorBox(i.error);
  const list = i.hits.length ? `<ol class="hits" id="hits">${i.hits.map(hitItem).join('')}</ol>` : '';
  return `${i.error ? errorBox(i.error) : ''}<p class="count" id="result-count" role="status">${escapeHtml(countLine(i))}</p>${exportLinks(i.hits.length ? i.exportUrls : undefined)}${list}${pager(i)}`;
}

/** `/search?q=…`: the form as it was filled in, then the hits (or the bad field) and the links to more. */
export function renderResultsPage(i: ResultsPageInput): string {
  checkNonce(i.nonce);
  const siteName = clean(i.siteName) || 'Replay';
  const q = clean(i.form.q);
  const body = `<header class="wrap">${siteHeader(siteName, 'Search')}
${searchForm({ searchUrl: i.searchUrl, form: i.form, error: i.error, autofocus: false })}
</header>
<main class="wrap" id="main" aria-label="Results">
${results(i)}
</main>
<footer class="wrap"><p><a href="/">${escapeHtml(siteName)} home</a></p></footer>`;
  return page({
    title: q ? `“${q}” · Search · ${siteName}` : `Search · ${siteName}`,
    nonce: i.nonce,
    description: `Search results in ${siteName}'s transcripts.`,
    body,
    headExtra: '<meta name="robots" content="noindex">',
  });
}
