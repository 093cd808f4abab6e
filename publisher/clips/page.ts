// A clip's page (`/c/:id`), rendered by the app per request: the clip's
// player, the transcript of its span as it stands, a link to the full
// recording at the clip's first second, and its own link preview (its card,
// its audio). Every string that came from a person or from speech
// recognition is escaped; inline styling is allowed by the request's nonce
// only, and there is no script. A clip still being cut shows so and reloads.
import { clock, escapeHtml, truncate } from '../html.ts';
import type { ReplaySegment } from '../page.ts';
import { quoteSpan } from '../images.ts';
import { EMBED_HEIGHT, EMBED_WIDTH } from '../oembed.ts';
import { STYLE } from '../page-style.ts';
import type { ClipJson } from './clip-json.ts';

export interface ClipPageInput {
  clip: ClipJson;
  host: string | null;
  /** The event's transcript lines that overlap the clip's span. */
  lines: ReplaySegment[];
  siteName: string;
  nonce: string;
}

const meta = (attr: 'property' | 'name', key: string, value: string | number | undefined | null) =>
  value === undefined || value === null ? '' : `<meta ${attr}="${escapeHtml(key)}" content="${escapeHtml(value)}">`;

/** The transcript lines that overlap [startSec, endSec). */
export function linesOfSpan(segments: ReplaySegment[], startSec: number, endSec: number): ReplaySegment[] {
  return segments.filter((s) => s.endSec > startSec && s.startSec < endSec);
}

function headTags(p: ClipPageInput, title: string, description: string): string[] {
  const { clip } = p;
  const audio = clip.urls.audio;
  return [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="strict-origin-when-cross-origin">',
    '<meta name="color-scheme" content="light dark">',
    clip.status === 'pending' ? '<meta http-equiv="refresh" content="3">' : '',
    `<title>${escapeHtml(title)}</title>`,
    meta('name', 'description', description),
    `<link rel="canonical" href="${escapeHtml(clip.urls.page)}">`,
    `<link rel="alternate" type="application/json+oembed" title="${escapeHtml(title)}" href="${escapeHtml(clip.urls.oembed)}">`,
    meta('property', 'og:site_name', p.siteName),
    meta('property', 'og:type', 'website'),
    meta('property', 'og:title', title),
    meta('property', 'og:description', description),
    meta('property', 'og:url', clip.urls.page),
    ...(clip.urls.card
      ? [
          meta('property', 'og:image', clip.urls.card),
          meta('property', 'og:image:type', 'image/png'),
          meta('property', 'og:image:width', 1200),
          meta('property', 'og:image:height', 630),
        ]
      : []),
    ...(audio
      ? [
          meta('property', 'og:audio', audio),
          meta('property', 'og:audio:secure_url', /^https:/i.test(audio) ? audio : undefined),
          meta('property', 'og:audio:type', 'audio/mp4'),
        ]
      : []),
    // The replay page's player card: the embed player, here playing the clip's span.
    meta('name', 'twitter:card', 'player'),
    meta('name', 'twitter:title', title),
    meta('name', 'twitter:description', description),
    meta('name', 'twitter:image', clip.urls.card),
    meta('name', 'twitter:player', clip.urls.player),
    meta('name', 'twitter:player:width', EMBED_WIDTH),
    meta('name', 'twitter:player:height', EMBED_HEIGHT),
    ...(audio ? [meta('name', 'twitter:player:stream', audio), meta('name', 'twitter:player:stream:content_type', 'audio/mp4')] : []),
    `<style nonce="${escapeHtml(p.nonce)}">${STYLE}</style>`,
  ].filter(Boolean);
}

function player(clip: ClipJson): string {
  if (clip.status === 'ready' && clip.urls.audio) {
    return `<audio controls preload="metadata" src="${escapeHtml(clip.urls.audio)}"></audio>
<p class="facts"><a href="${escapeHtml(clip.urls.audio)}" download>Download the clip (M4A)</a></p>`;
  }
  if (clip.status === 'failed') return `<p class="facts">This clip could not be made: ${escapeHtml(clip.reason ?? 'unknown reason')}</p>`;
  return '<p class="facts">This clip is being cut; the page reloads when it is ready.</p>';
}

function transcript(lines: ReplaySegment[]): string {
  if (!lines.length) return '<p class="facts">No transcript for this span yet.</p>';
  const items = lines.map(
    (l) =>
      `<li><span class="t">${escapeHtml(clock(l.startSec))}</span><span>${l.speaker ? `<b>${escapeHtml(l.speaker)}:</b> ` : ''}${escapeHtml(l.text)}</span></li>`,
  );
  return `<ol class="transcript">\n${items.join('\n')}\n</ol>`;
}

export function renderClipPage(p: ClipPageInput): string {
  const { clip } = p;
  const span = quoteSpan(clip.startSec, clip.endSec);
  const title = clip.title ? `${clip.title} — ${clip.eventTitle}` : `${clip.eventTitle} (${span})`;
  const said = p.lines.map((l) => l.text).join(' ');
  const description = truncate(said || `A ${Math.round(clip.durationSec)} s clip of ${clip.eventTitle}`, 200);
  const facts = [p.host, clip.eventTitle, span]
    .filter(Boolean)
    .map((f) => escapeHtml(f))
    .join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
${headTags(p, title, description).join('\n')}
</head>
<body>
<div class="wrap">
<header class="top">
<p class="site">${escapeHtml(p.siteName)}</p>
<h1>${escapeHtml(clip.title ?? clip.eventTitle)}</h1>
<p class="facts">${facts}</p>
</header>
<main>
${player(clip)}
<p><a href="${escapeHtml(clip.urls.recording)}">Listen to the full recording from ${escapeHtml(clock(clip.startSec))}</a></p>
<h2>Transcript</h2>
${transcript(p.lines)}
</main>
</div>
</body>
</html>
`;
}
