// oEmbed for a replay page (https://oembed.com): type "rich", the embed
// player in an iframe, as audio providers answer (SoundCloud, Spotify). It is
// a stored object beside the page, announced by the page's
// <link rel="alternate" type="application/json+oembed">, so consumers need no
// app to ask. Every value from people is escaped inside `html`.
import { escapeHtml } from './html.ts';
import { withEmbed } from './page.ts';

export const EMBED_WIDTH = 480;
export const EMBED_HEIGHT = 180;

export interface OembedInput {
  title: string;
  host?: string;
  pageUrl: string;
  cardUrl: string;
  siteName: string;
  siteUrl: string;
}

export function oembedFor(o: OembedInput): Record<string, string | number> {
  const src = withEmbed(o.pageUrl);
  return {
    version: '1.0',
    type: 'rich',
    title: o.title,
    ...(o.host ? { author_name: o.host } : {}),
    provider_name: o.siteName,
    provider_url: o.siteUrl,
    cache_age: 60,
    width: EMBED_WIDTH,
    height: EMBED_HEIGHT,
    html: `<iframe src="${escapeHtml(src)}" width="${EMBED_WIDTH}" height="${EMBED_HEIGHT}" title="${escapeHtml(o.title)}" allow="autoplay" loading="lazy" style="border:0"></iframe>`,
    thumbnail_url: o.cardUrl,
    thumbnail_width: 1200,
    thumbnail_height: 630,
  };
}
