// Relevance, computed here from the matched segments' words rather than by
// either engine: FTS5's bm25() counts every row that holds each query word
// before it ranks anything (its IDF), which on a common word is millions of
// rows, and PostgreSQL's ts_rank ranks differently. Ranking the newest
// matches here costs the same on both catalogs and gives the same scores.
//
// The score is BM25's term-frequency part without IDF (every candidate holds
// every required word, so IDF would mostly rescale them all alike): for each
// clause of the query, occurrences saturate (k1) and long segments count for
// less (b); a phrase weighs as many words as it has, so `"climate change"`
// outranks a segment that only says `climate`.
import { tokensOf } from './tokens.ts';
import { clauseKey, clauseLength, clauseOccurrences, type Clause, type ParsedQuery } from './query.ts';

const K1 = 1.2;
const B = 0.75;
/** The length a segment is compared with (about 6 s of speech at 150 words a minute): scores do not depend on which rows were ranked together. */
const TYPICAL_SEGMENT_WORDS = 15;

export interface Candidate {
  id: number;
  text: string;
}

export interface Ranked {
  id: number;
  score: number;
}

/** The query's positive clauses, each once. */
function clausesOf(q: ParsedQuery): Clause[] {
  const seen = new Set<string>();
  return q.groups.flat().filter((c) => {
    const key = clauseKey(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** How well a segment's text answers the query (0 when no clause occurs), to 4 decimals. */
export function scoreText(q: ParsedQuery, text: string, clauses = clausesOf(q)): number {
  const tokens = tokensOf(text);
  const norm = K1 * (1 - B + (B * tokens.length) / TYPICAL_SEGMENT_WORDS);
  let score = 0;
  for (const c of clauses) {
    const tf = clauseOccurrences(c, tokens);
    if (tf) score += (clauseLength(c) * (tf * (K1 + 1))) / (tf + norm);
  }
  return Math.round(score * 1e4) / 1e4;
}

/** The best `depth` candidates, best first (ties: newer first). */
export function rankCandidates(q: ParsedQuery, candidates: Candidate[], depth: number): Ranked[] {
  const clauses = clausesOf(q);
  return candidates
    .map((c) => ({ id: c.id, score: scoreText(q, c.text, clauses) }))
    .sort((a, b) => b.score - a.score || b.id - a.id)
    .slice(0, depth);
}
