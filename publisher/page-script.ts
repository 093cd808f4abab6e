// The replay page's behaviour. Plain ES2017, no dependencies; every element it
// needs is looked up by id and it does nothing when one is missing. One
// constant, so a stored page allows it by its hash (no per-request nonce).
//
// Everything the app decides per request is also done here from the page's
// own URL, so a page served by a bucket or a CDN alone works the same:
// `?t=` and `#t=` seek, `?t=START&end=END` plays and shows a quote, `?embed`
// gives the player-only layout, `?find=` finds in the transcript (through the
// search API when the page comes from the app's origin, else in the page).
// While live it polls the transcript and the page's state in storage: new
// lines appear, and the published replay is loaded when it is there.
import { CHAPTERS_SCRIPT } from './chapters/chapters-page.ts';

const PAGE_SCRIPT = `
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('replay-config').textContent);
  var audio = document.getElementById('player');
  var list = document.getElementById('transcript');
  // ?embed: the player-only layout (the app also renders it so; a stored page learns it here)
  if (/[?&]embed(?:[=&]|$)/.test(window.location.search)) document.body.classList.add('embed');
  if (!audio) return;
  var lines = list ? Array.prototype.slice.call(list.querySelectorAll('li.line')) : [];
  // The embed player shows the line being heard under the player (its transcript is hidden).
  var embedLine = document.getElementById('embed-line');
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
          // a page opened before the first segment finds no playlist yet: try again until it is there
          hls.on(window.Hls.Events.ERROR, function (_e, data) {
            if (data && data.fatal && data.type === window.Hls.ErrorTypes.NETWORK_ERROR) setTimeout(function () { hls.loadSource(cfg.hls); }, 3000);
          });
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
    if (embedLine) embedLine.textContent = i >= 0 ? (lines[i].querySelector('.text') || lines[i]).textContent : '';
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

  function onListClick(e) {
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
  }
  if (list) list.addEventListener('click', onListClick);

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
  // a stored page has no quote rendered in it: show the quoted words from the page's own lines
  function showQuoteFigure(q) {
    var facts = document.querySelector('header.top .facts');
    if (document.getElementById('quote') || !facts) return;
    var words = [];
    if (list) forEach(list.querySelectorAll('span.w.quoted, li.quoted .text'), function (el) { words.push(el.textContent); });
    var text = words.join(' ').replace(/\\s+/g, ' ').trim();
    var fig = document.createElement('figure');
    fig.className = 'quote';
    fig.id = 'quote';
    if (text) {
      var bq = document.createElement('blockquote'), para = document.createElement('p');
      para.textContent = text.length > 600 ? text.slice(0, 599) + '…' : text;
      bq.appendChild(para);
      fig.appendChild(bq);
    }
    var cap = document.createElement('figcaption'), play = document.createElement('a'), span = document.createElement('span');
    play.className = 'play-quote';
    play.id = 'play-quote';
    play.href = '?t=' + q.start + '&end=' + q.end;
    play.textContent = '▶ Play quote';
    span.className = 'span';
    span.textContent = clockText(q.start) + '–' + clockText(q.end);
    cap.appendChild(play);
    cap.appendChild(document.createTextNode(' '));
    cap.appendChild(span);
    fig.appendChild(cap);
    facts.parentNode.insertBefore(fig, facts.nextSibling);
  }

  if (quote) {
    markQuote(quote);
    if (!cfg.quote) showQuoteFigure(quote);
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
    shareItems = items;
    var url = quoteUrl(items);
    if (clipMade && clipMade.quote === url) { shareUrl.value = clipMade.page; share.hidden = false; return; } // the same selection keeps its clip's link
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

  // ---- Clip: the selection made into a clip with the API token (asked once per tab), on the app's own page only
  var shareItems = null;
  var clipMade = null; // {quote, page}: the selection last made into a clip
  var clipButton = document.getElementById('quote-clip');
  var clipsUrl = null;
  try { if (cfg.search && new URL(cfg.search, window.location.href).origin === window.location.origin) clipsUrl = cfg.search.replace(/\\/search$/, '/clips'); } catch (e) { /* a stored page: no API here */ }
  function clipToken(forget) {
    try { if (forget) sessionStorage.removeItem('replay-token'); else return sessionStorage.getItem('replay-token') || window.prompt('API token to make a clip'); } catch (e) { /* storage off */ }
    return forget ? null : window.prompt('API token to make a clip');
  }
  function makeClip() {
    var token = shareItems && clipToken(false);
    if (!token) return;
    var s = Number(shareItems[0].getAttribute('data-start')), e = Number(shareItems[shareItems.length - 1].getAttribute('data-end'));
    var quote = quoteUrl(shareItems);
    shareDone.textContent = 'Making the clip…';
    fetch(clipsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token.trim() },
      body: JSON.stringify({ startSec: s, endSec: Math.max(e, s + 1) }), // a clip lasts at least a second
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); }).then(function (r) {
      if (r.status === 401) clipToken(true);
      else try { sessionStorage.setItem('replay-token', token.trim()); } catch (x) { /* storage off */ }
      if (r.status !== 201) { shareDone.textContent = r.status === 401 ? 'Wrong API token' : (r.body && r.body.error) || 'No clip made'; return; }
      clipMade = { quote: quote, page: r.body.urls.page };
      shareUrl.value = r.body.urls.page;
      shareDone.textContent = 'Clip made: its link is above';
    }, function () { shareDone.textContent = 'The service did not answer'; });
  }
  if (clipButton && clipsUrl && share && shareUrl && shareDone) {
    clipButton.hidden = false;
    clipButton.addEventListener('click', makeClip);
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

  // ---- find in the page itself (a stored page has no search API beside it): the search API's
  // language in small, on the lines' text: words (any order), "phrases", prefix*, -exclusions, OR
  var WORD_RE = /[\\p{L}\\p{N}]+(?:['’][\\p{L}\\p{N}]+)*/gu;
  function fold(w) {
    return (w.normalize ? w.normalize('NFKD') : w).replace(/[\\u0300-\\u036f]/g, '').toLowerCase().replace(/['’]/g, '');
  }
  function tokens(text) {
    var out = [], m;
    WORD_RE.lastIndex = 0;
    while ((m = WORD_RE.exec(text))) out.push({ t: fold(m[0]), from: m.index, to: m.index + m[0].length });
    return out;
  }
  function parseFind(q) {
    var clauses = [[]], re = /(-?)(?:["“”]([^"“”]*)["“”]?|(\\S+))/g, m;
    while ((m = re.exec(q))) {
      if (m[2] === undefined && (m[3] === 'OR' || m[3] === 'AND')) { if (m[3] === 'OR') clauses.push([]); continue; }
      var raw = m[2] !== undefined ? m[2] : m[3];
      var words = tokens(raw).map(function (w) { return w.t; });
      if (words.length) clauses[clauses.length - 1].push({ words: words, prefix: m[2] === undefined && /\\*$/.test(raw), not: m[1] === '-' });
    }
    return clauses.filter(function (c) { return c.some(function (term) { return !term.not; }); });
  }
  function termRanges(toks, term) {
    var out = [], n = term.words.length;
    for (var i = 0; i + n <= toks.length; i++) {
      var ok = true;
      for (var k = 0; k < n && ok; k++) ok = term.prefix && k === n - 1 ? toks[i + k].t.indexOf(term.words[k]) === 0 : toks[i + k].t === term.words[k];
      if (ok) out.push([toks[i].from, toks[i + n - 1].to]);
    }
    return out;
  }
  function findHere(q) {
    var clauses = parseFind(q);
    if (!clauses.length) return { ok: false, code: 400, body: { error: 'a query needs at least one word to find' } };
    var found = [];
    lines.forEach(function (li, i) {
      var el = li.querySelector('.text');
      if (!el) return;
      var toks = tokens(el.textContent), lead = parseInt(el.getAttribute('data-lead') || '0', 10) || 0, ranges = null;
      clauses.forEach(function (c) {
        var got = [];
        var ok = c.every(function (term) {
          var r = termRanges(toks, term);
          if (term.not) return r.length === 0;
          got = got.concat(r);
          return r.length > 0;
        });
        if (ok) ranges = (ranges || []).concat(got);
      });
      // ranges count from the segment's raw text, like the search API's
      if (ranges) found.push({ startSec: starts[i], endSec: ends[i], ranges: ranges.map(function (r) { return [r[0] + lead, r[1] + lead]; }) });
    });
    return { ok: true, code: 200, body: { hits: found, total: found.length } };
  }
  // the search API when it is on the page's own origin (the app served the page), else the page itself
  var remoteSearch = false;
  try { remoteSearch = !!cfg.search && new URL(cfg.search, window.location.href).origin === window.location.origin; } catch (e) { /* no URL: find here */ }

  function runSearch(q, thenGo) {
    var mine = ++seq;
    lastQ = q;
    rememberFind(q);
    if (!q) { total = 0; setHits([]); status(''); return; }
    if (!remoteSearch) { showResult(findHere(q), thenGo); return; }
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
    runSearch(q, true);
    return true;
  }

  if (findForm && findInput) {
    if (cfg.find && Array.isArray(cfg.find.hits) && !cfg.find.error) { total = cfg.find.hits.length; setHits(cfg.find.hits); }
    if (prevBtn && nextBtn) {
      prevBtn.hidden = nextBtn.hidden = false;
      prevBtn.disabled = nextBtn.disabled = hits.length === 0;
      prevBtn.addEventListener('click', prev);
      nextBtn.addEventListener('click', next);
    }
    findInput.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && findNow(e.shiftKey)) e.preventDefault();
    });
    findForm.addEventListener('submit', function (e) { if (findNow(false)) e.preventDefault(); });
    findInput.addEventListener('input', function () {
      clearTimeout(typeTimer);
      typeTimer = setTimeout(function () { var q = findInput.value.trim(); if (q !== lastQ) runSearch(q, false); }, 250);
    });
    if (hitbar) hitbar.addEventListener('click', function (e) {
      var tick = e.target.closest ? e.target.closest('.tick') : null;
      if (tick) go(parseInt(tick.getAttribute('data-i'), 10) || 0);
    });
    audio.addEventListener('loadedmetadata', drawTicks);
    // ?find= on a page that did not mark it (a stored page): find now
    var urlFind = /[?&]find=([^&]*)/.exec(window.location.search);
    if (!cfg.find && urlFind) {
      try { findInput.value = decodeURIComponent(urlFind[1].replace(/\\+/g, ' ')); } catch (e) { findInput.value = ''; }
      if (findInput.value.trim()) runSearch(findInput.value.trim(), false);
    }
  }

  // ---- live: the transcript grows as the transcriber writes it to storage, and the
  // replay is loaded once it is published (the stored page is replaced; its state says so)
  function bust(url) { return url + (url.indexOf('?') >= 0 ? '&' : '?') + 'v=' + Date.now(); }

  function lineItem(seg, showSpeaker) {
    var li = document.createElement('li'), a = document.createElement('a'), para = document.createElement('p'), text = document.createElement('span');
    li.className = 'line';
    li.setAttribute('data-start', String(seg.startTime));
    li.setAttribute('data-end', String(Math.max(seg.endTime, seg.startTime)));
    a.className = 'ts';
    a.href = '?t=' + Math.floor(seg.startTime);
    a.setAttribute('aria-label', 'Play from ' + clockText(seg.startTime));
    a.textContent = clockText(seg.startTime);
    if (showSpeaker) {
      var sp = document.createElement('span');
      sp.className = 'speaker';
      sp.textContent = seg.speaker.trim();
      para.appendChild(sp);
      para.appendChild(document.createTextNode(' '));
    }
    text.className = 'text';
    text.textContent = String(seg.body).trim();
    para.appendChild(text);
    li.appendChild(a);
    li.appendChild(para);
    return li;
  }

  function showTranscript(segs) {
    segs = segs.filter(function (s) { return s && isFinite(s.startTime) && isFinite(s.endTime) && String(s.body || '').trim(); })
      .sort(function (a, b) { return a.startTime - b.startTime; });
    if (!segs.length) return;
    if (!list) {
      list = document.createElement('ol');
      list.className = 'transcript';
      list.id = 'transcript';
      list.setAttribute('aria-label', 'Transcript');
      var empty = document.querySelector('main .empty');
      if (empty) empty.parentNode.replaceChild(list, empty);
      else return;
      list.addEventListener('click', onListClick);
    }
    // the gaps the page was rendered with stay between the lines around them
    var gaps = Array.prototype.slice.call(list.querySelectorAll('li.gap'));
    var rows = [], gi = 0, lastSpeaker = null;
    segs.forEach(function (s) {
      while (gi < gaps.length && parseFloat(gaps[gi].getAttribute('data-start')) <= s.startTime) { rows.push(gaps[gi++]); lastSpeaker = null; }
      var speaker = typeof s.speaker === 'string' && s.speaker.trim() ? s.speaker.trim() : null;
      rows.push(lineItem(s, !!speaker && speaker !== lastSpeaker));
      lastSpeaker = speaker;
    });
    while (gi < gaps.length) rows.push(gaps[gi++]);
    while (list.firstChild) list.removeChild(list.firstChild);
    rows.forEach(function (r) { list.appendChild(r); });
    lines = Array.prototype.slice.call(list.querySelectorAll('li.line'));
    starts = lines.map(function (l) { return parseFloat(l.getAttribute('data-start')) || 0; });
    ends = lines.map(function (l) { return parseFloat(l.getAttribute('data-end')) || 0; });
    current = -1;
    setCurrent(indexAt(audio.currentTime), false);
  }

  var POLL_MS = 5000, lastTranscript = null;
  function pollTranscript() {
    fetch(bust(cfg.transcript), { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text && text !== lastTranscript) {
          lastTranscript = text;
          var j = JSON.parse(text);
          showTranscript(Array.isArray(j.segments) ? j.segments : []);
        }
      })
      .catch(function () { /* not there yet, or offline: next time */ })
      .then(function () { setTimeout(pollTranscript, POLL_MS); });
  }

  function pollState() {
    fetch(bust(cfg.state), { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (st && st.status === 'published') {
          // the replay: reloaded where the listener is
          var u = new URL(window.location.href);
          if (audio.currentTime > 1 && !u.searchParams.has('t')) u.searchParams.set('t', String(Math.floor(audio.currentTime)));
          window.location.replace(u.toString());
          return;
        }
        setTimeout(pollState, POLL_MS);
      }, function () { setTimeout(pollState, POLL_MS); });
  }

  if (cfg.live && cfg.transcript) pollTranscript();
  if (cfg.live && cfg.state) setTimeout(pollState, POLL_MS);
})();
`;

/** The page's own script and the chapters' (one script, one hash). */
export const SCRIPT = PAGE_SCRIPT + CHAPTERS_SCRIPT;
