// Chapters on the replay page: a list that works without JavaScript (each
// chapter a `?t=` link), and, with it, marks on a timeline under the player,
// a click that seeks instead of reloading, and the chapter being heard shown
// as current. Kept apart from the page's main script and stylesheet, and
// appended to them, so the stored page's CSP still names one script and one
// stylesheet by hash.
import { clock, escapeHtml } from '../html.ts';

export interface PageChapter {
  startSec: number;
  title: string;
  url?: string;
}

/** The chapter list (empty string without chapters). */
export function renderChapters(chapters: PageChapter[] | undefined): string {
  if (!chapters?.length) return '';
  const items = chapters.map((c, i) => {
    const t = Math.max(0, Math.floor(c.startSec));
    const title = c.title.trim() || `Chapter ${i + 1}`;
    const link = c.url ? ` <a class="chapter-url" href="${escapeHtml(c.url)}" rel="nofollow noopener noreferrer" target="_blank">link</a>` : '';
    return `<li data-start="${c.startSec}"><a class="chapter" href="?t=${t}" data-t="${c.startSec}"><span class="ts">${clock(c.startSec)}</span> ${escapeHtml(title)}</a>${link}</li>`;
  });
  return `<section class="chapters" aria-labelledby="chapters-heading">
<h2 id="chapters-heading">Chapters</h2>
<ol class="chapter-list" id="chapter-list">${items.join('')}</ol>
</section>`;
}

/** The timeline the script fills (hidden until it does). */
export const CHAPTER_BAR = '<div class="chapterbar" id="chapterbar" aria-hidden="true" hidden></div>';

export const CHAPTERS_STYLE = `
.chapter-list{list-style:none;margin:0 0 1rem;padding:0}
.chapter-list li{padding:.15rem .25rem;border-radius:.25rem}
.chapter-list li.current{background:var(--hl)}
.chapter-list .ts{display:inline-block;min-width:4.2rem;color:var(--muted);font-variant-numeric:tabular-nums}
.chapter-url{font-size:.85rem}
.chapterbar{position:relative;height:.5rem;margin:.4rem 0 .1rem;background:var(--line);border-radius:.25rem}
.chapterbar .mark{position:absolute;top:-.2rem;bottom:-.2rem;width:3px;margin-left:-1px;background:var(--accent);border-radius:1px;cursor:pointer}
.chapterbar .mark.current{background:var(--fg);width:5px;margin-left:-2px}
body.embed .chapters,body.embed .chapterbar{display:none}
`;

export const CHAPTERS_SCRIPT = `
(function () {
  'use strict';
  var audio = document.getElementById('player');
  var listEl = document.getElementById('chapter-list');
  var bar = document.getElementById('chapterbar');
  if (!audio || !listEl) return;
  var items = Array.prototype.slice.call(listEl.querySelectorAll('li[data-start]'));
  var starts = items.map(function (li) { return parseFloat(li.getAttribute('data-start')) || 0; });
  var cfg = {};
  try { cfg = JSON.parse(document.getElementById('replay-config').textContent); } catch (e) { cfg = {}; }
  var current = -1;

  function length() {
    var d = cfg.duration > 0 ? cfg.duration : (isFinite(audio.duration) ? audio.duration : 0);
    return Math.max(d, starts.length ? starts[starts.length - 1] : 0);
  }
  function seekTo(t) {
    var apply = function () { try { audio.currentTime = t; } catch (e) { /* not seekable yet */ } };
    if (audio.readyState >= 1) apply(); else audio.addEventListener('loadedmetadata', apply, { once: true });
    var p = audio.play(); if (p && p.catch) p.catch(function () {});
  }
  function draw() {
    if (!bar) return;
    while (bar.firstChild) bar.removeChild(bar.firstChild);
    var d = length();
    bar.hidden = !(d > 0);
    starts.forEach(function (s, i) {
      var mark = document.createElement('span');
      mark.className = 'mark' + (i === current ? ' current' : '');
      mark.style.left = Math.min(100, Math.max(0, (s / d) * 100)) + '%';
      mark.setAttribute('data-i', String(i));
      mark.title = items[i].textContent;
      bar.appendChild(mark);
    });
  }
  function update() {
    var t = audio.currentTime || 0, k = -1;
    for (var i = 0; i < starts.length; i++) if (starts[i] <= t + 0.05) k = i;
    if (k === current) return;
    current = k;
    items.forEach(function (li, i) { li.classList.toggle('current', i === k); });
    if (bar) Array.prototype.forEach.call(bar.children, function (m, i) { m.classList.toggle('current', i === k); });
  }
  listEl.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a.chapter') : null;
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button === 1) return;
    e.preventDefault();
    seekTo(parseFloat(a.getAttribute('data-t')) || 0);
  });
  if (bar) bar.addEventListener('click', function (e) {
    var m = e.target.closest ? e.target.closest('.mark') : null;
    if (m) seekTo(starts[parseInt(m.getAttribute('data-i'), 10) || 0]);
  });
  audio.addEventListener('timeupdate', update);
  audio.addEventListener('loadedmetadata', draw);
  draw();
  update();
})();
`;
