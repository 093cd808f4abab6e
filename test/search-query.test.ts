// Unit tests of the engine-independent part of transcript search: tokenizer, query
// language, the FTS5 and tsquery compilers and the snippet highlighter. The random
// test pins the reference semantics (matchesTokens) against a brute-force evaluator.

import { describe, it, expect } from 'vitest';
import { MAX_TOKEN_CHARS, tokenize, tokensOf } from '../publisher/search/tokens.ts';
import {
  QueryError,
  describeQuery,
  matchedRanges,
  matchesTokens,
  parseQuery,
  toFts5Match,
  toTsquery,
  type Clause,
  type ParsedQuery,
} from '../publisher/search/query.ts';
import { matchOffsets, snippetHtml } from '../publisher/search/snippet.ts';

function term(token: string, prefix = false): Clause {
  return { kind: 'term', token, prefix };
}

function phrase(tokens: string[], prefix = false): Clause {
  return { kind: 'phrase', tokens, prefix };
}

/** The QueryError message for q, or fails if parsing succeeds or throws anything else. */
function queryError(q: string): string {
  try {
    parseQuery(q);
  } catch (err) {
    expect(err).toBeInstanceOf(QueryError);
    return (err as Error).message;
  }
  throw new Error(`expected a QueryError for ${JSON.stringify(q)}`);
}

describe('tokenize', () => {
  it('lower-cases and strips diacritics', () => {
    expect(tokensOf('Café NAÏVE Ångström façade')).toEqual(['cafe', 'naive', 'angstrom', 'facade']);
  });

  it('joins apostrophes between letters, in all three spellings', () => {
    expect(tokensOf("don't O’Brien Hawaiʼi rock 'n' roll")).toEqual(['dont', 'obrien', 'hawaii', 'rock', 'n', 'roll']);
    expect(tokensOf("the '80s and the 80's")).toEqual(['the', '80s', 'and', 'the', '80s']);
    expect(tokensOf("trailing' 'leading ''double''")).toEqual(['trailing', 'leading', 'double']);
  });

  it('separates at hyphens, underscores, dots, colons, brackets and symbols', () => {
    expect(tokensOf('covid-19 snake_case e.g. title:x (a) [b] {c} a+b a/b')).toEqual([
      'covid',
      '19',
      'snake',
      'case',
      'e',
      'g',
      'title',
      'x',
      'a',
      'b',
      'c',
      'a',
      'b',
      'a',
      'b',
    ]);
  });

  it('keeps digits and mixed words', () => {
    expect(tokensOf('2024 G7 mp3 3.14')).toEqual(['2024', 'g7', 'mp3', '3', '14']);
  });

  it('treats CJK characters as letters and emoji as separators', () => {
    expect(tokensOf('東京都 に行く')).toEqual(['東京都', 'に行く']);
    expect(tokensOf('fire🔥works 👍')).toEqual(['fire', 'works']);
  });

  it('folds compatibility forms and German ß as toLowerCase does', () => {
    expect(tokensOf('ﬁne Straße STRASSE İstanbul')).toEqual(['fine', 'straße', 'strasse', 'istanbul']);
  });

  it('gives offsets into the original text, also for decomposed input and surrogate pairs', () => {
    const text = 'Cafe\u0301 😀 𠀀x Zoë';
    const tokens = tokenize(text);
    expect(tokens.map((t) => t.token)).toEqual(['cafe', '𠀀x', 'zoe']);
    expect(tokens.map((t) => text.slice(t.start, t.end))).toEqual(['Cafe\u0301', '𠀀x', 'Zoë']);
    expect(tokens[0]).toEqual({ token: 'cafe', start: 0, end: 5 });
  });

  it('truncates long words to MAX_TOKEN_CHARS code points, keeping the full original span', () => {
    const [long] = tokenize('a'.repeat(100));
    expect(long).toEqual({ token: 'a'.repeat(MAX_TOKEN_CHARS), start: 0, end: 100 });
    const [wide] = tokenize('𠀀'.repeat(70));
    expect([...wide.token]).toHaveLength(MAX_TOKEN_CHARS);
    expect(wide.end).toBe(140);
  });

  it('drops control characters, lone surrogates and empty input', () => {
    expect(tokensOf('a\u0000b\u0007c \uD800d')).toEqual(['a', 'b', 'c', 'd']);
    expect(tokensOf('')).toEqual([]);
    expect(tokensOf(' -_- ...')).toEqual([]);
  });

  it('is idempotent: a token tokenizes to itself', () => {
    for (const token of tokensOf('Café naïve O’Brien ﬁne 東京都 İstanbul Ωmega ½ ǅemal')) expect(tokensOf(token)).toEqual([token]);
  });
});

describe('parseQuery', () => {
  it('ANDs words', () => {
    expect(parseQuery('covid Vaccine')).toEqual({ groups: [[term('covid')], [term('vaccine')]], exclude: [] });
  });

  it('reads quoted phrases; a one-word phrase is a term, an empty one is ignored', () => {
    expect(parseQuery('"vaccine rollout" "Jab" "" x')).toEqual({
      groups: [[phrase(['vaccine', 'rollout'])], [term('jab')], [term('x')]],
      exclude: [],
    });
    expect(parseQuery('“vaccine rollout”').groups).toEqual([[phrase(['vaccine', 'rollout'])]]);
  });

  it('ignores punctuation and * inside quotes', () => {
    expect(parseQuery('"vaccine, roll*out!"').groups).toEqual([[phrase(['vaccine', 'roll', 'out'])]]);
  });

  it('binds OR tighter than the implicit AND, and chains', () => {
    expect(describeQuery(parseQuery('a b OR c d'))).toBe('a AND (b OR c) AND d');
    expect(parseQuery('a OR b OR c').groups).toEqual([[term('a'), term('b'), term('c')]]);
    expect(describeQuery(parseQuery('a OR "b c" d OR ef*'))).toBe('(a OR "b c") AND (d OR ef*)');
  });

  it('ignores AND; lower-case or and and are words', () => {
    expect(parseQuery('a AND b').groups).toEqual([[term('a')], [term('b')]]);
    expect(parseQuery('a or b').groups).toEqual([[term('a')], [term('or')], [term('b')]]);
    expect(parseQuery('this and that').groups).toEqual([[term('this')], [term('and')], [term('that')]]);
    expect(parseQuery('a AND OR b').groups).toEqual([[term('a'), term('b')]]);
  });

  it('treats OR as an operator only when it stands alone', () => {
    expect(parseQuery('a OR"b c"').groups).toEqual([[term('a')], [term('or')], [phrase(['b', 'c'])]]);
    expect(parseQuery('ORACLE Or').groups).toEqual([[term('oracle')], [term('or')]]);
  });

  it('excludes words and phrases with a leading minus', () => {
    expect(parseQuery('covid -mask -"face shield" -Mask')).toEqual({
      groups: [[term('covid')]],
      exclude: [term('mask'), phrase(['face', 'shield'])],
    });
    expect(parseQuery('covid -covid-19').exclude).toEqual([phrase(['covid', '19'])]);
  });

  it('treats a minus inside or after a word as a separator', () => {
    expect(parseQuery('well-known').groups).toEqual([[phrase(['well', 'known'])]]);
    expect(parseQuery('a - b').groups).toEqual([[term('a')], [term('b')]]);
    expect(parseQuery('--a').groups).toEqual([[term('a')]]);
  });

  it('reads prefixes, also on the last word of a hyphenated word', () => {
    expect(parseQuery('vacc* jab*,').groups).toEqual([[term('vacc', true)], [term('jab', true)]]);
    expect(parseQuery('covid-19* -mask*')).toEqual({ groups: [[phrase(['covid', '19'], true)]], exclude: [term('mask', true)] });
    expect(parseQuery('Éco*').groups).toEqual([[term('eco', true)]]);
    expect(parseQuery('a*b').groups).toEqual([[phrase(['a', 'b'])]]);
  });

  it('rejects prefixes shorter than 2 letters', () => {
    expect(queryError('a*')).toBe('prefix "a*" is too short: give at least 2 letters before *');
    expect(queryError('x -b*')).toBe('prefix "b*" is too short: give at least 2 letters before *');
    expect(queryError('é*')).toMatch(/too short/);
    expect(queryError('covid-1*')).toBe('prefix "covid 1*" is too short: give at least 2 letters before *');
  });

  it('turns words that normalize to several tokens into phrases and drops words without letters', () => {
    expect(parseQuery('covid-19 ^ : ( e.g.').groups).toEqual([[phrase(['covid', '19'])], [phrase(['e', 'g'])]]);
  });

  it('removes duplicate clauses and groups', () => {
    expect(describeQuery(parseQuery('a a "a" b OR b -c -c'))).toBe('a AND b NOT c');
  });

  it('reports what is wrong in plain words', () => {
    expect(queryError('"vaccine rollout')).toBe('a quote (") is not closed');
    expect(queryError('a OR')).toBe('OR needs a word on each side');
    expect(queryError('OR a')).toBe('OR needs a word on each side');
    expect(queryError('a OR OR b')).toBe('OR needs a word on each side');
    expect(queryError('a OR -b')).toBe('an excluded word cannot be one side of OR');
    expect(queryError('-a OR b')).toBe('an excluded word cannot be one side of OR');
    expect(queryError('   ')).toBe('the query has no words to search for');
    expect(queryError('-a -"b c"')).toBe('a query needs at least one word to find, not only exclusions');
    expect(queryError('x'.repeat(501))).toBe('the query is longer than 500 characters');
    expect(queryError(Array.from({ length: 33 }, (_, i) => `w${i}`).join(' '))).toBe('too many words: at most 32');
    expect(queryError(`"${Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ')}"`)).toBe('a phrase has more than 16 words');
  });

  it('counts the length in characters, not UTF-16 units', () => {
    expect(parseQuery('😀'.repeat(300) + ' a').groups).toEqual([[term('a')]]);
  });

  const hostile = [
    '"',
    '""',
    '"""',
    'a "b',
    '"a" "b',
    'NEAR(a b)',
    'NEAR("a" "b", 2)',
    'title:x',
    'tokens:',
    'tokens: covid',
    '- tokens : x',
    '{tokens title}: x',
    '^',
    '^"a"',
    '*',
    '**',
    'ab**',
    'AND',
    'OR',
    'AND OR',
    'OR a',
    'a OR',
    '-',
    '--',
    '--a',
    '-"',
    '-""',
    '(',
    ')',
    '()',
    '(a OR b)',
    '{}',
    '{a b}',
    'a:b',
    '+',
    'a + b',
    'a NOT b',
    "'; DROP TABLE x; --",
    "'",
    "a'b",
    '\\',
    'a\\"b"',
    '\u0000',
    'a\u0000b',
    'a\u0000OR\u0000b',
    '\u0007\u001b[31mred',
    '\uD800',
    '\uDC00a',
    '\uFFFF\uFFFE',
    '\u200B\u200D',
    'x'.repeat(10_000),
    Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' '),
    'a'.repeat(500),
    '"' + 'a '.repeat(20) + '"',
    'a OR '.repeat(100) + 'b',
    '-a '.repeat(40),
    "$1 %s ${x} ' OR '1'='1",
  ];

  it.each(hostile.map((q) => [q.length > 40 ? `${q.slice(0, 40)}… (${q.length} chars)` : JSON.stringify(q), q]))(
    'answers hostile input %s with a QueryError or a sane parse',
    (_label, q) => {
      let parsed: ParsedQuery;
      try {
        parsed = parseQuery(q);
      } catch (err) {
        expect(err).toBeInstanceOf(QueryError);
        expect((err as Error).message.length).toBeGreaterThan(10);
        return;
      }
      expect(parsed.groups.length).toBeGreaterThan(0);
      const clauses = [...parsed.groups.flat(), ...parsed.exclude];
      for (const c of clauses) {
        const tokens = c.kind === 'term' ? [c.token] : c.tokens;
        for (const t of tokens) expect(t).toMatch(/^[\p{L}\p{N}]+$/u);
        if (c.kind === 'phrase') expect(c.tokens.length).toBeGreaterThanOrEqual(2);
      }
      // Every quoted string in the MATCH is under a column filter: words under tokens, phrases as word pairs under pairs.
      expect(toFts5Match(parsed).replace(/(tokens|pairs) : "[^"]*"\*?/g, '')).toMatch(/^[() ANDORT]*$/);
      expect(toTsquery(parsed).length).toBeGreaterThan(0);
      expect(describeQuery(parsed).length).toBeGreaterThan(0);
    },
  );

  it('parses the hostile inputs that have words into plain words', () => {
    expect(describeQuery(parseQuery('NEAR(a b)'))).toBe('"near a" AND b');
    expect(describeQuery(parseQuery('title:x'))).toBe('"title x"');
    expect(describeQuery(parseQuery('tokens:'))).toBe('tokens');
    expect(describeQuery(parseQuery('^"a"'))).toBe('a');
    expect(describeQuery(parseQuery('a + b'))).toBe('a AND b');
    expect(describeQuery(parseQuery('{a b}'))).toBe('a AND b');
    expect(describeQuery(parseQuery('a:b'))).toBe('"a b"');
    expect(describeQuery(parseQuery("'; DROP TABLE x; --"))).toBe('drop AND table AND x');
    expect(describeQuery(parseQuery('a\u0000b'))).toBe('a AND b');
    expect(describeQuery(parseQuery('a NOT b'))).toBe('a AND not AND b');
    expect(queryError('*')).toBe('the query has no words to search for');
    expect(queryError('AND OR')).toBe('OR needs a word on each side');
    expect(queryError('x'.repeat(10_000))).toBe('the query is longer than 500 characters');
    expect(queryError(Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' '))).toBe('the query is longer than 500 characters');
    expect(queryError('w '.repeat(200))).toBe('too many words: at most 32');
  });
});

describe('compilers', () => {
  const cases: Array<{ q: string; described: string; fts5: string; tsquery: string }> = [
    { q: 'covid', described: 'covid', fts5: 'tokens : "covid"', tsquery: "'covid'" },
    { q: 'jab*', described: 'jab*', fts5: 'tokens : "jab"*', tsquery: "'jab':*" },
    { q: '"vaccine rollout"', described: '"vaccine rollout"', fts5: 'pairs : "vaccine·rollout"', tsquery: "'vaccine·rollout'" },
    {
      q: '"the vaccine rollout"',
      described: '"the vaccine rollout"',
      fts5: 'pairs : "the·vaccine vaccine·rollout"',
      tsquery: "( 'the·vaccine' <-> 'vaccine·rollout' )",
    },
    { q: 'covid-19*', described: '"covid 19"*', fts5: 'pairs : "covid·19"*', tsquery: "'covid·19':*" },
    {
      q: 'covid "vaccine rollout" OR jab* -mask',
      described: 'covid AND ("vaccine rollout" OR jab*) NOT mask',
      fts5: '(tokens : "covid" AND (pairs : "vaccine·rollout" OR tokens : "jab"*)) NOT (tokens : "mask")',
      tsquery: "'covid' & ( 'vaccine·rollout' | 'jab':* ) & !'mask'",
    },
    {
      q: 'a OR b "x y" -n -"p q"',
      described: '(a OR b) AND "x y" NOT n NOT "p q"',
      fts5: '((tokens : "a" OR tokens : "b") AND pairs : "x·y") NOT (tokens : "n") NOT (pairs : "p·q")',
      tsquery: "( 'a' | 'b' ) & 'x·y' & !'n' & !'p·q'",
    },
    { q: 'or AND not near', described: 'or AND not AND near', fts5: 'tokens : "or" AND tokens : "not" AND tokens : "near"', tsquery: "'or' & 'not' & 'near'" },
    { q: 'Café 東京', described: 'cafe AND 東京', fts5: 'tokens : "cafe" AND tokens : "東京"', tsquery: "'cafe' & '東京'" },
  ];

  it.each(cases)('compiles $q', ({ q, described, fts5, tsquery }) => {
    const parsed = parseQuery(q);
    expect(describeQuery(parsed)).toBe(described);
    expect(toFts5Match(parsed)).toBe(fts5);
    expect(toTsquery(parsed)).toBe(tsquery);
  });

  it('refuses hand-made queries with tokens that could be syntax, or with nothing to find', () => {
    for (const token of ['a"b', "a'b", 'a b', 'a\\b', '', 'a*', 'a\u00b7b']) {
      const q: ParsedQuery = { groups: [[term(token)]], exclude: [] };
      expect(() => toFts5Match(q)).toThrow(/not a search token/);
      expect(() => toTsquery(q)).toThrow(/not a search token/);
    }
    const onlyExcluded: ParsedQuery = { groups: [], exclude: [term('a')] };
    expect(() => toFts5Match(onlyExcluded)).toThrow();
    expect(() => toTsquery(onlyExcluded)).toThrow();
  });
});

describe('matchesTokens and matchedRanges', () => {
  const doc = tokensOf('The vaccine rollout began; jabs for covid-19 patients, no masks.');

  it('matches terms, prefixes, phrases, groups and exclusions', () => {
    expect(matchesTokens(parseQuery('vaccine covid'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('vaccine flu'), doc)).toBe(false);
    expect(matchesTokens(parseQuery('vaccine flu OR jab*'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('"vaccine rollout"'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('"rollout vaccine"'), doc)).toBe(false);
    expect(matchesTokens(parseQuery('covid-19'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('covid-19*'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('covid-20*'), doc)).toBe(false);
    expect(matchesTokens(parseQuery('vaccine -masks'), doc)).toBe(false);
    expect(matchesTokens(parseQuery('vaccine -"no vaccine"'), doc)).toBe(true);
    expect(matchesTokens(parseQuery('"jabs for covid"*'), doc)).toBe(true);
  });

  it('lists token ranges of every positive occurrence, sorted', () => {
    const tokens = ['a', 'bc', 'a', 'bcd', 'x'];
    expect(matchedRanges(parseQuery('a-bc* bc* -x'), tokens)).toEqual([
      [0, 2],
      [1, 2],
      [2, 4],
      [3, 4],
    ]);
    expect(matchedRanges(parseQuery('zzz OR a'), tokens)).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});

// ---- property test: the reference semantics against a brute-force evaluator

/** A deterministic random source, so a failure can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the generator meant by a clause: the written form and the tokens it stands for. */
interface ModelAtom {
  text: string;
  tokens: string[];
  prefix: boolean;
}

interface ModelQuery {
  text: string;
  units: ModelAtom[][];
  excluded: ModelAtom[];
}

/** Written forms and what they normalize to, spelled out by hand rather than by the tokenizer. */
const VOCAB: Array<[string, string]> = [
  ['apple', 'apple'],
  ['Apples', 'apples'],
  ['BANANA', 'banana'],
  ['band', 'band'],
  ['café', 'cafe'],
  ["don't", 'dont'],
  ['or', 'or'],
  ['and', 'and'],
  ['19', '19'],
  ['東京', '東京'],
];
const PREFIXES: Array<[string, string]> = [
  ['app*', 'app'],
  ['ban*', 'ban'],
  ['CA*', 'ca'],
  ['do*', 'do'],
];
const DOC_TOKENS = ['apple', 'apples', 'applesauce', 'banana', 'band', 'bandana', 'cafe', 'cake', 'dont', 'do', 'or', 'and', '19', '東京', 'zebra'];

function pick<T>(rand: () => number, items: T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function randomAtom(rand: () => number): ModelAtom {
  const r = rand();
  if (r < 0.4) {
    const [text, token] = pick(rand, VOCAB);
    return { text, tokens: [token], prefix: false };
  }
  if (r < 0.55) {
    const [text, token] = pick(rand, PREFIXES);
    return { text, tokens: [token], prefix: true };
  }
  const words = Array.from({ length: 2 + Math.floor(rand() * 2) }, () => pick(rand, VOCAB));
  if (r < 0.8) return { text: `"${words.map((w) => w[0]).join(' ')}"`, tokens: words.map((w) => w[1]), prefix: false };
  const [prefixText, prefixToken] = pick(rand, PREFIXES);
  return { text: `${words[0][0]}-${prefixText}`, tokens: [words[0][1], prefixToken], prefix: true };
}

function randomQuery(rand: () => number): ModelQuery {
  const units: ModelAtom[][] = [];
  const excluded: ModelAtom[] = [];
  const parts: string[] = [];
  const unitCount = 1 + Math.floor(rand() * 3);
  for (let u = 0; u < unitCount; u++) {
    const unit = [randomAtom(rand)];
    while (rand() < 0.3) unit.push(randomAtom(rand));
    units.push(unit);
    parts.push(unit.map((a) => a.text).join(' OR '));
    if (rand() < 0.15) parts.push('AND');
    if (rand() < 0.3) {
      const atom = randomAtom(rand);
      excluded.push(atom);
      parts.push(`-${atom.text}`);
    }
  }
  return { text: parts.join(' '), units, excluded };
}

function randomTokens(rand: () => number): string[] {
  return Array.from({ length: Math.floor(rand() * 9) }, () => pick(rand, DOC_TOKENS));
}

/** Brute force on the joined string: a clause occurs where its tokens start at a token boundary. */
function atomOccurs(atom: ModelAtom, tokens: string[]): boolean {
  const haystack = ` ${tokens.join(' ')} `;
  const needle = ` ${atom.tokens.join(' ')}`;
  return haystack.includes(atom.prefix ? needle : `${needle} `);
}

function bruteForceMatches(model: ModelQuery, tokens: string[]): boolean {
  return model.units.every((unit) => unit.some((atom) => atomOccurs(atom, tokens))) && !model.excluded.some((atom) => atomOccurs(atom, tokens));
}

describe('reference semantics (random queries)', () => {
  it('matchesTokens agrees with a brute-force evaluation of what the query says', () => {
    const rand = prng(20240611);
    const docs = Array.from({ length: 200 }, () => randomTokens(rand));
    let hits = 0;
    for (let i = 0; i < 300; i++) {
      const model = randomQuery(rand);
      const parsed = parseQuery(model.text);
      expect(toFts5Match(parsed).length).toBeGreaterThan(0);
      expect(toTsquery(parsed).length).toBeGreaterThan(0);
      for (const doc of docs) {
        const expected = bruteForceMatches(model, doc);
        if (matchesTokens(parsed, doc) !== expected)
          expect({ query: model.text, doc, matches: !expected }).toEqual({ query: model.text, doc, matches: expected });
        if (expected) hits++;
      }
    }
    expect(hits).toBeGreaterThan(1000);
  });

  it('matchedRanges finds every positive occurrence the brute force finds', () => {
    const rand = prng(7);
    for (let i = 0; i < 200; i++) {
      const model = randomQuery(rand);
      const doc = randomTokens(rand);
      const ranges = matchedRanges(parseQuery(model.text), doc);
      const expected = new Set<string>();
      for (const atom of model.units.flat()) {
        for (let at = 0; at + atom.tokens.length <= doc.length; at++) {
          if (atomOccurs(atom, doc.slice(at, at + atom.tokens.length))) expected.add(`${at},${at + atom.tokens.length}`);
        }
      }
      expect(ranges.map((r) => r.join(',')).sort()).toEqual([...expected].sort());
    }
  });
});

describe('snippetHtml and matchOffsets', () => {
  it('escapes markup in the text and marks only what matched', () => {
    expect(snippetHtml('<script>alert(1)</script>', parseQuery('alert'))).toBe('&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;');
    expect(snippetHtml(`Q&A: "don't" <b>`, parseQuery('dont b'))).toBe('Q&amp;A: &quot;<mark>don&#39;t</mark>&quot; &lt;<mark>b</mark>&gt;');
    expect(snippetHtml('<script>alert(1)</script>', parseQuery('script'))).toBe('&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;');
  });

  it('strips characters HTML cannot carry', () => {
    expect(snippetHtml('a\u0000b\u0007 \uD800 c\uFFFF\td', parseQuery('c'))).toBe('ab  <mark>c</mark>\td');
  });

  it('marks terms and prefixes on the original spelling', () => {
    expect(snippetHtml('Café jabs, JABBING and a jab.', parseQuery('cafe jab*'))).toBe(
      '<mark>Café</mark> <mark>jabs</mark>, <mark>JABBING</mark> and a <mark>jab</mark>.',
    );
  });

  it('marks a phrase as one span, and merges overlapping marks', () => {
    expect(snippetHtml('the vaccine  rollout began', parseQuery('"vaccine rollout"'))).toBe('the <mark>vaccine  rollout</mark> began');
    expect(snippetHtml('the vaccine rollout began', parseQuery('vaccine "vaccine rollout" OR "rollout began"'))).toBe('the <mark>vaccine rollout began</mark>');
    expect(snippetHtml('covid-19 and covid', parseQuery('covid-19'))).toBe('<mark>covid-19</mark> and covid');
  });

  it('never nests or overlaps marks', () => {
    const q = parseQuery('"a bc" "bc a" a bc*');
    expect(snippetHtml('a bc a bc a bc c', q)).toBe('<mark>a bc a bc a bc</mark> c');
    expect(matchOffsets('a bc a bc a bc c', q)).toEqual([[0, 14]]);
    expect(snippetHtml('a bc a bcd a', q)).toBe('<mark>a bc a</mark> <mark>bcd</mark> <mark>a</mark>');
    expect(matchOffsets('a x bc', q)).toEqual([
      [0, 1],
      [4, 6],
    ]);
  });

  it('gives the marks as ranges of the original text', () => {
    const text = 'Zoë met O’Brien 😀 at the café';
    const offsets = matchOffsets(text, parseQuery('zoe obrien cafe'));
    expect(offsets.map(([s, e]) => text.slice(s, e))).toEqual(['Zoë', 'O’Brien', 'café']);
  });

  it('cuts long text to a window around the first hit, on word boundaries, with ellipses', () => {
    const before = Array.from({ length: 60 }, (_, i) => `before${i}`).join(' ');
    const after = Array.from({ length: 60 }, (_, i) => `after${i}`).join(' ');
    const text = `${before} the <vaccine> rollout began ${after}`;
    const html = snippetHtml(text, parseQuery('"vaccine rollout"'), { maxChars: 100 });
    expect(html.startsWith('…before')).toBe(true);
    expect(html.endsWith('…')).toBe(true);
    expect(html).toContain('&lt;<mark>vaccine&gt; rollout</mark> began after0');
    const visible = html
      .replace(/<\/?mark>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
    expect(visible.length).toBeLessThanOrEqual(100);
    expect(text).toContain(visible.slice(1, -1));
    expect(visible).toMatch(/^…before\d+ /);
    expect(visible).toMatch(/ after\d+…$/);
  });

  it('puts no ellipsis on a side that was not cut', () => {
    const text = `covid ${'word '.repeat(100)}end`;
    const html = snippetHtml(text, parseQuery('covid'), { maxChars: 50 });
    expect(html.startsWith('<mark>covid</mark> word')).toBe(true);
    expect(html.endsWith('word…')).toBe(true);
    const tail = snippetHtml(text, parseQuery('end'), { maxChars: 50 });
    expect(tail.startsWith('…word')).toBe(true);
    expect(tail.endsWith('<mark>end</mark>')).toBe(true);
  });

  it('shows the start of the text when nothing matched, and keeps short text whole', () => {
    const text = 'word '.repeat(100);
    expect(snippetHtml(text, parseQuery('absent'), { maxChars: 30 })).toBe(`${'word '.repeat(4)}word…`);
    expect(snippetHtml('short text', parseQuery('absent'))).toBe('short text');
  });

  it('defaults to 240 characters and cuts a run without words at code point boundaries', () => {
    const text = `${'x '.repeat(200)}needle ${'y '.repeat(200)}`;
    const html = snippetHtml(text, parseQuery('needle'));
    expect(html.replace(/<\/?mark>/g, '').length).toBeLessThanOrEqual(240);
    const emoji = '😀'.repeat(200);
    const cut = snippetHtml(emoji, parseQuery('absent'), { maxChars: 21 });
    expect(cut).toBe(`${'😀'.repeat(9)}…`);
  });

  it('clips a hit longer than the window', () => {
    const words = Array.from({ length: 16 }, (_, i) => `longword${i}`);
    const html = snippetHtml(`intro ${words.join(' ')} outro`, parseQuery(`"${words.join(' ')}"`), { maxChars: 60 });
    expect(html.startsWith('…<mark>longword0')).toBe(true);
    expect(html.endsWith('</mark>…')).toBe(true);
    expect(html.match(/<mark>/g)).toHaveLength(1);
  });
});
