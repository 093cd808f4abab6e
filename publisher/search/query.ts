// The search language people type (words, "phrases", OR, -exclusions, prefix*),
// parsed once into a small structure and compiled for SQLite FTS5 and PostgreSQL
// tsquery, so both engines answer the same question. matchesTokens is the reference.

import { pairsOf, tokenize, tokensOf } from './tokens.ts';

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

export type Clause = { kind: 'term'; token: string; prefix: boolean } | { kind: 'phrase'; tokens: string[]; prefix: boolean }; // prefix applies to the last token; tokens.length >= 2

export interface ParsedQuery {
  /** AND of these groups; each group is an OR of clauses (length 1 = a plain clause). At least one group. */
  groups: Clause[][];
  /** Excluded clauses: a hit contains none of them. */
  exclude: Clause[];
}

const MAX_QUERY_CHARS = 500;
const MAX_CLAUSES = 32;
const MAX_PHRASE_TOKENS = 16;
const MIN_PREFIX_CHARS = 2;

/** Straight and typographic double quotes all open and close a phrase (people paste from word processors). */
const QUOTES = new Set(['"', '\u201C', '\u201D', '\u201E']);
const SPACE = /[\s\p{Cc}]/u;
const LETTER_OR_NUMBER_AT = /[\p{L}\p{N}]/uy;
const TOKEN_SHAPE = /^[\p{L}\p{N}]+$/u;

const ERR_OR_SIDES = 'OR needs a word on each side';
const ERR_OR_EXCLUDED = 'an excluded word cannot be one side of OR';

// ---- parsing

/** One piece of the query as typed: a clause (maybe excluded) or the OR operator. */
type Piece = { kind: 'clause'; clause: Clause; excluded: boolean } | { kind: 'or' };

/** Parses what a person typed into groups of alternatives and exclusions; throws QueryError with a readable reason. */
export function parseQuery(q: string): ParsedQuery {
  checkQueryLength(q);
  const pieces = splitPieces(q);
  const { groups, exclude } = groupPieces(pieces);
  if (groups.length === 0) {
    throw new QueryError(exclude.length > 0 ? 'a query needs at least one word to find, not only exclusions' : 'the query has no words to search for');
  }
  return {
    groups: dedupe(
      groups.map((g) => dedupe(g, clauseKey)),
      groupKey,
    ),
    exclude: dedupe(exclude, clauseKey),
  };
}

function checkQueryLength(q: string): void {
  if (q.length > MAX_QUERY_CHARS && codePointCount(q) > MAX_QUERY_CHARS) throw new QueryError(`the query is longer than ${MAX_QUERY_CHARS} characters`);
}

function codePointCount(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; count++) i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return count;
}

/** Reads the query left to right into clauses and OR operators; AND and words without letters vanish here. */
function splitPieces(q: string): Piece[] {
  const pieces: Piece[] = [];
  let clauses = 0;
  let i = 0;
  while (i < q.length) {
    if (SPACE.test(q[i])) {
      i++;
      continue;
    }
    const excluded = q[i] === '-' && (QUOTES.has(q[i + 1]) || letterOrNumberAt(q, i + 1));
    const from = excluded ? i + 1 : i;
    let clause: Clause | null;
    if (QUOTES.has(q[from])) {
      const close = closingQuote(q, from + 1);
      clause = phraseClause(q.slice(from + 1, close));
      i = close + 1;
    } else {
      const end = wordEnd(q, from);
      const operator = excluded ? null : operatorAt(q, from, end);
      i = end;
      if (operator === 'or') pieces.push({ kind: 'or' });
      if (operator !== null) continue;
      clause = wordClause(q.slice(from, end));
    }
    if (clause === null) continue;
    if (++clauses > MAX_CLAUSES) throw new QueryError(`too many words: at most ${MAX_CLAUSES}`);
    pieces.push({ kind: 'clause', clause, excluded });
  }
  return pieces;
}

function letterOrNumberAt(q: string, i: number): boolean {
  LETTER_OR_NUMBER_AT.lastIndex = i;
  return LETTER_OR_NUMBER_AT.test(q);
}

function closingQuote(q: string, from: number): number {
  for (let i = from; i < q.length; i++) if (QUOTES.has(q[i])) return i;
  throw new QueryError('a quote (") is not closed');
}

/** A word runs up to whitespace or a quote. */
function wordEnd(q: string, from: number): number {
  let i = from;
  while (i < q.length && !SPACE.test(q[i]) && !QUOTES.has(q[i])) i++;
  return i;
}

/** OR and AND are operators only in upper case and standing alone between whitespace. */
function operatorAt(q: string, from: number, end: number): 'or' | 'and' | null {
  const word = q.slice(from, end);
  if (word !== 'OR' && word !== 'AND') return null;
  const spaceBefore = from === 0 || SPACE.test(q[from - 1]);
  const spaceAfter = end === q.length || SPACE.test(q[end]);
  if (!spaceBefore || !spaceAfter) return null;
  return word === 'OR' ? 'or' : 'and';
}

/** An unquoted word: one token is a term, several (covid-19) a phrase; a * right after the last one makes it a prefix. */
function wordClause(word: string): Clause | null {
  const tokens = tokenize(word);
  if (tokens.length === 0) return null;
  const prefix = word[tokens[tokens.length - 1].end] === '*';
  return makeClause(
    tokens.map((t) => t.token),
    prefix,
  );
}

/** A quoted phrase: its tokens, punctuation and * ignored; one token is a term, none nothing. */
function phraseClause(inner: string): Clause | null {
  const tokens = tokensOf(inner);
  return tokens.length === 0 ? null : makeClause(tokens, false);
}

function makeClause(tokens: string[], prefix: boolean): Clause {
  if (tokens.length > MAX_PHRASE_TOKENS) throw new QueryError(`a phrase has more than ${MAX_PHRASE_TOKENS} words`);
  if (prefix && codePointCount(tokens[tokens.length - 1]) < MIN_PREFIX_CHARS) {
    throw new QueryError(`prefix "${tokens.join(' ')}*" is too short: give at least ${MIN_PREFIX_CHARS} letters before *`);
  }
  return tokens.length === 1 ? { kind: 'term', token: tokens[0], prefix } : { kind: 'phrase', tokens, prefix };
}

/** Clauses next to each other are ANDed; OR joins its neighbours into one group; exclusions stand apart. */
function groupPieces(pieces: Piece[]): ParsedQuery {
  const groups: Clause[][] = [];
  const exclude: Clause[] = [];
  let previous: 'start' | 'positive' | 'excluded' | 'or' = 'start';
  for (const piece of pieces) {
    if (piece.kind === 'or') {
      if (previous === 'excluded') throw new QueryError(ERR_OR_EXCLUDED);
      if (previous !== 'positive') throw new QueryError(ERR_OR_SIDES);
      previous = 'or';
    } else if (piece.excluded) {
      if (previous === 'or') throw new QueryError(ERR_OR_EXCLUDED);
      exclude.push(piece.clause);
      previous = 'excluded';
    } else {
      if (previous === 'or') groups[groups.length - 1].push(piece.clause);
      else groups.push([piece.clause]);
      previous = 'positive';
    }
  }
  if (previous === 'or') throw new QueryError(ERR_OR_SIDES);
  return { groups, exclude };
}

function dedupe<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- canonical text

/** The canonical form of a parsed query, for people and cache keys: covid AND ("vaccine rollout" OR jab*) NOT mask. */
export function describeQuery(q: ParsedQuery): string {
  const positive = q.groups.map(groupKey).join(' AND ');
  return positive + q.exclude.map((c) => ` NOT ${clauseKey(c)}`).join('');
}

/** A clause as text (its identity: the same clause twice has the same key). */
export function clauseKey(c: Clause): string {
  const star = c.prefix ? '*' : '';
  return c.kind === 'term' ? c.token + star : `"${c.tokens.join(' ')}"${star}`;
}

function groupKey(group: Clause[]): string {
  return group.length === 1 ? clauseKey(group[0]) : `(${group.map(clauseKey).join(' OR ')})`;
}

// ---- SQLite FTS5

/** The FTS5 columns: the words, and every two neighbouring words as one term (tokens.ts pairsOf). */
export const FTS5_WORDS = 'tokens';
export const FTS5_PAIRS = 'pairs';

/**
 * An FTS5 MATCH expression over normalized words separated by spaces
 * (tokenize='ascii'). Every term is a quoted FTS5 string under its column's
 * filter, so no query syntax reaches the engine from the user and no word can
 * match another column. A phrase is its word pairs at neighbouring places.
 */
export function toFts5Match(q: ParsedQuery): string {
  checkHasPositive(q);
  const positive = q.groups.map(fts5Group).join(' AND ');
  return q.exclude.length === 0 ? positive : `(${positive})` + q.exclude.map((c) => ` NOT (${fts5Clause(c)})`).join('');
}

function fts5Group(group: Clause[]): string {
  return group.length === 1 ? fts5Clause(group[0]) : `(${group.map(fts5Clause).join(' OR ')})`;
}

function fts5Clause(c: Clause): string {
  const star = c.prefix ? '*' : '';
  if (c.kind === 'term') return `${FTS5_WORDS} : "${checkToken(c.token)}"${star}`;
  return `${FTS5_PAIRS} : "${checkedPairs(c.tokens).join(' ')}"${star}`;
}

// ---- PostgreSQL tsquery

/** A tsquery literal, to be cast with ::tsquery (never to_tsquery: the lexemes are already normalized). */
export function toTsquery(q: ParsedQuery): string {
  checkHasPositive(q);
  const positive = q.groups.map(tsqueryGroup);
  const negative = q.exclude.map((c) => `!${tsqueryClause(c)}`);
  return [...positive, ...negative].join(' & ');
}

function tsqueryGroup(group: Clause[]): string {
  return group.length === 1 ? tsqueryClause(group[0]) : `( ${group.map(tsqueryClause).join(' | ')} )`;
}

function tsqueryClause(c: Clause): string {
  if (c.kind === 'term') return tsqueryLexeme(checkToken(c.token), c.prefix);
  const pairs = checkedPairs(c.tokens);
  const last = pairs.length - 1;
  const lexemes = pairs.map((p, i) => tsqueryLexeme(p, c.prefix && i === last));
  return lexemes.length === 1 ? lexemes[0] : `( ${lexemes.join(' <-> ')} )`;
}

/** A quoted lexeme (a checked word or pair); ' doubled and \ escaped as tsquery input wants, though neither can be in one. */
function tsqueryLexeme(lexeme: string, prefix: boolean): string {
  const quoted = lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''");
  return `'${quoted}'${prefix ? ':*' : ''}`;
}

// ---- shared checks

/** Compilers only ever emit tokens of letters and numbers: nothing that could be query syntax. */
function checkToken(token: string): string {
  if (!TOKEN_SHAPE.test(token) || token.includes('"') || token.includes("'")) throw new Error(`not a search token: ${JSON.stringify(token)}`);
  return token;
}

/** A phrase's word pairs, each word checked. */
function checkedPairs(tokens: string[]): string[] {
  return pairsOf(tokens.map(checkToken));
}

/** Neither engine can run a query made only of exclusions. */
function checkHasPositive(q: ParsedQuery): void {
  if (q.groups.length === 0 || q.groups.some((g) => g.length === 0)) throw new Error('a search query needs at least one clause to find in every group');
}

// ---- reference semantics

/** Whether a list of tokens (one segment) matches the query: what both engines must agree with. */
export function matchesTokens(q: ParsedQuery, tokens: string[]): boolean {
  const allGroups = q.groups.every((group) => group.some((c) => clauseOccurs(c, tokens)));
  return allGroups && !q.exclude.some((c) => clauseOccurs(c, tokens));
}

/** Token ranges [from, to) of every occurrence of a positive clause, sorted, without duplicates; for highlighting. */
export function matchedRanges(q: ParsedQuery, tokens: string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const seen = new Set<string>();
  for (const c of q.groups.flat()) {
    const length = clauseLength(c);
    for (let i = 0; i + length <= tokens.length; i++) {
      if (!clauseMatchesAt(c, tokens, i) || seen.has(`${i}:${length}`)) continue;
      seen.add(`${i}:${length}`);
      ranges.push([i, i + length]);
    }
  }
  return ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** How many times a clause occurs in a list of tokens (a phrase counts once per place it starts). */
export function clauseOccurrences(c: Clause, tokens: string[]): number {
  const length = clauseLength(c);
  let n = 0;
  for (let i = 0; i + length <= tokens.length; i++) if (clauseMatchesAt(c, tokens, i)) n++;
  return n;
}

function clauseOccurs(c: Clause, tokens: string[]): boolean {
  const length = clauseLength(c);
  for (let i = 0; i + length <= tokens.length; i++) if (clauseMatchesAt(c, tokens, i)) return true;
  return false;
}

export function clauseLength(c: Clause): number {
  return c.kind === 'term' ? 1 : c.tokens.length;
}

function clauseMatchesAt(c: Clause, tokens: string[], at: number): boolean {
  if (c.kind === 'term') return tokenMatches(tokens[at], c.token, c.prefix);
  const last = c.tokens.length - 1;
  return c.tokens.every((t, i) => tokenMatches(tokens[at + i], t, c.prefix && i === last));
}

function tokenMatches(actual: string, wanted: string, prefix: boolean): boolean {
  return prefix ? actual.startsWith(wanted) : actual === wanted;
}
