// The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces.
// Each published event is an item with its recording as the enclosure and its
// transcripts as <podcast:transcript> links (VTT first: it is the recommended
// format, marked rel="captions" because it is timed) and, when it has
// chapters, a <podcast:chapters> link to its JSON chapters, and its clips
// marked as soundbites as <podcast:soundbite>.
import { CHAPTERS_TYPE } from './chapters/chapters-format.ts';
import { escapeXml, rfc822, toDate } from './html.ts';

export const PODCAST_NS = 'https://podcastindex.org/namespace/1.0';
export const ITUNES_NS = 'http://www.itunes.com/dtds/podcast-1.0.dtd';

export interface FeedTranscripts {
  vtt?: string;
  srt?: string;
  json?: string;
  txt?: string;
  html?: string;
}

export interface FeedItem {
  guid: string;
  title: string;
  description: string;
  pubDate: Date | string | number;
  pageUrl: string;
  audio: { url: string; length: number; type: string };
  durationSec: number;
  imageUrl?: string;
  transcripts: FeedTranscripts;
  /** BCP 47 tag of the spoken language, e.g. `en`. */
  language: string;
  /** The item's JSON chapters (Podcasting 2.0), when it has any. */
  chaptersUrl?: string;
  /** Moments offered to podcast apps (`podcast:soundbite`): clips marked as soundbites. */
  soundbites?: { startSec: number; durationSec: number; title?: string }[];
}

/** The Podcasting 2.0 limit on a soundbite's title. */
const SOUNDBITE_TITLE_CHARS = 128;

export interface FeedInput {
  title: string;
  description: string;
  siteUrl: string;
  feedUrl: string;
  imageUrl: string;
  author: string;
  /** Channel language; defaults to the first item's, then `en`. */
  language?: string;
  items: FeedItem[];
}

/** The transcript formats in the order they are listed, with their MIME types. */
const TRANSCRIPT_TYPES: { key: keyof FeedTranscripts; type: string; rel?: 'captions' }[] = [
  { key: 'vtt', type: 'text/vtt', rel: 'captions' },
  { key: 'srt', type: 'application/x-subrip' },
  { key: 'json', type: 'application/json' },
  { key: 'html', type: 'text/html' },
  { key: 'txt', type: 'text/plain' },
];

function el(name: string, text: string | number, indent: string): string {
  return `${indent}<${name}>${escapeXml(text)}</${name}>`;
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
}

function renderItem(item: FeedItem): string {
  const i = '      ';
  const lines = [
    '    <item>',
    el('title', item.title, i),
    el('description', item.description, i),
    el('link', item.pageUrl, i),
    `${i}<guid isPermaLink="false">${escapeXml(item.guid)}</guid>`,
    el('pubDate', rfc822(item.pubDate), i),
    `${i}<enclosure${attrs({
      url: item.audio.url,
      length: Math.max(0, Math.round(item.audio.length)),
      type: item.audio.type,
    })}/>`,
    el('itunes:title', item.title, i),
    el('itunes:summary', item.description, i),
    el('itunes:duration', Math.max(0, Math.round(item.durationSec)), i),
    el('itunes:explicit', 'false', i),
    el('itunes:episodeType', 'full', i),
  ];
  if (item.imageUrl) lines.push(`${i}<itunes:image${attrs({ href: item.imageUrl })}/>`);
  for (const t of TRANSCRIPT_TYPES) {
    const url = item.transcripts[t.key];
    if (!url) continue;
    lines.push(`${i}<podcast:transcript${attrs({ url, type: t.type, language: item.language, rel: t.rel })}/>`);
  }
  if (item.chaptersUrl) lines.push(`${i}<podcast:chapters${attrs({ url: item.chaptersUrl, type: CHAPTERS_TYPE })}/>`);
  for (const b of item.soundbites ?? []) {
    const a = attrs({ startTime: b.startSec.toFixed(3), duration: b.durationSec.toFixed(3) });
    const title = b.title ? [...b.title].slice(0, SOUNDBITE_TITLE_CHARS).join('') : '';
    lines.push(title ? `${i}<podcast:soundbite${a}>${escapeXml(title)}</podcast:soundbite>` : `${i}<podcast:soundbite${a}/>`);
  }
  lines.push('    </item>');
  return lines.join('\n');
}

/**
 * Builds the feed document. Items are listed newest first; the output depends
 * only on the input (lastBuildDate is the newest item's date), so an unchanged
 * catalog gives a byte-identical feed and a stable ETag.
 */
export function buildFeed(feed: FeedInput): string {
  const items = [...feed.items].sort((a, b) => toDate(b.pubDate).getTime() - toDate(a.pubDate).getTime());
  const language = feed.language || items[0]?.language || 'en';
  const c = '    ';
  const channel = [
    el('title', feed.title, c),
    el('description', feed.description, c),
    el('link', feed.siteUrl, c),
    `${c}<atom:link${attrs({ href: feed.feedUrl, rel: 'self', type: 'application/rss+xml' })}/>`,
    el('language', language, c),
    el('generator', 'replay', c),
    ...(items.length ? [el('lastBuildDate', rfc822(items[0].pubDate), c)] : []),
    `${c}<image>`,
    el('url', feed.imageUrl, c + '  '),
    el('title', feed.title, c + '  '),
    el('link', feed.siteUrl, c + '  '),
    `${c}</image>`,
    el('itunes:author', feed.author, c),
    el('itunes:summary', feed.description, c),
    `${c}<itunes:image${attrs({ href: feed.imageUrl })}/>`,
    el('itunes:explicit', 'false', c),
    el('itunes:type', 'episodic', c),
    `${c}<itunes:owner>`,
    el('itunes:name', feed.author, c + '  '),
    `${c}</itunes:owner>`,
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<rss version="2.0" xmlns:itunes="${ITUNES_NS}" xmlns:podcast="${PODCAST_NS}" xmlns:atom="http://www.w3.org/2005/Atom">`,
    '  <channel>',
    ...channel,
    ...items.map(renderItem),
    '  </channel>',
    '</rss>',
    '',
  ].join('\n');
}
