// Burned-in captions for an audiogram, as an ASS script that ffmpeg's
// `subtitles` filter renders through libass. Feeds autoplay muted, so the
// words are on screen while they are said, a line or two at a time, with the
// word being said in the highlight colour.
//
// ASS karaoke (`\k`) fills words as they are reached and leaves every earlier
// word filled too; here only the current word is lit. So each word gets its
// own dialogue event, from its start to the next word's, showing its whole
// caption page with that word's colour overridden (`\1c`): libass lays each
// event out alike, so the page stays still and only the colour moves.
import { wrapText } from '../images.ts';
import { COLOURS, type AudiogramLayout } from './sizes.ts';

/** A word on the clip's own timeline (0 = the clip's first sample). */
export interface TimedWord {
  startSec: number;
  endSec: number;
  text: string;
}

/** How long a page stays after its last word, unless the next one starts sooner. */
const HOLD_SEC = 0.6;
/** A pause this long starts a new page. */
const PAUSE_SEC = 1.2;

/** `#rrggbb` as ASS's `&HAABBGGRR` (opaque unless alpha is given, 0 = opaque). */
export function assColour(hex: string, alpha = 0): string {
  const [r, g, b] = [1, 3, 5].map((i) => hex.slice(i, i + 2).toUpperCase());
  return `&H${alpha.toString(16).padStart(2, '0').toUpperCase()}${b}${g}${r}`;
}

/** H:MM:SS.cc, ASS's time format (centiseconds). */
export function assTime(sec: number): string {
  const cs = Math.max(0, Math.round(sec * 100));
  const h = Math.floor(cs / 360000);
  const m = Math.floor((cs % 360000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(cs % 100).padStart(2, '0')}`;
}

/** A word as plain ASS text: braces and backslashes would start override tags. */
const assText = (w: string) =>
  w
    .replace(/[{}\\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();

/** Groups words into pages that fit the caption lines and do not bridge a long pause. */
export function captionPages(words: TimedWord[], layout: AudiogramLayout): TimedWord[][] {
  const { fontSize, marginH, lines } = layout.caption;
  const maxWidth = layout.width - 2 * marginH;
  const pages: TimedWord[][] = [];
  let page: TimedWord[] = [];
  for (const w of words) {
    const last = page[page.length - 1];
    const fits = !wrapText([...page, w].map((x) => x.text).join(' '), maxWidth, fontSize, lines).truncated;
    if (last && (!fits || w.startSec - last.endSec > PAUSE_SEC)) {
      pages.push(page);
      page = [];
    }
    page.push(w);
  }
  if (page.length) pages.push(page);
  return pages;
}

/** The ASS script of a clip's captions, for one size. */
export function captionsAss(words: TimedWord[], layout: AudiogramLayout, durationSec: number): string {
  const { fontSize, marginV, marginH } = layout.caption;
  const clean = words
    .map((w) => ({ ...w, text: assText(w.text), startSec: Math.max(0, w.startSec), endSec: Math.min(durationSec, w.endSec) }))
    .filter((w) => w.text && w.endSec > w.startSec)
    .sort((a, b) => a.startSec - b.startSec);
  const pages = captionPages(clean, layout);
  const events: string[] = [];
  pages.forEach((page, p) => {
    const nextStart = pages[p + 1]?.[0].startSec ?? durationSec;
    const pageEnd = Math.min(nextStart, durationSec, page[page.length - 1].endSec + HOLD_SEC);
    page.forEach((w, i) => {
      const end = i + 1 < page.length ? page[i + 1].startSec : pageEnd;
      if (end <= w.startSec) return;
      const text = page.map((x, j) => (j === i ? `{\\1c${assColour(COLOURS.highlight)}}${x.text}{\\1c${assColour(COLOURS.text)}}` : x.text)).join(' ');
      events.push(`Dialogue: 0,${assTime(w.startSec)},${assTime(end)},Caption,,0,0,0,,${text}`);
    });
  });
  return [
    '[Script Info]',
    'ScriptType: v4.00+',
    `PlayResX: ${layout.width}`,
    `PlayResY: ${layout.height}`,
    'WrapStyle: 0',
    'ScaledBorderAndShadow: yes',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    `Style: Caption,DejaVu Sans,${fontSize},${assColour(COLOURS.text)},${assColour(COLOURS.text)},${assColour(COLOURS.outline)},${assColour(COLOURS.outline, 0x80)},1,0,0,0,100,100,0,0,1,4,0,2,${marginH},${marginH},${marginV},1`,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    ...events,
    '',
  ].join('\n');
}
