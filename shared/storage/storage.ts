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
  /**
   * An object written in numbered parts over time (S3: a multipart upload),
   * so a large file can be sent while it grows and only joined at the end.
   * Parts may be written in any order and again (the last write of a number
   * wins); on S3 every part but the last must be at least MIN_PART_BYTES.
   * Nothing is visible at `key` until completeParts.
   */
  startParts(key: string, opts?: PutOptions): Promise<string>;
  /** The part's ETag, which completeParts needs back (S3 cannot be asked for it everywhere). */
  putPart(key: string, uploadId: string, partNo: number, body: Buffer): Promise<{ etag: string }>;
  /**
   * Joins parts 1..n (their ETags in part order) into `key`, atomically; the
   * upload is gone afterwards. `sha256` when the bytes passed through this
   * process (fs), not when the store joined them itself (S3).
   */
  completeParts(key: string, uploadId: string, etags: string[]): Promise<{ size: number; sha256?: string }>;
  /**
   * A first part whose length is a multiple of this joins the others without
   * their bytes being copied at completeParts (fs on ext4 or XFS); absent
   * where the length of part 1 makes no difference (S3).
   */
  readonly joinAlignment?: number;
  /**
   * The part size this store is best written in, when it has no minimum part
   * size (fs: small parts keep what is left for the end small); absent: parts
   * of at least MIN_PART_BYTES (S3).
   */
  readonly preferredPartBytes?: number;
  /** Drops an upload and its parts; an unknown or finished upload is not an error. */
  abortParts(key: string, uploadId: string): Promise<void>;
}

/** S3's smallest part, for every part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part number. */
export const MAX_PARTS = 10_000;

const UPLOAD_ID = /^[A-Za-z0-9._~+/=-]{1,1024}$/;

/** Part numbers and upload ids come from our own state, but are checked before they reach a path or a request. */
export function assertPart(uploadId: string, partNo: number): void {
  if (!UPLOAD_ID.test(uploadId)) throw new StorageKeyError(`invalid upload id: ${JSON.stringify(uploadId)}`);
  if (!Number.isInteger(partNo) || partNo < 1 || partNo > MAX_PARTS) throw new RangeError(`part number must be 1..${MAX_PARTS}, not ${partNo}`);
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
