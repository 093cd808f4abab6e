// The search pages and the replay page's find, quote and word features, as
// rendered strings: hostile text from titles, hosts, queries and speech must
// come out as text, the no-JavaScript paths must mark the right lines, and
// the inline scripts must at least compile.
import vm from 'node:vm';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { quoteCardSvg, quoteSpan, renderQuoteCard } from '../publisher/images.ts';
import { renderReplayPage, replayPageCsp, type ReplayPageInput } from '../publisher/page.ts';
import { renderHomePage, renderResultsPage, searchPageCsp, timestamp, type EventCard, type ResultHit } from '../publisher/search/pages.ts';

const NONCE = 'abc123XYZ_-+/=';
const HOSTILE = [
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `</textarea><b>`,
  `{{constructor.constructor('x')()}}`,
  `ctl\u0000\u0007\u001b\uFFFEend`,
];

/** The bodies of the nonced inline scripts (not the JSON config). */
function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script nonce="[^"]*">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

/** C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF: no XML or HTML document may carry them. */
function isInvalidXmlChar(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff;
}

/** Every <script and event-handler attribute the markup has: only the page's own may be there. */
function expectNoInjectedMarkup(html: string, scripts: number): void {
  expect(html.match(/<script/g)).toHaveLength(scripts);
  expect(html).not.toMatch(/<img/i);
  expect(html).not.toMatch(/<[a-z][a-z0-9]*(?:\s+[a-z-]+(?:=(?:"[^"]*"|[^\s>"]*))?)*\s+on[a-z]+\s*=/i); // attributes, not escaped text in their values
  expect(html).not.toMatch(/\sstyle="/i);
  expect(html).not.toContain('</textarea>');
  expect(html).not.toContain('<b>');
  expect([...html].filter(isInvalidXmlChar)).toEqual([]);
}

function expectScriptsCompile(html: string): void {
  const scripts = inlineScripts(html);
  expect(scripts.length).toBeGreaterThan(0);
  for (const s of scripts) expect(() => new vm.Script(s)).not.toThrow();
}

const card = (over: Partial<EventCard>): EventCard => ({ title: 'A talk', url: '/e/a-talk', startedAt: '2030-01-02T03:04:05Z', live: false, ...over });

describe('renderHomePage', () => {
  const html = renderHomePage({
    siteName: 'Replay <FM>',
    live: [card({ title: HOSTILE[0], host: HOSTILE[1], url: '/e/live-one', live: true })],
    recent: [
      card({ title: HOSTILE[2], host: HOSTILE[3], url: '/e/two', durationSec: 3725 }),
      card({ title: HOSTILE[4], url: 'javascript:alert(1)', startedAt: 'not a date', durationSec: 59 }),
    ],
    nonce: NONCE,
    feedUrl: '/feed.xml?a=1&b=2',
    searchUrl: '/search',
  });

  it('is a complete, escaped document', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<title>Replay &lt;FM&gt;</title>');
    expectNoInjectedMarkup(html, 1);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;/textarea&gt;&lt;b&gt;');
    expect(html).toContain('{{constructor.constructor(&#39;x&#39;)()}}');
    expect(html).toContain('ctlend');
    expect(html).not.toContain('javascript:');
    expect(html).toContain('<link rel="alternate" type="application/rss+xml" title="Replay &lt;FM&gt;" href="/feed.xml?a=1&amp;b=2">');
    expectScriptsCompile(html);
  });

  it('has a GET search form with labelled filters', () => {
    expect(html).toContain('<form class="search" id="search-form" method="get" action="/search" role="search">');
    expect(html).toMatch(/<label class="q-label" for="q">[^<]+<\/label>/);
    expect(html).toMatch(/<input type="search" id="q" name="q" value=""/);
    expect(html).toMatch(/<details class="more"><summary>Filters<\/summary>/); // closed: nothing set
    for (const name of ['host', 'from', 'to']) expect(html).toMatch(new RegExp(`<label>\\w+ <input type="(text|date)" name="${name}"`));
    expect(html).toContain(
      '<select name="status" id="f-status"><option value="" selected>Any</option><option value="live">Live</option><option value="published">Published</option></select>',
    );
    expect(html).toContain('<select name="sort" id="f-sort"><option value="relevance" selected>Relevance</option><option value="date">Date</option></select>');
  });

  it('lists live events (marked live) and recent recordings with host, date and duration', () => {
    const live = /<ul class="events" id="live-list">([\s\S]*?)<\/ul>/.exec(html)![1];
    expect(live).toContain('<li class="event live"><span class="live-badge">LIVE</span><a class="title" href="/e/live-one">&lt;script&gt;');
    expect(live).toContain(
      '<p class="meta">&quot;&gt;&lt;img src=x onerror=alert(1)&gt; · Live since <time datetime="2030-01-02T03:04:05.000Z">2 January 2030, 03:04 UTC</time></p>',
    );
    const recent = /<ul class="events" id="recent-list">([\s\S]*?)<\/ul>/.exec(html)![1];
    expect(recent.match(/<li class="event">/g)).toHaveLength(2);
    expect(recent).toContain('<a class="title" href="/e/two">&lt;/textarea&gt;&lt;b&gt;</a>');
    expect(recent).toContain('<time datetime="2030-01-02T03:04:05.000Z">2 January 2030</time> · 1 h 2 min');
    expect(recent).toContain('<a class="title" href="#">'); // the javascript: URL is a dead link
    expect(recent).toContain('<p class="meta">59 s</p>'); // a bad date is left out
  });

  it('says so when nothing is live or recorded, and refuses a bad nonce', () => {
    const empty = renderHomePage({ siteName: '', live: [], recent: [], nonce: NONCE, feedUrl: '/feed.xml', searchUrl: '/search' });
    expect(empty).toContain('<p class="empty" id="live-list">Nothing is live right now.</p>');
    expect(empty).toContain('<p class="empty" id="recent-list">No recordings yet.</p>');
    expect(empty).toContain('<title>Replay</title>');
    expect(() => renderHomePage({ siteName: 'x', live: [], recent: [], nonce: '"><script>', feedUrl: '/f', searchUrl: '/s' })).toThrow(/nonce/);
  });
});

const hit = (over: Partial<ResultHit>): ResultHit => ({
  title: 'Weekly call',
  host: 'Ada',
  date: '2030-01-02T03:04:05Z',
  startSec: 75.9,
  endSec: 80,
  snippetHtml: 'we talked about <mark>search</mark> &amp; more',
  url: '/e/weekly?t=75',
  eventUrl: '/e/weekly',
  live: false,
  ...over,
});

describe('renderResultsPage', () => {
  const q = `${HOSTILE[0]} ${HOSTILE[1]} ${HOSTILE[2]} ${HOSTILE[3]}`;
  const base = {
    siteName: 'Replay',
    form: { q, host: HOSTILE[1], from: '2030-01-01', to: '2030-12-31', status: 'live', sort: 'date' },
    hits: [hit({}), hit({ title: HOSTILE[0], host: HOSTILE[2], startSec: 3725, url: '/e/other?t=3725', eventUrl: '/e/other', live: true })],
    total: 1234,
    totalCapped: false,
    nextUrl: '/search?q=x&cursor=abc',
    firstUrl: '/search?q=x',
    nonce: NONCE,
    searchUrl: '/search',
    exportUrls: { csv: '/search.csv?q=x&a=1', json: '/search.json?q=x&a=1' },
  };
  const html = renderResultsPage(base);

  it('prefills the form with the (escaped) query and filters', () => {
    expect(html).toContain('<html lang="en">');
    expectNoInjectedMarkup(html, 1);
    expect(html).toContain(
      'name="q" value="&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;/textarea&gt;&lt;b&gt; {{constructor.constructor(&#39;x&#39;)()}}"',
    );
    expect(html).toMatch(/<title>“&lt;script&gt;alert\(1\)&lt;\/script&gt; [^<]*” · Search · Replay<\/title>/);
    expect(html).toContain('name="host" id="f-host" value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(html).toContain('name="from" id="f-from" value="2030-01-01"');
    expect(html).toContain('<option value="live" selected>Live</option>');
    expect(html).toContain('<option value="date" selected>Date</option>');
    expect(html).toContain('<details class="more" open>');
    expect(html).toContain('<meta name="robots" content="noindex">');
    expectScriptsCompile(html);
  });

  it('renders each hit: title link, host, date, a play link at the second, the snippet with its marks', () => {
    const items = [...html.matchAll(/<li class="hit">([\s\S]*?)<\/li>/g)].map((m) => m[1]);
    expect(items).toHaveLength(2);
    expect(items[0]).toContain('<h3 class="title"><a href="/e/weekly">Weekly call</a></h3>');
    expect(items[0]).toContain('<p class="meta">Ada · <time datetime="2030-01-02T03:04:05.000Z">2 January 2030</time></p>');
    expect(items[0]).toContain(
      '<a class="play" href="/e/weekly?t=75" aria-label="Play from 01:15 in Weekly call">01:15</a> we talked about <mark>search</mark> &amp; more',
    );
    expect(items[1]).toContain('<span class="live-badge">LIVE</span><a href="/e/other">&lt;script&gt;alert(1)&lt;/script&gt;</a>');
    expect(items[1]).toContain('<p class="meta">&lt;/textarea&gt;&lt;b&gt; · ');
    expect(items[1]).toContain('<a class="play" href="/e/other?t=3725" aria-label="Play from 1:02:05 in &lt;script&gt;alert(1)&lt;/script&gt;">1:02:05</a>');
  });

  it('counts, pages and exports', () => {
    expect(html).toContain('<p class="count" id="result-count" role="status">1,234 results</p>');
    expect(html).toContain('<a id="first-page" href="/search?q=x">First page</a><a id="next-page" rel="next" href="/search?q=x&amp;cursor=abc">Next page</a>');
    expect(html).toContain('<a id="export-csv" href="/search.csv?q=x&amp;a=1" type="text/csv">CSV</a>');
    expect(html).toContain('<a id="export-json" href="/search.json?q=x&amp;a=1" type="application/json">JSON</a>');
    expect(renderResultsPage({ ...base, total: 10_000, totalCapped: true })).toContain('>More than 10,000 results</p>');
    expect(renderResultsPage({ ...base, total: 1, hits: [hit({})] })).toContain('>1 result</p>');
    const none = renderResultsPage({ ...base, hits: [], total: 0, nextUrl: undefined, firstUrl: undefined });
    expect(none).toContain('>No results</p>');
    expect(none).not.toContain('class="pager"');
    expect(none).not.toContain('id="export-csv"');
    expect(timestamp(0)).toBe('00:00');
    expect(timestamp(599.9)).toBe('09:59');
    expect(timestamp(36_000)).toBe('10:00:00');
  });

  it('shows a bad field in an error box, with the form still there', () => {
    const bad = renderResultsPage({ ...base, hits: [], total: 0, error: { field: 'from', message: `from must be a date like 2026-12-01 <${HOSTILE[0]}>` } });
    expect(bad).toContain(
      '<div class="error" id="search-error" role="alert"><p><strong>Check “from”:</strong> from must be a date like 2026-12-01 &lt;&lt;script&gt;',
    );
    expect(bad).toContain('name="from" id="f-from" value="2030-01-01" aria-invalid="true" aria-describedby="search-error"');
    expect(bad).toContain('<form class="search" id="search-form"');
    expect(bad).not.toContain('id="result-count"');
    expectNoInjectedMarkup(bad, 1);
  });

  it('keeps a one-event search in the form', () => {
    const one = renderResultsPage({ ...base, form: { q: 'x', event: 'weekly"><b>' } });
    expect(one).toContain('<input type="hidden" name="event" value="weekly&quot;&gt;&lt;b&gt;">');
    expect(one).toContain('<a href="/search?q=x">Search every event</a>');
  });
});

describe('Content-Security-Policy headers', () => {
  it('builds the search pages policy', () => {
    expect(searchPageCsp(NONCE)).toBe(
      `default-src 'none'; script-src 'nonce-${NONCE}'; style-src 'nonce-${NONCE}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    expect(() => searchPageCsp("x'; script-src *")).toThrow(/nonce/);
  });

  it('lets the replay page fetch the search API and submit the find box to itself', () => {
    const csp = replayPageCsp(NONCE, { frameAncestors: ["'none'"] });
    expect(csp).toContain(`connect-src 'self'`);
    expect(csp).toContain(`form-action 'self'`);
    expect(csp).toContain(`frame-ancestors 'none'`);
    expect(csp).not.toContain('unsafe');
  });
});

// ---- the replay page's words, find and quotes

const replay: ReplayPageInput = {
  event: { title: 'Words <i>night</i>', host: 'Ada', startedAt: '2030-01-02T03:04:05Z', durationSec: 200, slug: 'words' },
  urls: {
    page: 'https://replay.example/e/words',
    audio: 'https://cdn.example/e/1/audio.m4a',
    card: 'https://cdn.example/e/1/card.png',
    search: '/api/events/words/search',
  },
  segments: [
    {
      startSec: 0,
      endSec: 3,
      text: ' Hello <script>alert(1)</script> world',
      speaker: 'Ada',
      words: [
        { startSec: 0, endSec: 0.5, text: ' Hello' },
        { startSec: 0.5, endSec: 2, text: ' <script>alert(1)</script>' },
        { startSec: 2, endSec: 3, text: ' world' },
      ],
    },
    {
      startSec: 3,
      endSec: 6,
      text: 'the search "works" fine',
      words: [
        { startSec: 3, endSec: 3.4, text: 'the' },
        { startSec: 3.4, endSec: 4.1, text: 'search' },
        { startSec: 4.1, endSec: 5, text: '"works"' },
        { startSec: 5, endSec: 6, text: 'fine' },
      ],
    },
    { startSec: 10, endSec: 14, text: 'no word timings here, search </li> again' },
    { startSec: 14, endSec: 18, text: 'another line without words' },
    {
      startSec: 20,
      endSec: 22,
      text: 'words that do not match',
      words: [
        { startSec: 20, endSec: 21, text: 'different' },
        { startSec: 21, endSec: 22, text: '<b>' },
      ],
    },
  ],
  nonce: NONCE,
};

/** The <li> of the line starting at `start`. */
function lineAt(html: string, start: string): string {
  const m = new RegExp(`<li class="[^"]*" data-start="${start.replace('.', '\\.')}"[\\s\\S]*?</li>`).exec(html);
  return m![0];
}

describe('replay page: words', () => {
  const html = renderReplayPage(replay);

  it('wraps each word in a span with its times, escaped', () => {
    expect(lineAt(html, '0')).toContain(
      '<span class="text" data-lead="1"><span class="w" data-start="0" data-end="0.5">Hello</span> <span class="w" data-start="0.5" data-end="2">&lt;script&gt;alert(1)&lt;/script&gt;</span> <span class="w" data-start="2" data-end="3">world</span></span>',
    );
    expect(lineAt(html, '3')).toContain('<span class="w" data-start="4.1" data-end="5">&quot;works&quot;</span>');
    expect(lineAt(html, '10')).toContain('<span class="text">no word timings here, search &lt;/li&gt; again</span>');
    // words that are not in the text: the words are shown, and find ranges are not applied to them
    expect(lineAt(html, '20')).toContain(
      '<span class="text" data-unmapped=""><span class="w" data-start="20" data-end="21">different</span> <span class="w" data-start="21" data-end="22">&lt;b&gt;</span></span>',
    );
    expectNoInjectedMarkup(html, 2);
    expect(html).toContain('<li class="line" data-start="0" data-end="3"><a class="ts" href="?t=0"');
  });

  it('has the find box, the hit bar and the quote box for the script, and the script compiles', () => {
    expect(html).toContain('<form class="find" id="find-form" method="get" role="search"');
    expect(html).toContain('<label for="find-q">Find in transcript</label><input type="search" id="find-q" name="find" value=""');
    expect(html).toContain('<button type="button" id="find-prev" hidden');
    expect(html).toContain('<button type="button" id="find-next" hidden');
    expect(html).toContain('<p class="find-status" id="find-status" role="status" aria-live="polite"></p>');
    expect(html).toContain('<div class="hitbar" id="hitbar" aria-hidden="true" hidden></div>');
    expect(html).toContain('<label for="quote-url">Quote link</label><input type="url" id="quote-url" readonly value="">');
    expect(html).toContain('<button type="button" id="quote-copy">Copy</button>');
    const config = JSON.parse(/<script type="application\/json" id="replay-config">([^<]*)<\/script>/.exec(html)![1]);
    expect(config).toMatchObject({ page: 'https://replay.example/e/words', search: '/api/events/words/search', duration: 200, quote: null, find: null });
    expectScriptsCompile(html);
  });
});

describe('replay page: find without JavaScript', () => {
  const find = {
    q: `search ${HOSTILE[0]} ${HOSTILE[2]}`,
    hits: [
      { startSec: 3, endSec: 6, ranges: [[4, 10]] as [number, number][] }, // "search" inside "the search …"
      {
        startSec: 10,
        endSec: 14,
        ranges: [
          [22, 28],
          [29, 34],
          [1000, 2000],
        ] as [number, number][],
      }, // "search", "</li>", out of range
      { startSec: 0.001, endSec: 3, ranges: [[1, 8]] as [number, number][] }, // " Hello <" with the leading space: raw-text offsets
    ],
  };
  const html = renderReplayPage({ ...replay, find });

  it('marks the matching lines and ranges, and counts them', () => {
    expect(lineAt(html, '3')).toMatch(/^<li class="line hit"/);
    expect(lineAt(html, '3')).toContain('<span class="w" data-start="3.4" data-end="4.1"><mark>search</mark></span>');
    expect(lineAt(html, '10')).toMatch(/^<li class="line hit"/);
    expect(lineAt(html, '10')).toContain('no word timings here, <mark>search</mark> <mark>&lt;/li&gt;</mark> again');
    // a range across a word edge is split so the tags nest: "Hello" and the "<" of the next word
    expect(lineAt(html, '0')).toMatch(/^<li class="line hit"/);
    expect(lineAt(html, '0')).toContain(
      '<span class="w" data-start="0" data-end="0.5"><mark>Hello</mark></span><mark> </mark><span class="w" data-start="0.5" data-end="2"><mark>&lt;</mark>script&gt;',
    );
    expect(lineAt(html, '14')).toMatch(/^<li class="line" /);
    expect(lineAt(html, '20')).toMatch(/^<li class="line" /);
    expect(html.match(/<li class="line hit"/g)).toHaveLength(3);
    expect(html).toContain('id="find-status" role="status" aria-live="polite">3 matches</p>');
  });

  it('keeps the query as text in the box and in the script config', () => {
    expect(html).toContain('name="find" value="search &lt;script&gt;alert(1)&lt;/script&gt; &lt;/textarea&gt;&lt;b&gt;"');
    expectNoInjectedMarkup(html, 2);
    const config = /<script type="application\/json" id="replay-config">([^<]*)<\/script>/.exec(html)![1];
    expect(JSON.parse(config).find.q).toBe(find.q);
  });

  it('shows the count of nothing, and errors as text', () => {
    expect(renderReplayPage({ ...replay, find: { q: 'zebra', hits: [] } })).toContain('aria-live="polite">No matches</p>');
    expect(renderReplayPage({ ...replay, find: { q: 'x', hits: [find.hits[0]] } })).toContain('aria-live="polite">1 match</p>');
    const err = renderReplayPage({ ...replay, find: { q: '"', hits: find.hits, error: `q: unbalanced quote ${HOSTILE[0]}` } });
    expect(err).toContain(
      '<p class="find-status error" id="find-status" role="status" aria-live="polite">q: unbalanced quote &lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    expect(err).toContain('aria-invalid="true"');
    expect(err).not.toContain('class="line hit"');
  });
});

describe('replay page: quotes', () => {
  const tag = (html: string, attr: string, key: string) => new RegExp(`<meta ${attr}="${key}" content="([^"]*)">`).exec(html)?.[1];

  it('marks the quoted words, quotes them at the top and previews the quote card', () => {
    const html = renderReplayPage({
      ...replay,
      quote: { startSec: 0.5, endSec: 4.1 },
      urls: { ...replay.urls, quoteCard: 'https://cdn.example/q/0.5-4.1.png' },
    });
    const quoted = [...html.matchAll(/<span class="w quoted" data-start="([^"]+)" data-end="([^"]+)">([^<]*)</g)].map((m) => [m[1], m[2], m[3]]);
    expect(quoted).toEqual([
      ['0.5', '2', '&lt;script&gt;alert(1)&lt;/script&gt;'],
      ['2', '3', 'world'],
      ['3', '3.4', 'the'],
      ['3.4', '4.1', 'search'],
    ]);
    expect(html).toContain('<span class="w" data-start="0" data-end="0.5">Hello</span>');
    expect(html).not.toContain('class="line quoted"'); // lines with words are marked word by word
    expect(html).toContain(
      '<figure class="quote" id="quote" data-start="0.5" data-end="4.1"><blockquote><p>&lt;script&gt;alert(1)&lt;/script&gt; world the search</p></blockquote>' +
        '<figcaption><a class="play-quote" id="play-quote" href="?t=0.5&amp;end=4.1">▶ Play quote</a> <span class="span">0:00–0:04</span></figcaption></figure>',
    );
    expect(tag(html, 'property', 'og:image')).toBe('https://cdn.example/q/0.5-4.1.png');
    expect(tag(html, 'name', 'twitter:image')).toBe('https://cdn.example/q/0.5-4.1.png');
    expect(tag(html, 'property', 'og:description')).toBe('&lt;script&gt;alert(1)&lt;/script&gt; world the search');
    expect(tag(html, 'property', 'og:url')).toBe('https://replay.example/e/words?t=0.5&amp;end=4.1');
    expect(html).toContain('src="https://cdn.example/e/1/audio.m4a#t=0.5,4.1"'); // the media fragment stops at the end without JavaScript
    expect(JSON.parse(/id="replay-config">([^<]*)</.exec(html)![1]).quote).toEqual({ start: 0.5, end: 4.1 });
    expectNoInjectedMarkup(html, 2);
    expectScriptsCompile(html);
  });

  it('marks whole lines that overlap the span when they have no word timings', () => {
    const html = renderReplayPage({ ...replay, quote: { startSec: 12, endSec: 14 } });
    expect(lineAt(html, '10')).toMatch(/^<li class="line quoted"/);
    expect(lineAt(html, '14')).toMatch(/^<li class="line" /); // touches the end, does not overlap
    expect(html).not.toContain('w quoted');
    expect(html).toContain('<blockquote><p>no word timings here, search &lt;/li&gt; again</p></blockquote>');
    expect(tag(html, 'property', 'og:image')).toBe('https://cdn.example/e/1/card.png'); // no quote card given
  });

  it('ignores a span that is not one', () => {
    for (const quote of [
      { startSec: 5, endSec: 5 },
      { startSec: 5, endSec: 1 },
      { startSec: NaN, endSec: 3 },
    ]) {
      const html = renderReplayPage({ ...replay, quote });
      expect(html).not.toContain('id="quote"');
      expect(html).not.toMatch(/class="[^"]*quoted/);
    }
  });
});

describe('quote card', () => {
  it('escapes the quote, title and host, and shows the time span', () => {
    const svg = quoteCardSvg({
      quote: `</text><script>alert(1)</script> & "q" ${HOSTILE[4]}`,
      title: HOSTILE[1],
      host: '<b>&host</b>',
      startSec: 754,
      endSec: 771,
    });
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<b>');
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;/text&gt;&lt;script&gt;');
    expect(svg).toContain('&lt;b&gt;&amp;host&lt;/b&gt;');
    expect(svg).toContain('>12:34–12:51</text>');
    expect(quoteSpan(3700, 3725)).toBe('1:01:40–1:02:05');
    expect(quoteSpan(10, 10)).toBe('0:10');
  });

  it('truncates a long quote with an ellipsis', () => {
    const svg = quoteCardSvg({ quote: 'word '.repeat(400), title: 't', startSec: 0, endSec: 1 });
    const lines = [...svg.matchAll(/font-weight="bold" fill="#f8fafc">([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(lines[lines.length - 1].endsWith('…')).toBe(true);
  });

  it('renders a 1200x630 PNG', async () => {
    for (const o of [
      { quote: 'We should ship the search this week, and the quote cards with it.', title: 'Weekly call', host: 'Ada', startSec: 754, endSec: 771 },
      {
        quote: '',
        title: HOSTILE[0],
        host: HOSTILE[1],
        startSec: NaN,
        endSec: NaN,
        palette: { accent: '"/><script>', background: ['red"', '#000'] as [string, string] },
      },
    ]) {
      const png = await renderQuoteCard(o);
      const m = await sharp(png).metadata();
      expect(m).toMatchObject({ format: 'png', width: 1200, height: 630, channels: 3 });
    }
  });
});
