// Synthetic transcripts for the search benchmark (bench/search.ts): what the
// index sees after years of recordings, without years of recordings. Words
// follow Zipf's law as natural language does (a few hundred English function
// words at the top, so "the" costs what it costs; ~50,000 pronounceable
// made-up words below them, so names and topics are rare as they are), at
// 150 words a minute, in segments of 8-25 words, in events of 30-120 minutes
// by ~200 hosts over ~3 years. Everything comes from one seeded PRNG, so a run
// is repeatable and two databases get the same corpus; events are generated
// one at a time (a generator), so 10,000 hours never sit in memory at once.

/** sfc32, seeded through splitmix32: fast, 128 bits of state (a 10,000-hour corpus draws ~300 M numbers). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

/** Ranks 1..n with P(r) ∝ r^-exponent: a precomputed CDF, searched by bisection. */
export class ZipfSampler {
  readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly exponent: number,
  ) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let r = 1; r <= n; r++) this.cdf[r - 1] = sum += r ** -exponent;
    for (let i = 0; i < n; i++) this.cdf[i] /= sum;
    this.cdf[n - 1] = 1;
  }

  /** P(rank = r). */
  probability(rank: number): number {
    return rank <= 1 ? this.cdf[0] : this.cdf[rank - 1] - this.cdf[rank - 2];
  }

  /** A rank drawn from the whole distribution. */
  sample(rng: Rng): number {
    return this.rankAt(rng.next());
  }

  /** A rank drawn from the distribution restricted to [lo, hi] (as a reader of the corpus would meet them). */
  sampleBetween(rng: Rng, lo: number, hi: number): number {
    const from = lo <= 1 ? 0 : this.cdf[Math.min(lo, this.n) - 2];
    const to = this.cdf[Math.min(hi, this.n) - 1];
    return Math.max(lo, Math.min(hi, this.rankAt(from + rng.next() * (to - from))));
  }

  /** The smallest rank whose cumulative probability reaches u. */
  private rankAt(u: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }
}

/**
 * Roughly in order of frequency in spoken English: function words, pronouns,
 * the commonest verbs and the fillers of conversation. They take ranks 1-100
 * and then one rank in three up to ~550, as in real frequency lists.
 */
const FUNCTION_WORDS = `the and to a of i you that it in is we so they was this but for have on be what not with are like just know do yeah
think there all he one can about if my at or as people get really would me because go were them right from kind more when going she out
okay mean now an up well had some said very by how been which then their time will thing also her see his who our no here could want
things much even those say where way these make actually into other only good did has than lot something back your any him got over still
two first many should sort yes years need through let why take us come after before too maybe never always around little same every most
might down off being both each few own while again under another such since until against between without last new old big great long
next three year day today uh um oh gonna talk look sure part point question different whole able already probably pretty quite almost
often enough whether though although however perhaps rather else ever once during within along across behind above below toward upon
among per via whose whom mine yours hers ours theirs myself yourself himself herself itself ourselves themselves am does doing done
having made went gone came saying told tell give gave put keep seem feel felt try tried start happen work call use show find found help
ask seems four five second end place week home number world nothing everything anything someone everyone somebody anybody everybody
course fact case hand idea problem story money way lots less least better best worse bad sorry thanks thank please hello guess bit`
  .split(/\s+/)
  .filter((w, i, all) => w && all.indexOf(w) === i);

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z'];
const CLUSTERS = ['bl', 'br', 'ch', 'cl', 'cr', 'dr', 'fl', 'fr', 'gl', 'gr', 'pl', 'pr', 'sh', 'sk', 'sl', 'sm', 'sn', 'sp', 'st', 'th', 'tr', 'qu'];
const FIRST_ONSETS = ['', '', ...ONSETS, ...ONSETS, ...CLUSTERS];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'a', 'e', 'ai', 'ea', 'ee', 'oo', 'ou', 'y'];
const MIDDLE_CODAS = ['', '', '', '', '', 'n', 'r', 'l', 's'];
const FINAL_CODAS = ['', '', '', 'n', 'r', 's', 'l', 't', 'm', 'nd', 'st', 'ck', 'ng', 'rt', 'x', 'th', 'sh'];

/** A pronounceable made-up word: consonant-vowel syllables, clusters only at the start, most codas at the end. */
function madeUpWord(syllables: number, rng: Rng): string {
  let w = '';
  for (let i = 0; i < syllables; i++) {
    w += (i === 0 ? rng.pick(FIRST_ONSETS) : rng.pick(ONSETS)) + rng.pick(VOWELS) + rng.pick(i === syllables - 1 ? FINAL_CODAS : MIDDLE_CODAS);
  }
  return w;
}

/** Frequent words are short (Zipf's law of abbreviation): syllables by rank. */
function syllablesFor(rank: number, rng: Rng): number {
  if (rank < 2_000) return rng.int(1, 2);
  if (rank < 15_000) return rng.int(2, 3);
  return rng.int(2, 4);
}

const capitalize = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

export interface VocabularyOptions {
  /** Distinct words (default 50,000). */
  size?: number;
  /** Zipf exponent (default 1.07; natural language is ~1.0-1.1). */
  exponent?: number;
  seed?: number;
}

/** The corpus's words by rank (rank 1 = index 0): lower-case tokens, and how they are written (names capitalized). */
export class Vocabulary {
  readonly words: string[] = [];
  readonly written: string[] = [];
  readonly zipf: ZipfSampler;
  private readonly ranks = new Map<string, number>();

  constructor(opts: VocabularyOptions = {}) {
    const size = opts.size ?? 50_000;
    const rng = new Rng((opts.seed ?? 1) ^ 0x766f6361);
    const fnRank = new Map<number, string>();
    FUNCTION_WORDS.forEach((w, i) => fnRank.set(i < 100 ? i + 1 : 100 + (i - 100) * 3 + 1, w));
    const used = new Set(FUNCTION_WORDS);
    for (let rank = 1; rank <= size; rank++) {
      let word = fnRank.get(rank);
      let name = false;
      if (word === undefined) {
        do {
          word = madeUpWord(syllablesFor(rank, rng), rng);
        } while (word.length < 2 || used.has(word));
        used.add(word);
        // Past the commonest words, one in ten is a proper name (written capitalized; found in any case).
        name = rank > 300 && rng.next() < 0.1;
      }
      this.words.push(word);
      this.written.push(name ? capitalize(word) : word);
      this.ranks.set(word, rank);
    }
    this.zipf = new ZipfSampler(size, opts.exponent ?? 1.07);
  }

  get size(): number {
    return this.words.length;
  }

  word(rank: number): string {
    return this.words[rank - 1];
  }

  rankOf(word: string): number | undefined {
    return this.ranks.get(word);
  }

  /** Ranks that are English function words (the stop-word-like ones). */
  get functionWords(): number {
    return FUNCTION_WORDS.length;
  }
}

/** Host names, "First Last", made of the same kind of syllables. */
export function makeHosts(count: number, seed: number): string[] {
  const rng = new Rng(seed ^ 0x686f7374);
  const seen = new Set<string>();
  const hosts: string[] = [];
  while (hosts.length < count) {
    const first = capitalize(madeUpWord(rng.next() < 0.7 ? 2 : 1, rng));
    const last = capitalize(madeUpWord(rng.next() < 0.3 ? 3 : 2, rng));
    const name = `${first} ${last}`;
    if (first.length < 3 || seen.has(name)) continue;
    seen.add(name);
    hosts.push(name);
  }
  return hosts;
}

export interface CorpusWord {
  startSec: number;
  endSec: number;
  text: string;
}

export interface CorpusSegment {
  startSec: number;
  endSec: number;
  text: string;
  words?: CorpusWord[];
  /** The vocabulary rank of each word, in order (what queries are picked from). */
  ranks: Uint32Array;
}

export interface CorpusEvent {
  /** 0, 1, 2, ... in date order. */
  index: number;
  /** As the service makes them: ev_ and 16 hex digits. */
  id: string;
  slug: string;
  title: string;
  host: string;
  /** ISO 8601; ascending with index. */
  createdAt: string;
  durationSec: number;
  words: number;
  segments: CorpusSegment[];
}

export interface CorpusOptions {
  /** Hours of audio in all (the last event is cut to fit). */
  hours: number;
  seed?: number;
  vocabulary?: VocabularyOptions;
  /** Speaking rate (default 150). */
  wordsPerMinute?: number;
  /** Words per segment (default 8-25). */
  minSegmentWords?: number;
  maxSegmentWords?: number;
  /** Event length in minutes (default 30-120). */
  minEventMinutes?: number;
  maxEventMinutes?: number;
  /** Distinct hosts (default 200); who hosts an event is Zipf-distributed with this exponent (default 0.7: some hosts are regulars). */
  hosts?: number;
  hostExponent?: number;
  /** The first event's date (default 2023-01-01) and the years the events spread over (default 3). */
  start?: string;
  years?: number;
  /** Word timings in each segment, as the transcriber sends with WHISPER_WORD_TIMESTAMPS (default off, as the service). */
  wordTimings?: boolean;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A repeatable corpus: its vocabulary and hosts, and its events one at a time. */
export class Corpus {
  readonly vocabulary: Vocabulary;
  readonly hosts: string[];
  readonly totalSec: number;
  private readonly seed: number;
  private readonly hostZipf: ZipfSampler;

  constructor(readonly opts: CorpusOptions) {
    this.seed = opts.seed ?? 1;
    this.vocabulary = new Vocabulary({ seed: this.seed, ...opts.vocabulary });
    this.hosts = makeHosts(opts.hosts ?? 200, this.seed);
    this.hostZipf = new ZipfSampler(this.hosts.length, opts.hostExponent ?? 0.7);
    this.totalSec = Math.round(opts.hours * 3600);
  }

  /** Expected occurrences of the word of this rank in the whole corpus. */
  expectedCount(rank: number): number {
    const wpm = this.opts.wordsPerMinute ?? 150;
    return (this.totalSec / 60) * wpm * this.vocabulary.zipf.probability(rank);
  }

  /** The events, in date order; each is built when asked for. */
  *events(): Generator<CorpusEvent> {
    const o = this.opts;
    const rng = new Rng(this.seed);
    const zipf = this.vocabulary.zipf;
    const { written } = this.vocabulary;
    const secPerWord = 60 / (o.wordsPerMinute ?? 150);
    const [minW, maxW] = [o.minSegmentWords ?? 8, o.maxSegmentWords ?? 25];
    const [minMin, maxMin] = [o.minEventMinutes ?? 30, o.maxEventMinutes ?? 120];
    const start = Date.parse(o.start ?? '2023-01-01T00:00:00Z');
    const spanMs = (o.years ?? 3) * 365.25 * 86_400_000;
    const seedHex = (this.seed >>> 0).toString(16).padStart(8, '0').slice(-4);
    let doneSec = 0;
    for (let index = 0; doneSec < this.totalSec; index++) {
      const durationSec = Math.min(this.totalSec - doneSec, rng.int(minMin * 60, maxMin * 60));
      // Spread over the years in order: event ids and dates ascend together, as they do in the service.
      const createdAt = new Date(start + (doneSec / this.totalSec) * spanMs + rng.next() * 3_600_000).toISOString();
      const host = this.hosts[this.hostZipf.sample(rng) - 1];
      const title = `${written[zipf.sampleBetween(rng, 300, 5000) - 1]} and ${written[zipf.sampleBetween(rng, 300, 5000) - 1]}, with ${host}`;
      const segments: CorpusSegment[] = [];
      let words = 0;
      for (let t = 0; t < durationSec - 1;) {
        const n = rng.int(minW, maxW);
        const span = n * secPerWord * (0.85 + 0.3 * rng.next());
        const ranks = new Uint32Array(n);
        let text = '';
        for (let i = 0; i < n; i++) {
          const r = zipf.sample(rng);
          ranks[i] = r;
          const w = i === 0 ? capitalize(written[r - 1]) : written[r - 1];
          text += i === 0 ? w : ` ${w}`;
          if (i < n - 1 && rng.next() < 0.06) text += ',';
        }
        text += rng.next() < 0.1 ? '?' : '.';
        // A pause closes the segment; the speech fills the rest.
        const endSec = Math.min(durationSec, t + span * (0.9 + 0.07 * rng.next()));
        const seg: CorpusSegment = { startSec: round2(t), endSec: round2(endSec), text, ranks };
        if (o.wordTimings) {
          const per = (endSec - t) / n;
          seg.words = Array.from(ranks, (r, i) => ({ startSec: round2(t + i * per), endSec: round2(t + (i + 0.9) * per), text: written[r - 1] }));
        }
        segments.push(seg);
        words += n;
        t += span;
      }
      const id = `ev_${seedHex}${index.toString(16).padStart(12, '0')}`;
      yield { index, id, slug: `bench-${seedHex}-${index}`, title, host, createdAt, durationSec, words, segments };
      doneSec += durationSec;
    }
  }
}
