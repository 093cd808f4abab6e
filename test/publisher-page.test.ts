import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { renderReplayPage, replayPageCsp, type ReplayPageInput } from '../publisher/page.ts';

const base: ReplayPageInput = {
  event: { title: `Q&A: "<b>bold</b>" night`, host: `Ada <Lovelace>`, startedAt: '2030-01-02T03:04:05Z', durationSec: 3725, slug: 'q-and-a' },
  urls: {
    page: 'https://replay.example/e/q-and-a',
    audio: 'https://cdn.example/e/1/audio.m4a?a=1&b=2',
    hls: 'https://cdn.example/e/1/live.m3u8',
    card: 'https://cdn.example/e/1/card.png',
    transcript: {
      vtt: 'https://cdn.example/e/1/transcript.vtt',
      srt: 'https://cdn.example/e/1/transcript.srt',
      json: 'https://cdn.example/e/1/transcript.json',
      txt: 'https://cdn.example/e/1/transcript.txt',
    },
  },
  segments: [
    { startSec: 0, endSec: 4.2, text: 'Welcome, everyone.', speaker: 'Ada' },
    { startSec: 4.2, endSec: 9, text: 'Today: <script>alert("x")</script> & more', speaker: 'Ada' },
    { startSec: 75.5, endSec: 80, text: `He said "it's </li></ol><img src=x onerror=alert(1)>"`, speaker: 'Bob <i>' },
    { startSec: 3700, endSec: 3725, text: 'Bye.' },
  ],
  gaps: [{ startSec: 20, endSec: 70, reason: 'source-dropped' }],
  nonce: 'abc123XYZ_-+/=',
};

function script(html: string): string {
  const m = /<script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(html);
  return m![1];
}

describe('renderReplayPage', () => {
  const html = renderReplayPage(base);

  it('escapes everything that comes from outside', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('Today: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;/li&gt;&lt;/ol&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('<h1>Q&amp;A: &quot;&lt;b&gt;bold&lt;/b&gt;&quot; night</h1>');
    expect(html).toContain('Hosted by Ada &lt;Lovelace&gt;');
    expect(html).toContain('<span class="speaker">Bob &lt;i&gt;</span>');
    expect(html).toContain('src="https://cdn.example/e/1/audio.m4a?a=1&amp;b=2"');
    // only the two scripts of the page itself: the nonced code and the JSON config
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toMatch(/<script type="application\/json" id="replay-config">[^<]*<\/script>/);
  });

  it('renders the transcript on the server with times and deep links', () => {
    const lines = [...html.matchAll(/<li class="line" data-start="([^"]+)" data-end="([^"]+)"><a class="ts" href="\?t=(\d+)"[^>]*>([^<]+)<\/a>/g)];
    expect(lines.map((m) => [m[1], m[2], m[3], m[4]])).toEqual([
      ['0', '4.2', '0', '0:00'],
      ['4.2', '9', '4', '0:04'],
      ['75.5', '80', '75', '1:15'],
      ['3700', '3725', '3700', '1:01:40'],
    ]);
    // the speaker is named when it changes
    expect(html.match(/class="speaker">Ada</g)).toHaveLength(1);
    // the gap sits between the lines around it
    const gap = html.indexOf('<li class="gap" data-start="20" data-end="70">');
    expect(gap).toBeGreaterThan(html.indexOf('data-start="4.2"'));
    expect(gap).toBeLessThan(html.indexOf('data-start="75.5"'));
    expect(html).toContain('No audio was captured from 0:20 to 1:10.');
  });

  it('has the player, speed control, downloads and a nonce on inline code', () => {
    expect(html).toContain('<audio id="player" controls preload="metadata" src="https://cdn.example/e/1/audio.m4a?a=1&amp;b=2">');
    expect(html).toMatch(/<label class="speed" id="speed-box" hidden>/);
    for (const r of ['0.75', '1', '1.25', '1.5', '1.75', '2']) expect(html).toContain(`<option value="${r}"`);
    for (const ext of ['vtt', 'srt', 'json', 'txt']) expect(html).toContain(`href="https://cdn.example/e/1/transcript.${ext}" download`);
    expect(html).toContain('href="https://cdn.example/e/1/audio.m4a?a=1&amp;b=2" download');
    expect(html).toContain('<style nonce="abc123XYZ_-+/=">');
    expect(html).toContain('<script nonce="abc123XYZ_-+/=">');
    expect(html).not.toMatch(/\son[a-z]+="/i); // no inline event handlers
    expect(html).not.toMatch(/\sstyle="/i); // no inline styles
    expect(() => new vm.Script(script(html))).not.toThrow(); // the script parses (compiled, not run)
  });

  it('has Open Graph and Twitter player card tags', () => {
    const tag = (attr: string, key: string) => new RegExp(`<meta ${attr}="${key}" content="([^"]*)">`).exec(html)?.[1];
    expect(tag('property', 'og:title')).toBe('Q&amp;A: &quot;&lt;b&gt;bold&lt;/b&gt;&quot; night');
    expect(tag('property', 'og:type')).toBe('website');
    expect(tag('property', 'og:url')).toBe('https://replay.example/e/q-and-a');
    expect(tag('property', 'og:image')).toBe('https://cdn.example/e/1/card.png');
    expect(tag('property', 'og:image:width')).toBe('1200');
    expect(tag('property', 'og:image:height')).toBe('630');
    expect(tag('property', 'og:audio')).toBe('https://cdn.example/e/1/audio.m4a?a=1&amp;b=2');
    expect(tag('property', 'og:audio:type')).toBe('audio/mp4');
    expect(tag('property', 'og:description')).toMatch(/^Hosted by Ada &lt;Lovelace&gt; · 2 January 2030 · 1 h 2 min\. Welcome, everyone\./);
    expect(tag('name', 'twitter:card')).toBe('player');
    expect(tag('name', 'twitter:player')).toBe('https://replay.example/e/q-and-a?embed=1');
    expect(tag('name', 'twitter:player:width')).toBe('480');
    expect(tag('name', 'twitter:player:stream')).toBe('https://cdn.example/e/1/audio.m4a?a=1&amp;b=2');
    expect(tag('name', 'twitter:image')).toBe('https://cdn.example/e/1/card.png');
    expect(html).toContain('<link rel="canonical" href="https://replay.example/e/q-and-a">');
  });

  it('plays the HLS stream while live and hides the unfinished audio download', () => {
    const live = renderReplayPage({ ...base, live: true, segments: [], gaps: [], nonce: undefined });
    expect(live).toContain('<source src="https://cdn.example/e/1/live.m3u8" type="application/vnd.apple.mpegurl">');
    expect(live).toContain('"live":true');
    expect(live).toContain('"hlsJs":"/assets/hls.min.js"');
    expect(live).not.toContain('audio.m4a?a=1&amp;b=2" download');
    expect(live).not.toContain('og:audio');
    expect(live).toContain('The transcript appears here');
    expect(live).toContain('<script>');
  });

  it('deep-links without JavaScript through a media fragment, and checks the nonce', () => {
    expect(renderReplayPage({ ...base, startAtSec: 75.9 })).toContain('audio.m4a?a=1&amp;b=2#t=75"');
    expect(() => renderReplayPage({ ...base, nonce: '"><script>' })).toThrow(/nonce/);
  });

  it('builds a matching Content-Security-Policy', () => {
    const csp = replayPageCsp('abc123XYZ_-+/=', { mediaOrigins: ['https://cdn.example/bucket/x'] });
    expect(csp).toContain(`script-src 'nonce-abc123XYZ_-+/=' 'self'`);
    expect(csp).toContain(`style-src 'nonce-abc123XYZ_-+/='`);
    expect(csp).toContain(`media-src 'self' blob: https://cdn.example`);
    expect(csp).not.toContain('unsafe-inline');
  });
});
