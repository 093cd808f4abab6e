// One storage interface, two drivers (local filesystem, S3-compatible).
// Keys are relative, slash-separated paths such as `events/ev_x/chunks/000001.ts`;
// every key is validated before a driver sees it, so a hostile name can never
// leave the storage root.
import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  contentType?: string;
  cacheControl?: string;
  lastModified?: Date;
}

export interface ByteRange {
  start: number;
  /** Inclusive, like HTTP's Range. */
  end?: number;
}

export interface Storage {
  readonly kind: 'fs' | 's3';
  /** Writes a whole object atomically: readers see the old or the new object, never a part. */
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void>;
  /** Uploads a local file (multipart for large objects on S3). */
  putFile(key: string, file: string, opts?: PutOptions): Promise<void>;
  get(key: string): Promise<Buffer>;
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  /** undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  /** The URL a listener's browser or podcast app fetches the object from. */
  publicUrl(key: string): string;
}

export class StorageKeyError extends Error {}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Rejects keys that are absolute, contain `..`, empty segments or unusual characters. */
export function assertValidKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) {
    throw new StorageKeyError(`invalid storage key: ${JSON.stringify(key)}`);
  }
  for (const seg of key.split('/')) {
    if (!SEGMENT.test(seg) || seg === '.' || seg === '..' || seg.includes('..')) {
      throw new StorageKeyError(`invalid storage key: ${JSON.stringify(key)}`);
    }
  }
  return key;
}

export class NotFoundError extends Error {
  constructor(key: string) {
    super(`no such object: ${key}`);
  }
}
