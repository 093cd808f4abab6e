// The images a published event gets: a 1200x630 social card (Open Graph,
// Twitter) as PNG and a 3000x3000 podcast artwork as RGB JPEG (within the
// podcast apps' limits: square, 1400 to 3000 px, JPEG or PNG, RGB). Both are
// drawn as SVG and rasterized by sharp: the card shows title, host, date,
// duration and waveform; the artwork, a cover drawn when the event starts,
// title, host and date.
// A quote card (1200x630 PNG) shows a quoted passage for a `?t=&end=` link.
import sharp from 'sharp';
import { clock, escapeXml, hms, toDate } from './html.ts';

/**
 * Waveform peaks as min/max pairs: floats in -1..1, or integer samples as
 * audiowaveform writes them (8-bit -128..127, 16-bit -32768..32767). The
 * audiowaveform JSON object (`{bits, data}`) can be passed as it is.
 */
export type Peaks = ArrayLike<number> | { data: ArrayLike<number>; bits?: number };

export interface ImageOptions {
  title: string;
  host?: string;
  date?: Date | string | number;
  durationSec?: number;
  peaks?: Peaks;
  /** Small label above the title, e.g. the site's name. Default "Replay". */
  label?: string;
}

export interface Palette {
  background: [string, string];
  accent: string;
  text: string;
  muted: string;
}

const PALETTE: Palette = {
  background: ['#0f172a', '#1e293b'],
  accent: '#38bdf8',
  text: '#f8fafc',
  muted: '#94a3b8',
};

const FONT = `'DejaVu Sans', 'Liberation Sans', Arial, sans-serif`;

// ---- waveform

/** The raw values and what full scale is for them (read off the values when the peaks do not say). */
function peakValues(peaks: Peaks): { data: ArrayLike<number>; scale: number } {
  let data: ArrayLike<number>;
  let scale: number;
  if ('data' in (peaks as object) && !ArrayBuffer.isView(peaks) && !Array.isArray(peaks)) {
    const p = peaks as { data: ArrayLike<number>; bits?: number };
    data = p.data;
    scale = p.bits ? 2 ** (p.bits - 1) : 0;
  } else {
    data = peaks as ArrayLike<number>;
    scale = peaks instanceof Int8Array ? 128 : peaks instanceof Int16Array ? 32768 : 0;
  }
  if (!scale) {
    let maxAbs = 0;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) maxAbs = Math.max(maxAbs, Math.abs(data[i]));
    scale = maxAbs <= 1 ? 1 : maxAbs <= 128 ? 128 : 32768;
  }
  return { data, scale };
}

/** Peaks scaled to -1..1 min/max pairs. */
export function normalizePeaks(peaks: Peaks | undefined): number[] {
  if (!peaks) return [];
  const { data, scale } = peakValues(peaks);
  return Array.from(data, (v) => (Number.isFinite(v) ? Math.max(-1, Math.min(1, Number(v) / scale)) : 0));
}

/**
 * `bars` amplitudes in 0..1 (loudest bar = 1), from min/max pairs. One pass
 * over the raw values, nothing copied: a 10-hour event's waveform has 1.4
 * million of them, and the card and artwork are drawn at its end.
 */
export function barHeights(peaks: Peaks | undefined, bars: number): number[] {
  if (!peaks) return [];
  const { data, scale } = peakValues(peaks);
  const pairs = Math.floor(data.length / 2);
  if (pairs === 0 || bars <= 0) return [];
  const out: number[] = [];
  for (let b = 0; b < bars; b++) {
    const from = Math.floor((b * pairs) / bars);
    const to = Math.min(pairs, Math.max(from + 1, Math.floor(((b + 1) * pairs) / bars)));
    let amp = 0;
    for (let i = 2 * from; i < 2 * to; i++) {
      const v = data[i];
      if (Number.isFinite(v)) amp = Math.max(amp, Math.min(1, Math.abs(v) / scale));
    }
    out.push(amp);
  }
  const loudest = Math.max(...out);
  return loudest > 0 ? out.map((a) => a / loudest) : out;
}

function waveformSvg(peaks: Peaks | undefined, x: number, y: number, width: number, height: number, barWidth: number, gap: number, color: string): string {
  const bars = Math.floor((width + gap) / (barWidth + gap));
  const heights = barHeights(peaks, bars);
  const mid = y + height / 2;
  const minH = Math.max(2, barWidth / 2);
  if (heights.length === 0) {
    // no peaks (yet): a quiet flat line rather than an empty band
    return `<rect x="${x}" y="${mid - minH / 2}" width="${width}" height="${minH}" rx="${minH / 2}" fill="${color}" opacity="0.5"/>`;
  }
  const r = barWidth / 2;
  const parts = heights.map((a, i) => {
    const h = Math.max(minH, a * height);
    return `<rect x="${(x + i * (barWidth + gap)).toFixed(1)}" y="${(mid - h / 2).toFixed(1)}" width="${barWidth}" height="${h.toFixed(1)}" rx="${r}"/>`;
  });
  return `<g fill="${color}">${parts.join('')}</g>`;
}

// ---- text layout (estimated widths: librsvg gives no measurement back)

// Advance widths (em) of DejaVu Sans Bold for ASCII 32..126, measured with
// pango here; the regular weight is narrower everywhere, so one table serves both.
const ASCII_EM = [
  0.35, 0.46, 0.52, 0.84, 0.7, 1.0, 0.87, 0.31, 0.46, 0.46, 0.52, 0.84, 0.38, 0.42, 0.38, 0.37, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.4, 0.4,
  0.84, 0.84, 0.84, 0.58, 1.0, 0.77, 0.76, 0.73, 0.83, 0.68, 0.68, 0.82, 0.84, 0.37, 0.37, 0.77, 0.64, 1.0, 0.84, 0.85, 0.73, 0.85, 0.77, 0.69, 0.71, 0.81,
  0.77, 1.1, 0.77, 0.72, 0.73, 0.46, 0.37, 0.46, 0.84, 0.5, 0.5, 0.67, 0.72, 0.59, 0.72, 0.68, 0.41, 0.72, 0.71, 0.34, 0.34, 0.67, 0.34, 1.04, 0.71, 0.69, 0.72,
  0.72, 0.49, 0.6, 0.48, 0.71, 0.65, 0.92, 0.65, 0.65, 0.58, 0.71, 0.37, 0.71, 0.84,
];

function charWidth(ch: string): number {
  const c = ch.codePointAt(0)!;
  if (c >= 32 && c < 127) return ASCII_EM[c - 32];
  if (c >= 0x2e80) return 1.0; // CJK, emoji and other wide glyphs
  return 0.78; // accented Latin, Greek, Cyrillic: about a capital's width
}

function textWidth(s: string, fontSize: number): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w * fontSize * 1.03; // a little room for hinting and fallback fonts
}

function breakLongWord(word: string, maxWidth: number, fontSize: number): string[] {
  const parts: string[] = [];
  let cur = '';
  for (const ch of word) {
    if (cur && textWidth(cur + ch, fontSize) > maxWidth) {
      parts.push(cur);
      cur = '';
    }
    cur += ch;
  }
  if (cur) parts.push(cur);
  return parts;
}

/** Greedy word wrap; `truncated` when the text did not fit in maxLines. */
export function wrapText(text: string, maxWidth: number, fontSize: number, maxLines: number): { lines: string[]; truncated: boolean } {
  const words = text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => (textWidth(w, fontSize) > maxWidth ? breakLongWord(w, maxWidth, fontSize) : [w]));
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && textWidth(next, fontSize) > maxWidth) {
      lines.push(cur);
      cur = w;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  if (lines.length <= maxLines) return { lines, truncated: false };
  const kept = lines.slice(0, maxLines);
  let last = kept[maxLines - 1];
  while (last && textWidth(last + '…', fontSize) > maxWidth) last = [...last].slice(0, -1).join('');
  kept[maxLines - 1] = last.replace(/[\s.,;:!?-]+$/, '') + '…';
  return { lines: kept, truncated: true };
}

/** The largest font size from `sizes` at which the title fits; the smallest (truncated) otherwise. */
function fitTitle(title: string, maxWidth: number, sizes: number[], maxLines: number): { size: number; lines: string[] } {
  for (const size of sizes) {
    const w = wrapText(title, maxWidth, size, maxLines);
    if (!w.truncated) return { size, lines: w.lines };
  }
  const size = sizes[sizes.length - 1];
  return { size, lines: wrapText(title, maxWidth, size, maxLines).lines };
}

function textLines(lines: string[], x: number, y: number, size: number, lineHeight: number, attrs: string): string {
  return lines.map((l, i) => `<text x="${x}" y="${(y + i * size * lineHeight).toFixed(1)}" font-size="${size}" ${attrs}>${escapeXml(l)}</text>`).join('\n');
}

// Made once: building an Intl.DateTimeFormat loads locale data.
const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

function metaLine(o: ImageOptions): string {
  const parts: string[] = [];
  if (o.host?.trim()) parts.push(o.host.trim());
  if (o.date !== undefined) {
    try {
      parts.push(DATE_FORMAT.format(toDate(o.date)));
    } catch {
      // an invalid date is left out rather than failing the image
    }
  }
  if (o.durationSec !== undefined && o.durationSec > 0) parts.push(hms(o.durationSec));
  return parts.join('  ·  ');
}

interface Layout {
  width: number;
  height: number;
  pad: number;
  labelSize: number;
  titleSizes: number[];
  titleLines: number;
  titleTop: number;
  metaSize: number;
  wave: { y: number; height: number; bar: number; gap: number };
}

function buildSvg(o: ImageOptions, L: Layout, p: Palette = PALETTE): string {
  const title = (o.title ?? '').replace(/\s+/g, ' ').trim() || 'Untitled';
  const inner = L.width - 2 * L.pad;
  const fitted = fitTitle(title, inner, L.titleSizes, L.titleLines);
  const label = (o.label ?? 'Replay').trim();
  const meta = wrapText(metaLine(o), inner, L.metaSize, 1).lines[0] ?? '';
  const titleY = L.titleTop + fitted.size;
  const metaY = titleY + (fitted.lines.length - 1) * fitted.size * 1.18 + L.metaSize * 2.1;
  const dot = L.labelSize * 0.42;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${p.background[0]}"/><stop offset="1" stop-color="${p.background[1]}"/></linearGradient></defs>
<rect width="100%" height="100%" fill="url(#bg)"/>
<circle cx="${L.pad + dot}" cy="${L.pad + L.labelSize * 0.62}" r="${dot}" fill="${p.accent}"/>
<text x="${L.pad + dot * 3}" y="${L.pad + L.labelSize}" font-size="${L.labelSize}" font-family="${FONT}" font-weight="bold" letter-spacing="${(L.labelSize * 0.12).toFixed(1)}" fill="${p.accent}">${escapeXml(wrapText(label.toUpperCase(), inner * 0.8, L.labelSize, 1).lines[0] ?? '')}</text>
${textLines(fitted.lines, L.pad, titleY, fitted.size, 1.18, `font-family="${FONT}" font-weight="bold" fill="${p.text}"`)}
${meta ? `<text x="${L.pad}" y="${metaY.toFixed(1)}" font-size="${L.metaSize}" font-family="${FONT}" fill="${p.muted}">${escapeXml(meta)}</text>` : ''}
${waveformSvg(o.peaks, L.pad, L.wave.y, inner, L.wave.height, L.wave.bar, L.wave.gap, p.accent)}
</svg>`;
}

const CARD: Layout = {
  width: 1200,
  height: 630,
  pad: 72,
  labelSize: 26,
  titleSizes: [64, 56, 48, 42],
  titleLines: 3,
  titleTop: 132,
  metaSize: 28,
  wave: { y: 440, height: 120, bar: 6, gap: 4 },
};

const ARTWORK: Layout = {
  width: 3000,
  height: 3000,
  pad: 220,
  labelSize: 90,
  titleSizes: [230, 200, 170, 150, 130],
  titleLines: 5,
  titleTop: 520,
  metaSize: 96,
  wave: { y: 2150, height: 560, bar: 22, gap: 14 },
};

/** The social card's SVG source (1200x630). */
export function socialCardSvg(o: ImageOptions): string {
  return buildSvg(o, CARD);
}

/** What the artwork shows: the event as a cover, without its length or waveform (known only at its end). */
export type CoverOptions = Pick<ImageOptions, 'title' | 'host' | 'date' | 'label'>;

/** The artwork's SVG source (3000x3000). */
export function artworkSvg(o: CoverOptions): string {
  return buildSvg(o, ARTWORK);
}

/** 1200x630 PNG, RGB, for og:image and twitter:image. */
export async function renderSocialCard(o: ImageOptions): Promise<Buffer> {
  return sharp(Buffer.from(socialCardSvg(o)))
    .flatten({ background: PALETTE.background[0] })
    .toColourspace('srgb')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** 3000x3000 JPEG, RGB (sRGB, no alpha), for itunes:image. */
export async function renderArtwork(o: CoverOptions): Promise<Buffer> {
  return sharp(Buffer.from(artworkSvg(o)))
    .flatten({ background: PALETTE.background[0] })
    .toColourspace('srgb')
    .jpeg({ quality: 86 })
    .toBuffer();
}

// ---- quote card: a passage of the transcript, for links to `?t=START&end=END`

export interface QuoteCardOptions {
  quote: string;
  title: string;
  host?: string;
  startSec: number;
  endSec: number;
  palette?: Partial<Palette>;
  /** Small label at the top, e.g. the site's name. Default "Replay". */
  label?: string;
}

const QUOTE_CARD = {
  width: 1200,
  height: 630,
  pad: 72,
  labelSize: 24,
  markSize: 170,
  indent: 92,
  quoteSizes: [56, 50, 44, 38],
  quoteLines: 4,
  quoteLineHeight: 1.22,
  /** The band the quote is centred in, between the label and the footer rule. */
  band: { top: 120, bottom: 470 },
  ruleY: 492,
  hostSize: 30,
  titleSize: 26,
};

/** `12:34–12:51` (just the start when the span is empty or backwards). */
export function quoteSpan(startSec: number, endSec: number): string {
  return Number.isFinite(endSec) && endSec > startSec ? `${clock(startSec)}–${clock(endSec)}` : clock(startSec);
}

function oneLine(text: string, maxWidth: number, size: number): string {
  return wrapText(text, maxWidth, size, 1).lines[0] ?? '';
}

function quoteBlock(quote: string, p: Palette): string {
  const L = QUOTE_CARD;
  const inner = L.width - 2 * L.pad - L.indent;
  const fitted = fitTitle(quote, inner, L.quoteSizes, L.quoteLines);
  const step = fitted.size * L.quoteLineHeight;
  const blockHeight = fitted.size + (fitted.lines.length - 1) * step;
  const top = L.band.top + Math.max(0, (L.band.bottom - L.band.top - blockHeight) / 2);
  const mark = `<text x="${L.pad - 8}" y="${(top + L.markSize * 0.62).toFixed(1)}" font-size="${L.markSize}" font-family="${FONT}" font-weight="bold" fill="${p.accent}">“</text>`;
  return `${mark}\n${textLines(fitted.lines, L.pad + L.indent, top + fitted.size * 0.9, fitted.size, L.quoteLineHeight, `font-family="${FONT}" font-weight="bold" fill="${p.text}"`)}`;
}

function quoteFooter(o: QuoteCardOptions, p: Palette): string {
  const L = QUOTE_CARD;
  const inner = L.width - 2 * L.pad;
  const span = quoteSpan(o.startSec, o.endSec);
  const spanWidth = span.length * L.hostSize * 0.72;
  const host = oneLine(o.host?.replace(/\s+/g, ' ').trim() ?? '', inner - spanWidth - 32, L.hostSize);
  const title = oneLine((o.title ?? '').replace(/\s+/g, ' ').trim() || 'Untitled', inner, L.titleSize);
  const hostY = L.ruleY + 50;
  const titleY = host ? hostY + 42 : hostY;
  return [
    `<rect x="${L.pad}" y="${L.ruleY}" width="${inner}" height="2" fill="${p.muted}" opacity="0.4"/>`,
    host ? `<text x="${L.pad}" y="${hostY}" font-size="${L.hostSize}" font-family="${FONT}" font-weight="bold" fill="${p.text}">${escapeXml(host)}</text>` : '',
    `<text x="${L.pad}" y="${titleY}" font-size="${L.titleSize}" font-family="${FONT}" fill="${p.muted}">${escapeXml(title)}</text>`,
    `<text x="${L.width - L.pad}" y="${hostY}" font-size="${L.hostSize}" font-family="${FONT}" font-weight="bold" text-anchor="end" fill="${p.accent}">${escapeXml(span)}</text>`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The quote card's SVG source (1200x630): the quote in large type, then host, title and time span. */
export function quoteCardSvg(o: QuoteCardOptions): string {
  const L = QUOTE_CARD;
  const p = escapedPalette({ ...PALETTE, ...o.palette });
  const quote = (o.quote ?? '').replace(/\s+/g, ' ').trim() || '…';
  const label = oneLine((o.label ?? 'Replay').trim().toUpperCase(), (L.width - 2 * L.pad) * 0.8, L.labelSize);
  const dot = L.labelSize * 0.42;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${p.background[0]}"/><stop offset="1" stop-color="${p.background[1]}"/></linearGradient></defs>
<rect width="100%" height="100%" fill="url(#bg)"/>
<circle cx="${L.pad + dot}" cy="${L.pad + L.labelSize * 0.62}" r="${dot}" fill="${p.accent}"/>
<text x="${L.pad + dot * 3}" y="${L.pad + L.labelSize}" font-size="${L.labelSize}" font-family="${FONT}" font-weight="bold" letter-spacing="${(L.labelSize * 0.12).toFixed(1)}" fill="${p.accent}">${escapeXml(label)}</text>
${quoteBlock(quote, p)}
${quoteFooter(o, p)}
</svg>`;
}

/** Colours go into attributes: escaped like everything else that comes from a caller. */
function escapedPalette(p: Palette): Palette {
  return {
    background: [escapeXml(p.background[0]), escapeXml(p.background[1])],
    accent: escapeXml(p.accent),
    text: escapeXml(p.text),
    muted: escapeXml(p.muted),
  };
}

/** 1200x630 PNG, RGB, for the og:image of a quote link. */
export async function renderQuoteCard(o: QuoteCardOptions): Promise<Buffer> {
  const background = o.palette?.background?.[0] ?? PALETTE.background[0];
  return sharp(Buffer.from(quoteCardSvg(o)))
    .flatten({ background: /^#[0-9a-f]{3,8}$/i.test(background) ? background : PALETTE.background[0] })
    .toColourspace('srgb')
    .png({ compressionLevel: 9 })
    .toBuffer();
}
