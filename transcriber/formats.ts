// Transcript formats, from timeline segments: WebVTT, SRT, plain text and the
// Podcasting 2.0 JSON transcript. Pure functions.
//
// Text comes from a speech model and is untrusted: WebVTT cue text escapes
// `&`, `<` and `>` (so `<script>` or `-->` in speech stays text), whitespace
// (including newlines, which would end a cue) is collapsed, and the JSON
// escapes `<`, `>` and `&` as \u003c, \u003e, \u0026 so it can be inlined in HTML.
import type { TimelineSegment } from './stitch.ts';

export interface CueOptions {
  /** Longest line in characters, as written (escapes and voice tag included). Default 65. */
  maxLineChars?: number;
  /** Lines per cue before the cue is split. Default 2. */
  maxLines?: number;
}

export interface VttOptions extends CueOptions {
  /** Write `<v Speaker>` spans for segments with a speaker. Default true. */
  voices?: boolean;
}

interface Cue {
  startSec: number;
  endSec: number;
  lines: string[];
  speaker?: string;
}

const clean = (t: string) => t.replace(/\s+/g, ' ').trim();

export function escapeVttText(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** hh:mm:ss.mmm (sep '.') or hh:mm:ss,mmm (sep ','). */
export function formatTimestamp(sec: number, sep: '.' | ',' = '.'): string {
  const ms = Math.max(0, Math.round(sec * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

/**
 * Greedy word wrap. `measure` gives a word's written length (e.g. escaped);
 * `firstLineExtra` is taken from the first line's budget (a voice tag). Words
 * longer than a line are cut into pieces.
 */
export function wrapWords(words: string[], maxChars: number, measure: (w: string) => number = (w) => w.length, firstLineExtra = 0): string[][] {
  const lines: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  const budget = () => Math.max(8, maxChars - (lines.length === 0 ? firstLineExtra : 0));
  const push = () => {
    lines.push(cur);
    cur = [];
    len = 0;
  };
  for (const word of words) {
    let w = word;
    // a word too long for any line: cut it to fit
    while (measure(w) > budget()) {
      if (cur.length) push();
      let n = w.length;
      while (n > 1 && measure(w.slice(0, n)) > budget()) n--;
      cur = [w.slice(0, n)];
      len = measure(cur[0]);
      push();
      w = w.slice(n);
    }
    if (!w) continue;
    const add = (cur.length ? 1 : 0) + measure(w);
    if (cur.length && len + add > budget()) push();
    len += (cur.length ? 1 : 0) + measure(w);
    cur.push(w);
  }
  if (cur.length) push();
  return lines;
}

/**
 * Splits segments into cues of at most maxLines lines of at most maxLineChars.
 * A segment too long for one cue becomes several, its time shared by word
 * times when known, else in proportion to characters.
 */
function toCues(segments: TimelineSegment[], o: Required<CueOptions>, measure: (w: string) => number, voiceExtra: (s: TimelineSegment) => number): Cue[] {
  const cues: Cue[] = [];
  const sorted = [...segments].sort((a, b) => a.startSec - b.startSec || a.endSec - b.endSec);
  for (const seg of sorted) {
    const text = clean(seg.text);
    if (!text) continue;
    const words = text.split(' ');
    const lines = wrapWords(words, o.maxLineChars, measure, voiceExtra(seg));
    const groups: string[][] = [];
    for (let i = 0; i < lines.length; i += o.maxLines) groups.push(lines.slice(i, i + o.maxLines).map((l) => l.join(' ')));
    const start = seg.startSec;
    const end = Math.max(seg.endSec, seg.startSec);
    const pieces = lines.reduce((a, l) => a + l.length, 0); // differs from words.length when a word was cut
    const timed = seg.words && seg.words.length === words.length && pieces === words.length ? seg.words : undefined;
    const total = groups.reduce((a, g) => a + g.join(' ').length, 0);
    let done = 0;
    let wordIdx = 0;
    let t = start;
    groups.forEach((g, gi) => {
      const chars = g.join(' ').length;
      const nWords = g.join(' ').split(' ').length;
      let t1: number;
      if (gi === groups.length - 1) t1 = end;
      else if (timed && wordIdx + nWords < timed.length) t1 = Math.min(end, Math.max(t, timed[wordIdx + nWords].startSec));
      else t1 = start + ((done + chars) / total) * (end - start);
      cues.push({ startSec: t, endSec: t1, lines: g, speaker: seg.speaker });
      done += chars;
      wordIdx += nWords;
      t = t1;
    });
  }
  return cues;
}

/** WebVTT: cue ids 1..n, `<v Speaker>` when known, text escaped, lines of at most 65 characters, at most 2 per cue. */
export function toWebVtt(segments: TimelineSegment[], opts: VttOptions = {}): string {
  const o = { maxLineChars: opts.maxLineChars ?? 65, maxLines: opts.maxLines ?? 2 };
  const voices = opts.voices ?? true;
  const voiceTag = (sp?: string) => (voices && sp && clean(sp) ? `<v ${escapeVttText(clean(sp))}>` : '');
  const cues = toCues(
    segments,
    o,
    (w) => escapeVttText(w).length,
    (s) => {
      const tag = voiceTag(s.speaker);
      return tag ? tag.length + 1 : 0;
    },
  );
  let out = 'WEBVTT\n';
  cues.forEach((c, i) => {
    const end = c.endSec > c.startSec ? c.endSec : c.startSec + 0.001; // a cue must end after it starts
    const lines = c.lines.map(escapeVttText);
    const tag = voiceTag(c.speaker);
    if (tag) lines[0] = `${tag} ${lines[0]}`;
    out += `\n${i + 1}\n${formatTimestamp(c.startSec)} --> ${formatTimestamp(end)}\n${lines.join('\n')}\n`;
  });
  return out;
}

/**
 * SRT: plain text cues (no markup escaping: SRT has no entities), the same
 * wrapping; a literal `-->` in speech is written `-- >` so no text line can be
 * taken for a timing line. Speakers are prefixed "Name: " when `speakers`.
 */
export function toSrt(segments: TimelineSegment[], opts: CueOptions & { speakers?: boolean } = {}): string {
  const o = { maxLineChars: opts.maxLineChars ?? 65, maxLines: opts.maxLines ?? 2 };
  const safe = (t: string) => t.replace(/-->/g, '-- >');
  const prefix = (s?: string) => (opts.speakers && s && clean(s) ? `${clean(s)}: ` : '');
  const cues = toCues(
    segments,
    o,
    (w) => safe(w).length,
    (s) => prefix(s.speaker).length,
  );
  return cues
    .map((c, i) => {
      const end = c.endSec > c.startSec ? c.endSec : c.startSec + 0.001;
      const lines = c.lines.map(safe);
      const p = prefix(c.speaker);
      if (p) lines[0] = p + lines[0];
      return `${i + 1}\n${formatTimestamp(c.startSec, ',')} --> ${formatTimestamp(end, ',')}\n${lines.join('\n')}\n`;
    })
    .join('\n');
}

/**
 * Plain text: segments joined into paragraphs; a new paragraph at a speaker
 * change or a pause of at least `paragraphGapSec`. "Name: " opens a
 * paragraph when the speaker is known.
 */
export function toPlainText(segments: TimelineSegment[], opts: { paragraphGapSec?: number } = {}): string {
  const gap = opts.paragraphGapSec ?? 3;
  const paras: string[] = [];
  let cur = '';
  let prev: TimelineSegment | undefined;
  for (const s of [...segments].sort((a, b) => a.startSec - b.startSec)) {
    const t = clean(s.text);
    if (!t) continue;
    const newPara = !prev || s.speaker !== prev.speaker || s.startSec - prev.endSec >= gap;
    if (newPara) {
      if (cur) paras.push(cur);
      cur = (s.speaker && clean(s.speaker) ? `${clean(s.speaker)}: ` : '') + t;
    } else {
      cur += ` ${t}`;
    }
    prev = s;
  }
  if (cur) paras.push(cur);
  return paras.length ? `${paras.join('\n\n')}\n` : '';
}

export interface PodcastTranscriptSegment {
  speaker?: string;
  startTime: number;
  endTime: number;
  body: string;
}

export interface PodcastTranscript {
  version: '1.0.0';
  segments: PodcastTranscriptSegment[];
}

/**
 * Podcasting 2.0 JSON transcript object. `granularity: 'word'` writes one
 * segment per word where word times are known. `speaker` names segments
 * without one (default: no speaker field).
 */
export function toPodcastTranscript(segments: TimelineSegment[], opts: { granularity?: 'segment' | 'word'; speaker?: string } = {}): PodcastTranscript {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const out: PodcastTranscriptSegment[] = [];
  const add = (speaker: string | undefined, s: number, e: number, body: string) => {
    const b = clean(body);
    if (!b) return;
    const seg: PodcastTranscriptSegment = { startTime: r3(s), endTime: r3(Math.max(e, s)), body: b };
    const sp = speaker ?? opts.speaker;
    out.push(sp ? { speaker: sp, ...seg } : seg);
  };
  for (const s of [...segments].sort((a, b) => a.startSec - b.startSec)) {
    if (opts.granularity === 'word' && s.words?.length) {
      for (const w of s.words) add(s.speaker, w.startSec, w.endSec, w.text);
    } else {
      add(s.speaker, s.startSec, s.endSec, s.text);
    }
  }
  return { version: '1.0.0', segments: out };
}

/** The Podcasting 2.0 JSON transcript as text, safe to inline in HTML. */
export function toPodcastJson(segments: TimelineSegment[], opts?: Parameters<typeof toPodcastTranscript>[1]): string {
  return `${JSON.stringify(toPodcastTranscript(segments, opts), null, 2).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;
}

/** MIME types for `<podcast:transcript type=...>` and HTTP responses. */
export { TRANSCRIPT_TYPES } from '../shared/layout.ts';
