// Search on both catalogs, through the index writer and the engine the
// service uses: the query language (words, phrases, OR, exclusion, prefix),
// every filter, both sorts, pagination that stays put while new segments are
// indexed, failed events never shown, snippets escaped, hostile queries
// answered 400 and never reaching an engine, and the same hits on SQLite and
// PostgreSQL as the reference semantics give on a random corpus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EventCatalog } from '../shared/catalog/events.ts';
import { HttpError } from '../shared/http.ts';
import { RedisSnapshotStore } from '../publisher/search/cursor.ts';
import { hitsJson } from '../publisher/search/hit-json.ts';
import { SearchIndexWriter, type IndexSegment } from '../publisher/search/index-writer.ts';
import { IndexBehindError, processTranscriptSegments } from '../publisher/search/process-segments.ts';
import { createLogger } from '../shared/log.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keys } from '../shared/layout.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { parseQuery, matchesTokens, type ParsedQuery } from '../publisher/search/query.ts';
import { parseSearchParams } from '../publisher/search/request.ts';
import { SearchEngine, type SearchRequest } from '../publisher/search/search.ts';
import { tokensOf } from '../publisher/search/tokens.ts';
import { DIALECTS, testDatabase, type TestDatabase } from './helpers/db.ts';
import { tcpRedis, type TcpRedis } from './helpers/redis.ts';

let redis: TcpRedis;
beforeAll(async () => {
  redis = await tcpRedis();
});
afterAll(async () => {
  await redis?.close();
});

interface EventSpec {
  id: string;
  host: string | null;
  day: string;
  status: 'live' | 'published' | 'failed';
  lines: string[];
}

const EVENTS: EventSpec[] = [
  {
    id: 'ev_climate',
    host: 'Ann Lee',
    day: '2026-03-10',
    status: 'published',
    lines: [
      'Climate change is the topic tonight',
      'the change in climate policy came late',
      'Café owners talk about the climate',
      'nothing to see here <script>alert(1)</script>',
      "we don't say covid-19 twice",
    ],
  },
  {
    id: 'ev_budget',
    host: 'Bob Stone',
    day: '2026-05-02',
    status: 'live',
    lines: ['The budget vote is tomorrow', 'climate money in the budget', 'climatology is a science', 'vote early vote often'],
  },
  {
    id: 'ev_failed',
    host: 'Ann Lee',
    day: '2026-05-03',
    status: 'failed',
    lines: ['climate change in a failed capture', 'budget talk nobody may see'],
  },
  {
    id: 'ev_winter',
    host: 'ann  LEE',
    day: '2025-12-31',
    status: 'published',
    lines: ['winter climate outlook', 'the budget for snow'],
  },
];

const seg = (text: string, i: number): IndexSegment => ({ startSec: i * 5, endSec: i * 5 + 4.5, text });

describe.each(DIALECTS)('search on %s', (dialect) => {
  let t: TestDatabase;
  let catalog: EventCatalog;
  let writer: SearchIndexWriter;
  let engine: SearchEngine;
  let client: Redis;

  /** Every hit of a search, page after page (and the pages themselves). */
  async function all(q: string, rest: Partial<SearchRequest> = {}): Promise<{ eventId: string; text: string; startSec: number; id: number }[]> {
    const out = [];
    let cursor: string | undefined;
    do {
      const page = await engine.search({ query: parseQuery(q), filters: {}, sort: 'date', limit: 3, ...rest, cursor });
      out.push(...page.hits);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }
  const texts = async (q: string, rest: Partial<SearchRequest> = {}) => (await all(q, rest)).map((h) => h.text).sort();

  beforeAll(async () => {
    t = await testDatabase(dialect);
    catalog = new EventCatalog(t.db);
    writer = new SearchIndexWriter(t.db);
    client = new Redis({ port: redis.port, host: '127.0.0.1' });
    engine = new SearchEngine(t.db, new RedisSnapshotStore(client, `test-${dialect}`));
    const raw = t.db.as<{ events: { id: string; created_at: string; status: string } }>();
    for (const e of EVENTS) {
      await catalog.createEvent({
        id: e.id,
        slug: e.id.replace('_', '-'),
        title: `Title of ${e.id}`,
        host: e.host,
        source: { type: 'push' },
        streamKeyHash: null,
        reconnectWindowSec: 10,
      });
      await raw
        .updateTable('events')
        .set({ created_at: `${e.day}T12:00:00.000Z`, status: e.status })
        .where('id', '=', e.id)
        .execute();
      const ev = (await catalog.getEvent(e.id))!;
      await writer.replaceSpan({ id: ev.id, host: ev.host, createdAt: ev.createdAt }, { fromSec: 0, toSec: 1e6 }, e.lines.map(seg));
    }
  });
  afterAll(async () => {
    client?.disconnect();
    await t?.close();
  });

  it('finds all the words in any order, a quoted phrase only in order', async () => {
    expect(await texts('climate change')).toEqual(['Climate change is the topic tonight', 'the change in climate policy came late']);
    expect(await texts('"climate change"')).toEqual(['Climate change is the topic tonight']);
    expect(await texts('"change climate"')).toEqual([]);
  });

  it('OR, exclusion and prefixes', async () => {
    expect(await texts('outlook OR tomorrow')).toEqual(['The budget vote is tomorrow', 'winter climate outlook']);
    expect(await texts('climate -budget -policy')).toEqual([
      'Café owners talk about the climate',
      'Climate change is the topic tonight',
      'winter climate outlook',
    ]);
    expect(await texts('climat*')).toHaveLength(6);
    expect(await texts('climat* -climate')).toEqual(['climatology is a science']);
    expect(await texts('cafe')).toEqual(['Café owners talk about the climate']);
    expect(await texts('dont "covid 19"')).toEqual(["we don't say covid-19 twice"]);
    expect(await texts('covid-19')).toEqual(["we don't say covid-19 twice"]);
  });

  it('never shows a failed event', async () => {
    expect((await all('failed capture')).length).toBe(0);
    expect((await all('nobody')).length).toBe(0);
    expect((await all('budget')).map((h) => h.eventId).sort()).toEqual(['ev_budget', 'ev_budget', 'ev_winter']);
  });

  it('filters by host (case and spacing ignored), event, date range and live or published', async () => {
    const by = (filters: SearchRequest['filters']) => texts('climate', { filters });
    expect(await by({ host: 'ann lee' })).toEqual([
      'Café owners talk about the climate',
      'Climate change is the topic tonight',
      'the change in climate policy came late',
      'winter climate outlook',
    ]);
    expect(await by({ host: 'Bob Stone' })).toEqual(['climate money in the budget']);
    expect(await by({ host: 'nobody' })).toEqual([]);
    expect(await by({ eventId: 'ev_winter' })).toEqual(['winter climate outlook']);
    expect(await by({ from: '2026-01-01' })).toHaveLength(4);
    expect(await by({ to: '2025-12-31' })).toEqual(['winter climate outlook']);
    expect(await by({ from: '2026-03-10', to: '2026-03-10' })).toHaveLength(3);
    expect(await by({ from: '2025-12-01', to: '2026-04-30' })).toHaveLength(4);
    expect(await by({ from: '2026-04-01', to: '2026-12-31', host: 'Bob Stone' })).toEqual(['climate money in the budget']);
    expect(await by({ status: 'live' })).toEqual(['climate money in the budget']);
    expect(await by({ status: 'published' })).toHaveLength(4);
  });

  it('names the parameter that is wrong, and never lets a query reach an engine raw', async () => {
    const bad = async (raw: Record<string, unknown>) => {
      try {
        await parseSearchParams(raw, catalog);
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(HttpError);
        expect((e as HttpError).status).toBe(400);
        return (e as HttpError).field;
      }
    };
    expect(await bad({})).toBe('q');
    expect(await bad({ q: '"unclosed' })).toBe('q');
    expect(await bad({ q: '-only' })).toBe('q');
    expect(await bad({ q: 'a', from: '2026-02-30' })).toBe('from');
    expect(await bad({ q: 'a', from: '2026-03-01', to: '2026-02-01' })).toBe('to');
    expect(await bad({ q: 'a', status: 'failed' })).toBe('status');
    expect(await bad({ q: 'a', sort: 'random' })).toBe('sort');
    expect(await bad({ q: 'a', limit: '1000' })).toBe('limit');
    expect(await bad({ q: ['a', 'b'] })).toBe('q');
    expect(await bad({ q: 'a', event: 'no-such-event' })).toBe('event');
    expect(await bad({ q: 'x'.repeat(501) })).toBe('q');
    // Operators of the engines underneath are words or nothing here: each is understood or a 400, never a server error.
    for (const q of [
      'NEAR(climate budget)',
      'tokens: climate',
      'tags : "eevclimate"',
      '^climate',
      '*',
      'AND OR',
      'climate AND',
      '{a b}: c',
      'a:b',
      "'; DROP TABLE events; --",
      '"',
      '(',
      ')',
      'climate"*',
      '\u0000climate',
    ]) {
      let parsed: ParsedQuery;
      try {
        parsed = (await parseSearchParams({ q }, catalog)).query;
      } catch (e) {
        expect((e as HttpError).status).toBe(400);
        continue;
      }
      await engine.search({ query: parsed, filters: {}, sort: 'relevance', limit: 10 });
      await engine.search({ query: parsed, filters: { host: 'Ann Lee', from: '2026-01-01' }, sort: 'date', limit: 10 });
    }
  });

  it('escapes the snippet and marks the matched words', async () => {
    const q = parseQuery('script alert');
    const page = await engine.search({ query: q, filters: {}, sort: 'relevance', limit: 5 });
    const [hit] = await hitsJson(page.hits, catalog, q, 'http://replay.test');
    expect(hit.snippet).toBe('nothing to see here &lt;<mark>script</mark>&gt;<mark>alert</mark>(1)&lt;/<mark>script</mark>&gt;');
    expect(hit.url).toBe(`http://replay.test/e/ev-climate?t=${hit.startSec}`);
    expect(hit.ranges).toEqual([
      [21, 27],
      [28, 33],
      [38, 44],
    ]);
  });

  it('ranks by relevance and says how many there are', async () => {
    const page = await engine.search({ query: parseQuery('vote'), filters: {}, sort: 'relevance', limit: 10 });
    expect(page.total).toBe(2);
    expect(page.hits[0].text).toBe('vote early vote often');
    expect(page.hits[0].score).toBeGreaterThan(page.hits[1].score);
  });

  it.each(['date', 'relevance'] as const)('pages by %s stay put while new segments are indexed', async (sort) => {
    const ev = (await catalog.getEvent('ev_budget'))!;
    const q = parseQuery('pagination');
    const write = (from: number, n: number) =>
      writer.replaceSpan(
        { id: ev.id, host: ev.host, createdAt: ev.createdAt },
        { fromSec: 1000 + from * 5, toSec: 1000 + (from + n) * 5 },
        Array.from({ length: n }, (_, i) => ({
          startSec: 1000 + (from + i) * 5,
          endSec: 1000 + (from + i) * 5 + 4,
          text: `pagination ${'word '.repeat(i % 4)}line ${from + i}`,
        })),
      );
    await write(0, 10);
    const first = await engine.search({ query: q, filters: {}, sort, limit: 4 });
    expect(first.total).toBe(10);
    const seen = first.hits.map((h) => h.text);
    let cursor = first.nextCursor;
    await write(10, 5); // new matching segments arrive while the reader is on page 1
    while (cursor) {
      const page = await engine.search({ query: q, filters: {}, sort, limit: 4, cursor });
      expect(page.total).toBe(10);
      seen.push(...page.hits.map((h) => h.text));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    expect(seen.every((s) => Number(/line (\d+)/.exec(s)![1]) < 10)).toBe(true);
    // A new search sees the new segments; a cursor of another search is refused.
    expect((await engine.search({ query: q, filters: {}, sort, limit: 4 })).total).toBe(15);
    await expect(engine.search({ query: parseQuery('other'), filters: {}, sort, limit: 4, cursor: first.nextCursor! })).rejects.toMatchObject({ status: 400 });
    await writer.replaceSpan({ id: ev.id, host: ev.host, createdAt: ev.createdAt }, { fromSec: 1000, toSec: 2000 }, []);
  });

  it('replaces a span when the transcript changes there, and finds within one event in order', async () => {
    const ev = (await catalog.getEvent('ev_winter'))!;
    const iev = { id: ev.id, host: ev.host, createdAt: ev.createdAt };
    await writer.replaceSpan(iev, { fromSec: 5, toSec: 100 }, [seg('the budget for rain', 1), seg('budget again', 2)]);
    expect(await texts('budget', { filters: { eventId: ev.id } })).toEqual(['budget again', 'the budget for rain']);
    expect(await writer.indexedSegments(ev.id)).toBe(3);
    const found = await engine.inEvent(ev.id, parseQuery('budget OR winter'));
    expect(found.hits.map((h) => h.startSec)).toEqual([0, 5, 10]);
    // The same message again changes nothing.
    await writer.replaceSpan(iev, { fromSec: 5, toSec: 100 }, [seg('the budget for rain', 1), seg('budget again', 2)]);
    expect(await writer.indexedSegments(ev.id)).toBe(3);
  });

  it('a final message ahead of the last window: checked again after the backoff, rebuilt only if still short', async () => {
    const ev = (await catalog.getEvent('ev_winter'))!;
    const iev = { id: ev.id, host: ev.host, createdAt: ev.createdAt };
    // The transcript as the transcriber stores it, on a real fs store; its reads are what a rebuild costs.
    const storage = new FsStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'replay-search-final-')), 'http://127.0.0.1/files');
    const segments = [0, 5, 10, 15].map((t) => ({ startTime: t, endTime: t + 5, body: `stored line ${t}` }));
    await storage.put(keys.transcript(ev.id, 'json'), JSON.stringify({ version: '1.0.0', segments }));
    let rebuilt = 0;
    const get = storage.get.bind(storage);
    storage.get = (key: string) => {
      if (key === keys.transcript(ev.id, 'json')) rebuilt++;
      return get(key);
    };
    const deps = { catalog, storage, writer, log: createLogger('test') };
    await writer.replaceAll(iev, [seg('winter one', 0), seg('winter two', 1), seg('winter three', 2)]);
    const final = { eventId: ev.id, version: 9, fromSec: 0, toSec: 0, segments: [], final: { total: 4 } };
    // First try: 3 of 4 indexed (the last window's message is still on its way): retried, nothing rebuilt.
    await expect(processTranscriptSegments({ data: final, id: 'f', timestamp: Date.now(), attemptsMade: 0 }, deps)).rejects.toBeInstanceOf(IndexBehindError);
    expect(rebuilt).toBe(0);
    // Its message lands before the retry: the retry finds the index whole.
    await writer.replaceSpan(iev, { fromSec: 15, toSec: 20 }, [seg('the last window', 3)]);
    await processTranscriptSegments({ data: final, id: 'f', timestamp: Date.now(), attemptsMade: 1 }, deps);
    expect(rebuilt).toBe(0);
    // A message that never comes: the retry rebuilds the event from the stored transcript.
    await processTranscriptSegments({ data: { ...final, final: { total: 5 } }, id: 'f', timestamp: Date.now(), attemptsMade: 1 }, deps);
    expect(rebuilt).toBe(1);
    expect(await writer.indexedSegments(ev.id)).toBe(4);
    expect(await texts('stored', { filters: { eventId: ev.id } })).toHaveLength(4);
    fs.rmSync(storage.root, { recursive: true, force: true });
  });
});

describe('the same hits on both catalogs as the reference semantics give', () => {
  const VOCAB = ['alpha', 'beta', 'gamma', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'alps', 'gamut', 'deltas'];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
  const corpus = Array.from({ length: 300 }, () => Array.from({ length: 3 + Math.floor(rand() * 8) }, () => pick(VOCAB)).join(' '));
  const clause = (): string => {
    const r = rand();
    if (r < 0.5) return pick(VOCAB);
    if (r < 0.7) return `"${pick(VOCAB)} ${pick(VOCAB)}"`;
    return `${pick(VOCAB).slice(0, 2 + Math.floor(rand() * 3))}*`;
  };
  const queries = Array.from({ length: 150 }, () => {
    const parts = [clause()];
    for (let i = Math.floor(rand() * 3); i > 0; i--) parts.push(rand() < 0.3 ? `OR ${clause()}` : rand() < 0.2 ? `-${pick(VOCAB)}` : clause());
    return parts.join(' ');
  });
  const engines: Record<string, { t: TestDatabase; engine: SearchEngine; client: Redis }> = {};

  beforeAll(async () => {
    for (const dialect of DIALECTS) {
      const t = await testDatabase(dialect);
      const catalog = new EventCatalog(t.db);
      await catalog.createEvent({ id: 'ev_corpus', slug: 'corpus', title: 'Corpus', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 10 });
      const ev = (await catalog.getEvent('ev_corpus'))!;
      await new SearchIndexWriter(t.db).replaceAll({ id: ev.id, host: null, createdAt: ev.createdAt }, corpus.map(seg));
      const client = new Redis({ port: redis.port, host: '127.0.0.1' });
      engines[dialect] = { t, client, engine: new SearchEngine(t.db, new RedisSnapshotStore(client, `same-${dialect}`)) };
    }
  });
  afterAll(async () => {
    for (const e of Object.values(engines)) {
      e.client.disconnect();
      await e.t.close();
    }
  });

  it('for 150 random queries', async () => {
    let compared = 0;
    for (const q of queries) {
      let parsed: ParsedQuery;
      try {
        parsed = parseQuery(q);
      } catch {
        continue;
      }
      const expected = corpus.flatMap((text, i) => (matchesTokens(parsed, tokensOf(text)) ? [i * 5] : []));
      for (const dialect of DIALECTS) {
        const found = await engines[dialect].engine.inEvent('ev_corpus', parsed, 1000);
        expect(
          found.hits.map((h) => h.startSec),
          `${dialect}: ${q}`,
        ).toEqual(expected);
      }
      // Relevance is ranked outside the engines: the same order and the same scores on both.
      const ranked = await Promise.all(
        DIALECTS.map(async (d) =>
          (await engines[d].engine.search({ query: parsed, filters: {}, sort: 'relevance', limit: 100 })).hits.map((h) => [h.startSec, h.score]),
        ),
      );
      expect(ranked[1], `ranking: ${q}`).toEqual(ranked[0]);
      compared++;
    }
    expect(compared).toBeGreaterThan(120);
  });
});
