import { describe, expect, it } from 'vitest';
import { parseFeed } from 'podcast-partytime';
import { buildFeed, type FeedItem } from '../publisher/feed.ts';

const hostile = `Q&A <live> "quoted" it's <script>alert(1)</script>`;

function item(over: Partial<FeedItem> = {}): FeedItem {
  return {
    guid: 'ev_abc123',
    title: hostile,
    description: 'Talk & <b>chat</b>',
    pubDate: '2030-01-02T03:04:05Z',
    pageUrl: 'https://replay.example/e/q-and-a?x=1&y=2',
    audio: { url: 'https://cdn.example/e/ev_abc123/audio.m4a?sig=a&b=c', length: 12_345_678, type: 'audio/mp4' },
    durationSec: 3725.4,
    imageUrl: 'https://cdn.example/e/ev_abc123/artwork.jpg',
    transcripts: {
      vtt: 'https://cdn.example/e/ev_abc123/transcript.vtt',
      srt: 'https://cdn.example/e/ev_abc123/transcript.srt',
      json: 'https://cdn.example/e/ev_abc123/transcript.json',
    },
    language: 'en',
    ...over,
  };
}

describe('buildFeed', () => {
  const xml = buildFeed({
    title: `Replays <&"'>`,
    description: 'All the conversations',
    siteUrl: 'https://replay.example/',
    feedUrl: 'https://replay.example/feed.xml',
    imageUrl: 'https://replay.example/artwork.jpg',
    author: 'Replay & Co',
    items: [
      item(),
      item({ guid: 'ev_older', title: 'Older', pubDate: new Date('2029-12-31T00:00:00Z'), transcripts: { vtt: 'https://cdn.example/o.vtt' }, language: 'de' }),
    ],
  });

  it('declares the namespaces and escapes everything', () => {
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(xml).toContain('xmlns:podcast="https://podcastindex.org/namespace/1.0"');
    expect(xml).toContain('xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"');
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('<title>Replays &lt;&amp;&quot;&apos;&gt;</title>');
    expect(xml).toContain('<guid isPermaLink="false">ev_abc123</guid>');
    expect(xml).toContain('<pubDate>Wed, 02 Jan 2030 03:04:05 GMT</pubDate>');
  });

  it('parses with a podcast feed parser into the same values', () => {
    const feed = parseFeed(xml);
    expect(feed).not.toBeNull();
    expect(feed!.title).toBe(`Replays <&"'>`);
    expect(feed!.language).toBe('en');
    expect(feed!.items).toHaveLength(2);
    const [ep, older] = feed!.items;
    expect(ep.title).toBe(hostile);
    expect(ep.guid).toBe('ev_abc123');
    expect(ep.enclosure).toEqual({
      url: 'https://cdn.example/e/ev_abc123/audio.m4a?sig=a&b=c',
      length: 12_345_678,
      type: 'audio/mp4',
    });
    expect(ep.duration).toBe(3725);
    expect(ep.pubDate?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
    expect(ep.link).toBe('https://replay.example/e/q-and-a?x=1&y=2');
    expect(ep.itunesImage ?? ep.image).toBe('https://cdn.example/e/ev_abc123/artwork.jpg');
    expect(ep.podcastTranscripts).toEqual([
      { url: 'https://cdn.example/e/ev_abc123/transcript.vtt', type: 'text/vtt', language: 'en', rel: 'captions' },
      { url: 'https://cdn.example/e/ev_abc123/transcript.srt', type: 'application/srt', language: 'en' },
      { url: 'https://cdn.example/e/ev_abc123/transcript.json', type: 'application/json', language: 'en' },
    ]);
    expect(older.guid).toBe('ev_older');
    expect(older.podcastTranscripts).toEqual([{ url: 'https://cdn.example/o.vtt', type: 'text/vtt', language: 'de', rel: 'captions' }]);
    expect(xml).toContain('type="application/x-subrip"');
  });

  it('lists items newest first and is deterministic', () => {
    expect(xml.indexOf('ev_abc123')).toBeLessThan(xml.indexOf('ev_older'));
    const again = buildFeed({
      title: `Replays <&"'>`,
      description: 'All the conversations',
      siteUrl: 'https://replay.example/',
      feedUrl: 'https://replay.example/feed.xml',
      imageUrl: 'https://replay.example/artwork.jpg',
      author: 'Replay & Co',
      items: [
        item({
          guid: 'ev_older',
          title: 'Older',
          pubDate: new Date('2029-12-31T00:00:00Z'),
          transcripts: { vtt: 'https://cdn.example/o.vtt' },
          language: 'de',
        }),
        item(),
      ],
    });
    expect(again).toBe(xml);
  });

  it('rejects an invalid date rather than writing one', () => {
    expect(() =>
      buildFeed({ title: 't', description: 'd', siteUrl: 's', feedUrl: 'f', imageUrl: 'i', author: 'a', items: [item({ pubDate: 'nope' })] }),
    ).toThrow(/invalid date/);
  });
});
