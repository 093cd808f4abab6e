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
  /** Where the embed player starts, and (a clip or a quote) stops. */
  startSec?: number;
  endSec?: number;
  /** The consumer's bounds (oEmbed maxwidth/maxheight): the iframe fits in them. */
  maxWidth?: number;
  maxHeight?: number;
}

/** The embed player's address: the page with `embed=1`, and `t`/`end` for a moment or a span. */
function playerUrl(o: OembedInput): string {
  const u = new URL(withEmbed(o.pageUrl));
  if (o.startSec !== undefined && o.startSec > 0) u.searchParams.set('t', String(o.startSec));
  if (o.endSec !== undefined) u.searchParams.set('end', String(o.endSec));
  return u.toString();
}

export function oembedFor(o: OembedInput): Record<string, string | number> {
  const src = playerUrl(o);
  const width = Math.min(EMBED_WIDTH, o.maxWidth ?? EMBED_WIDTH);
  const height = Math.min(EMBED_HEIGHT, o.maxHeight ?? EMBED_HEIGHT);
  return {
    version: '1.0',
    type: 'rich',
    title: o.title,
    ...(o.host ? { author_name: o.host } : {}),
    provider_name: o.siteName,
    provider_url: o.siteUrl,
    cache_age: 60,
    width,
    height,
    html: `<iframe src="${escapeHtml(src)}" width="${width}" height="${height}" title="${escapeHtml(o.title)}" allow="autoplay" loading="lazy" style="border:0"></iframe>`,
    thumbnail_url: o.cardUrl,
    thumbnail_width: 1200,
    thumbnail_height: 630,
  };
}
