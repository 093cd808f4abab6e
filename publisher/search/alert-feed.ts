// An alert's RSS feed: each match an item (what was said, in which event,
// linking to the replay page at that second), newest first. Its URL holds
// an unguessable token, so a feed reader can follow it without the API token.
import { clock, escapeXml, rfc822 } from '../html.ts';

export interface AlertFeedItem {
  id: string;
  eventTitle: string;
  host: string | null;
  startSec: number;
  text: string;
  url: string;
  matchedAt: string;
}

export interface AlertFeedInput {
  query: string;
  feedUrl: string;
  siteUrl: string;
  items: AlertFeedItem[];
}

function item(i: AlertFeedItem, query: string): string {
  const who = i.host ? ` (${i.host})` : '';
  return `    <item>
      <title>${escapeXml(`“${query}” at ${clock(i.startSec)} in ${i.eventTitle}${who}`)}</title>
      <link>${escapeXml(i.url)}</link>
      <guid isPermaLink="false">${escapeXml(i.id)}</guid>
      <pubDate>${rfc822(i.matchedAt)}</pubDate>
      <description>${escapeXml(i.text)}</description>
    </item>`;
}

export function buildAlertFeed(f: AlertFeedInput): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>${escapeXml(`Replay alert: ${f.query}`)}</title>
    <link>${escapeXml(f.siteUrl)}</link>
    <description>${escapeXml(`Every time “${f.query}” is said in a live or published conversation.`)}</description>
    <atom:link href="${escapeXml(f.feedUrl)}" rel="self" type="application/rss+xml"/>
    <lastBuildDate>${rfc822(f.items[0]?.matchedAt ?? new Date())}</lastBuildDate>
${f.items.map((i) => item(i, f.query)).join('\n')}
  </channel>
</rss>
`;
}
