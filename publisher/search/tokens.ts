// Word normalization shared by the search index and the query parser: both sides
// must cut and fold text the same way, or a word that was said is not found.
// Offsets point into the original text so a highlighter can mark what was said.

export const MAX_TOKEN_CHARS = 64;

export interface TextToken {
  /** The normalized word: lower case, no diacritics, only letters and numbers. */
  token: string;
  /** UTF-16 offset of the word in the original text. */
  start: number;
  /** UTF-16 offset just past the word in the original text. */
  end: number;
}

/**
 * A word: a run of letters/numbers (combining marks kept inside so they can be
 * stripped), joined across an apostrophe (' ’ ʼ) that sits between two of them.
 */
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:['\u2019\u02BC][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*/gu;

/**
 * Everything a normalized token may not contain: marks, apostrophes, what NFKD
 * adds; and ʼ (U+02BC), an apostrophe that Unicode counts as a letter.
 */
const NOT_LETTER_OR_NUMBER = /[^\p{L}\p{N}]+|\u02BC/gu;

/** Splits text into normalized words with their places in the original text. */
export function tokenize(text: string): TextToken[] {
  const tokens: TextToken[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    const token = normalizeWord(m[0]);
    if (token !== '') tokens.push({ token, start: m.index, end: m.index + m[0].length });
  }
  return tokens;
}

/**
 * Joins two words into one index term. U+00B7 is punctuation, so it is never
 * inside a normalized word, and FTS5's ascii tokenizer keeps it inside a term.
 */
export const PAIR_MARK = '\u00b7';

/**
 * Every two neighbouring words as one term, in order: a phrase becomes a
 * lookup of its pairs at neighbouring places instead of a walk through the
 * positions of each of its words (which, for a common word, is every row).
 */
export function pairsOf(tokens: string[]): string[] {
  const pairs: string[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) pairs.push(tokens[i] + PAIR_MARK + tokens[i + 1]);
  return pairs;
}

/** The normalized words of a text, in order. */
export function tokensOf(text: string): string[] {
  return tokenize(text).map((t) => t.token);
}

function normalizeWord(word: string): string {
  const folded = isAscii(word) ? foldAsciiWord(word) : foldUnicodeWord(word);
  return truncateCodePoints(folded, MAX_TOKEN_CHARS);
}

function isAscii(word: string): boolean {
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Fast path for the common case: only letters, digits and ' can be in an ASCII word. */
function foldAsciiWord(word: string): string {
  const lower = word.toLowerCase();
  return lower.includes("'") ? lower.replaceAll("'", '') : lower;
}

/** NFKD splits letters from their diacritics; everything but letters and numbers then goes. */
function foldUnicodeWord(word: string): string {
  return word.normalize('NFKD').toLowerCase().replace(NOT_LETTER_OR_NUMBER, '');
}

function truncateCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let count = 0;
  for (let i = 0; i < s.length; count++) {
    if (count === max) return s.slice(0, i);
    i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  }
  return s;
}
