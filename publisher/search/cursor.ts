// Pagination that stays put while the index grows. The first page fixes a
// snapshot (the highest segment id then: rows written later have higher
// ids), and every later page reads within it:
//   - by date, the cursor says where the last page stopped (keyset);
//   - by relevance, the ranking of the first page is kept (in Redis, for
//     30 minutes) and the cursor says how far into it the reader is, since
//     ranks computed later would shift as the index's statistics change.
// A cursor is bound to its query and filters: reusing it for another search
// is a 400, not a page of something else.
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { badRequest } from '../../shared/http.ts';

export type SearchSort = 'relevance' | 'date';

export type Cursor =
  { sort: 'date'; fp: string; snap: number; before: number; total: number; capped: boolean } | { sort: 'relevance'; fp: string; key: string; offset: number };

/** A short digest of what was asked (query and filters): a cursor only continues the search it came from. */
export function fingerprint(parts: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Decodes a cursor of this search, or a 400 saying to search again. */
export function decodeCursor(raw: string, fp: string, sort: SearchSort): Cursor {
  const invalid = () => badRequest('cursor', 'cursor is not valid for this search: search again without it');
  if (raw.length > 512 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  let c: Partial<Record<string, unknown>>;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Record<string, unknown>>;
  } catch {
    throw invalid();
  }
  if (!c || typeof c !== 'object' || c.fp !== fp || c.sort !== sort) throw invalid();
  if (c.sort === 'date' && isInt(c.snap) && isInt(c.before) && isInt(c.total) && typeof c.capped === 'boolean') {
    return { sort: 'date', fp, snap: c.snap, before: c.before, total: c.total, capped: c.capped };
  }
  if (c.sort === 'relevance' && typeof c.key === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(c.key) && isInt(c.offset)) {
    return { sort: 'relevance', fp, key: c.key, offset: c.offset };
  }
  throw invalid();
}

/** A relevance ranking, kept for the pages after the first. */
export interface RankedSnapshot {
  ids: number[];
  total: number;
  capped: boolean;
}

export interface SnapshotStore {
  put(s: RankedSnapshot): Promise<string>;
  get(key: string): Promise<RankedSnapshot | undefined>;
}

const SNAPSHOT_TTL_SEC = 30 * 60;

/** Rankings in Redis under `<prefix>:search:<random>`, gone after 30 minutes. */
export class RedisSnapshotStore implements SnapshotStore {
  constructor(
    private readonly redis: Pick<Redis, 'set' | 'get'>,
    private readonly prefix: string,
  ) {}

  async put(s: RankedSnapshot): Promise<string> {
    const key = crypto.randomBytes(16).toString('base64url');
    await this.redis.set(`${this.prefix}:search:${key}`, JSON.stringify(s), 'EX', SNAPSHOT_TTL_SEC);
    return key;
  }

  async get(key: string): Promise<RankedSnapshot | undefined> {
    const raw = await this.redis.get(`${this.prefix}:search:${key}`);
    return raw ? (JSON.parse(raw) as RankedSnapshot) : undefined;
  }
}
