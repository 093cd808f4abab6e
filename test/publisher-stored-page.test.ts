// The page as stored beside the media: its <meta> policy allows exactly the
// page's own script and stylesheet by hash (a page in a bucket has no nonce),
// the live page names what it polls, and oEmbed escapes what people wrote.
import crypto from 'node:crypto';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { oembedFor } from '../publisher/oembed.ts';
import { renderReplayPage, storedPageCsp, type ReplayPageInput } from '../publisher/page.ts';

const HOSTILE = `</script><script>alert(1)</script> & "x" <!--`;
const input: ReplayPageInput = {
  event: { title: HOSTILE, host: HOSTILE, startedAt: '2030-01-02T03:04:05Z', durationSec: 60, slug: 's' },
  urls: {
    page: 'https://cdn.example/bucket/events/ev_1/index.html',
    audio: 'https://cdn.example/bucket/events/ev_1/audio.m4a',
    hls: 'https://cdn.example/bucket/events/ev_1/hls/index.m3u8',
    card: 'https://cdn.example/bucket/events/ev_1/card.png',
    liveTranscript: 'https://cdn.example/bucket/events/ev_1/transcript/transcript.json',
    state: 'https://cdn.example/bucket/events/ev_1/state.json',
    oembed: 'https://cdn.example/bucket/events/ev_1/oembed.json',
  },
  segments: [{ startSec: 0, endSec: 2, text: HOSTILE, speaker: HOSTILE }],
  hlsJsUrl: 'https://cdn.example/bucket/assets/hls-0123456789abcdef.min.js',
};
const csp = storedPageCsp({ mediaOrigins: [input.urls.audio], scriptUrls: [input.hlsJsUrl!] });
const sha = (s: string) => `'sha256-${crypto.createHash('sha256').update(s, 'utf8').digest('base64')}'`;

describe('the stored page', () => {
  const html = renderReplayPage({ ...input, metaCsp: csp });

  it('carries a policy that allows its own script and stylesheet by hash, and nothing inline else', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1].replace(/&#39;/g, "'");
    expect(meta).toBe(csp);
    const code = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(csp).toContain(`script-src ${sha(code)} 'self' https://cdn.example/bucket/assets/hls-0123456789abcdef.min.js;`);
    expect(csp).toContain(`style-src ${sha(style)};`);
    expect(csp).toContain("media-src 'self' blob: https://cdn.example;");
    expect(csp).not.toContain('unsafe-inline');
    expect(html).not.toMatch(/ nonce="/);
    expect(() => new vm.Script(code)).not.toThrow();
    // the meta comes before anything it governs
    expect(html.indexOf('http-equiv="Content-Security-Policy"')).toBeLessThan(html.indexOf('<style>'));
  });

  it('escapes what people wrote, in the markup and in the JSON the script reads', () => {
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<!--');
    const config = JSON.parse(/<script type="application\/json" id="replay-config">([^<]*)<\/script>/.exec(html)![1]);
    expect(config.page).toBe(input.urls.page);
  });

  it('names what a live page polls, and a replay polls nothing', () => {
    const cfg = (h: string) => JSON.parse(/<script type="application\/json" id="replay-config">([^<]*)<\/script>/.exec(h)![1]);
    const live = cfg(renderReplayPage({ ...input, live: true, metaCsp: csp }));
    expect(live).toMatchObject({ live: true, transcript: input.urls.liveTranscript, state: input.urls.state, hls: input.urls.hls, hlsJs: input.hlsJsUrl });
    expect(cfg(html)).toMatchObject({ live: false, transcript: null, state: null, hls: null });
    expect(html).toContain('<link rel="alternate" type="application/json+oembed"');
  });
});

describe('oEmbed', () => {
  it('is a rich embed of the player, everything people wrote escaped inside its html', () => {
    const o = oembedFor({
      title: HOSTILE,
      host: HOSTILE,
      pageUrl: 'https://cdn.example/p/index.html?a="b"',
      cardUrl: 'https://cdn.example/c.png',
      siteName: 'Replay',
      siteUrl: 'https://replay.example',
    });
    expect(o).toMatchObject({
      version: '1.0',
      type: 'rich',
      title: HOSTILE,
      author_name: HOSTILE,
      width: 480,
      height: 180,
      thumbnail_url: 'https://cdn.example/c.png',
    });
    expect(o.html).toContain('src="https://cdn.example/p/index.html?a=%22b%22&amp;embed=1"');
    expect(o.html).toContain('title="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &lt;!--"');
    expect(String(o.html).match(/</g)).toHaveLength(2); // <iframe ...></iframe> and nothing else
  });
});
