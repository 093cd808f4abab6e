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
//
// Everything from outside (titles, speaker names, transcript text, URLs) is
// escaped: a speaker can say "<script>" and it stays text.
import { clock, escapeHtml, humanDuration, jsonForHtml, toDate, truncate } from './html.ts';

export interface ReplaySegment {
  startSec: number;
  endSec: number;
  text: string;
  speaker?: string;
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
}

const NONCE = /^[A-Za-z0-9+/_=-]{8,128}$/;

/** A Content-Security-Policy that fits the page: inline code by nonce only, media from the given origins. */
export function replayPageCsp(nonce: string, opts: { mediaOrigins?: string[]; frameAncestors?: string[] } = {}): string {
  if (!NONCE.test(nonce)) throw new TypeError('invalid CSP nonce');
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
    `form-action 'none'`,
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

function renderRow(r: Row): string {
  if (r.kind === 'gap') {
    const { startSec, endSec } = r.gap;
    return `<li class="gap" data-start="${num(startSec)}" data-end="${num(endSec)}"><span>No audio was captured from ${clock(startSec)} to ${clock(endSec)}.</span></li>`;
  }
  const { seg } = r;
  const t = secondsParam(seg.startSec);
  const end = Number.isFinite(seg.endSec) && seg.endSec > seg.startSec ? seg.endSec : seg.startSec;
  const speaker = r.showSpeaker ? `<span class="speaker">${escapeHtml(seg.speaker!.trim())}</span> ` : '';
  return (
    `<li class="line" data-start="${num(seg.startSec)}" data-end="${num(end)}">` +
    `<a class="ts" href="?t=${t}" aria-label="Play from ${clock(seg.startSec)}">${clock(seg.startSec)}</a>` +
    `<p>${speaker}<span class="text">${escapeHtml(String(seg.text).trim())}</span></p></li>`
  );
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--accent:#0369a1;--hl:#e0f2fe;--hl-bar:#0284c7;--card:#f8fafc}
@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--fg:#e5e7eb;--muted:#94a3b8;--line:#1e293b;--accent:#38bdf8;--hl:#0c4a6e;--hl-bar:#38bdf8;--card:#111c33}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,select:focus-visible,audio:focus-visible{outline:3px solid var(--hl-bar);outline-offset:2px}
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
@media (max-width:30rem){body{font-size:16px}.transcript li{grid-template-columns:3.6rem 1fr;gap:.5rem;padding:.3rem .25rem}}
@media (prefers-reduced-motion:reduce){*{scroll-behavior:auto!important}}
body.embed .bar{position:static;border:0}
body.embed main,body.embed footer,body.embed .skip{display:none}
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
})();
`;

export const PLAYBACK_RATES = [0.75, 1, 1.25, 1.5, 1.75, 2];

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
  const lineCount = rows.filter((r) => r.kind === 'line').length;

  const facts = [event.host?.trim() ? `Hosted by ${event.host.trim()}` : '', formatDate(started), live ? '' : humanDuration(event.durationSec)]
    .filter(Boolean)
    .join(' · ');
  const opening = (input.segments ?? [])
    .slice(0, 12)
    .map((s) => s.text)
    .join(' ');
  const description = truncate(event.description?.trim() || [facts + '.', opening].filter(Boolean).join(' '), 200);
  const audioType = input.audioType ?? 'audio/mp4';
  const startAt = input.startAtSec !== undefined && Number.isFinite(input.startAtSec) && input.startAtSec > 0 ? secondsParam(input.startAtSec) : 0;

  const audioEl =
    live && urls.hls
      ? `<audio id="player" controls preload="none"><source src="${escapeHtml(urls.hls)}" type="application/vnd.apple.mpegurl">Your browser cannot play this live stream.</audio>`
      : `<audio id="player" controls preload="metadata" src="${escapeHtml(urls.audio + (startAt ? `#t=${startAt}` : ''))}"><a href="${escapeHtml(urls.audio)}">Download the recording</a></audio>`;

  const speedSelect =
    `<label class="speed" id="speed-box" hidden>Speed <select id="speed">` +
    PLAYBACK_RATES.map((r) => `<option value="${r}"${r === 1 ? ' selected' : ''}>${r}×</option>`).join('') +
    `</select></label>`;

  const downloads = [
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

  const config = { live, hls: live ? (urls.hls ?? null) : null, hlsJs: input.hlsJsUrl ?? '/assets/hls.min.js' };
  const secureAudio = /^https:/i.test(urls.audio) ? urls.audio : undefined;

  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)} · ${escapeHtml(siteName)}</title>`,
    meta('name', 'description', description),
    '<meta name="referrer" content="strict-origin-when-cross-origin">',
    '<meta name="color-scheme" content="light dark">',
    `<link rel="canonical" href="${escapeHtml(urls.page)}">`,
    urls.feed ? `<link rel="alternate" type="application/rss+xml" title="${escapeHtml(siteName)}" href="${escapeHtml(urls.feed)}">` : '',
    urls.transcript ? `<link rel="alternate" type="text/vtt" title="Captions" href="${escapeHtml(urls.transcript.vtt)}">` : '',
    meta('property', 'og:site_name', siteName),
    meta('property', 'og:type', 'website'),
    meta('property', 'og:title', title),
    meta('property', 'og:description', description),
    meta('property', 'og:url', urls.page),
    meta('property', 'og:image', urls.card),
    meta('property', 'og:image:type', 'image/png'),
    meta('property', 'og:image:width', 1200),
    meta('property', 'og:image:height', 630),
    meta('property', 'og:image:alt', `${title}: ${facts}`),
    ...(live
      ? []
      : [meta('property', 'og:audio', urls.audio), meta('property', 'og:audio:secure_url', secureAudio), meta('property', 'og:audio:type', audioType)]),
    meta('name', 'twitter:card', 'player'),
    meta('name', 'twitter:title', title),
    meta('name', 'twitter:description', description),
    meta('name', 'twitter:image', urls.card),
    meta('name', 'twitter:image:alt', `${title}: ${facts}`),
    meta('name', 'twitter:player', urls.player ?? withEmbed(urls.page)),
    meta('name', 'twitter:player:width', 480),
    meta('name', 'twitter:player:height', 180),
    ...(live ? [] : [meta('name', 'twitter:player:stream', urls.audio), meta('name', 'twitter:player:stream:content_type', audioType)]),
    `<style${nonceAttr}>${STYLE}</style>`,
  ].filter(Boolean);

  const transcript = lineCount
    ? `<ol class="transcript" id="transcript" aria-label="Transcript">\n${rows.map(renderRow).join('\n')}\n</ol>`
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
</div></header>
<div class="bar" id="bar"><div class="wrap controls">${audioEl}${speedSelect}</div></div>
<main class="wrap">
<section aria-labelledby="transcript-heading">
<h2 id="transcript-heading">Transcript</h2>
${transcript}
</section>
<section class="downloads" aria-labelledby="downloads-heading">
<h2 id="downloads-heading">Downloads</h2>
<ul>${downloads}</ul>
</section>
</main>
<footer class="wrap"><p>Recorded ${escapeHtml(formatDate(started))}${live ? '' : `, ${escapeHtml(clock(event.durationSec))} long`}. Transcribed automatically; it may contain mistakes.</p></footer>
<script type="application/json" id="replay-config">${jsonForHtml(config)}</script>
<script${nonceAttr}>${SCRIPT}</script>
</body>
</html>
`;
}
