// Public and private objects kept apart behind one Storage: keys under
// `private/` (the unedited source archive, work files) go to the private
// store, everything else to the public one, which is what listeners, podcast
// apps and CDNs read. A private key has no public URL, so no page, feed,
// manifest or API answer can hand one out.
//
//   fs: public under DATA_DIR/storage (served at /files), private under
//       DATA_DIR/private (never served)
//   S3: public in S3_BUCKET; private in S3_PRIVATE_BUCKET when set, else under
//       the `private/` prefix of S3_BUCKET, which a bucket policy keeps private
import type { Readable } from 'node:stream';
import { PRIVATE_PREFIX } from '../layout.ts';
import { StorageKeyError, type ByteRange, type ObjectInfo, type PutOptions, type Storage } from './storage.ts';

export const isPrivateKey = (key: string) => key.startsWith(PRIVATE_PREFIX);

export class PartitionedStorage implements Storage {
  readonly kind: Storage['kind'];
  /** The stores' own part settings where both agree (fs on one filesystem; S3 has neither): an upload's parts then suit whichever store holds its key. */
  readonly joinAlignment?: number;
  readonly preferredPartBytes?: number;

  constructor(
    /** Objects with public URLs. */
    readonly publicStore: Storage,
    /** Objects under `private/`: the same store (S3 with a private prefix) or another one. */
    readonly privateStore: Storage,
  ) {
    this.kind = publicStore.kind;
    const same = <T>(a: T, b: T) => (a === b ? a : undefined);
    this.joinAlignment = same(publicStore.joinAlignment, privateStore.joinAlignment);
    this.preferredPartBytes = same(publicStore.preferredPartBytes, privateStore.preferredPartBytes);
  }

  private of(key: string): Storage {
    return isPrivateKey(key) ? this.privateStore : this.publicStore;
  }

  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void> {
    return this.of(key).put(key, body, opts);
  }

  putFile(key: string, file: string, opts?: PutOptions): Promise<void> {
    return this.of(key).putFile(key, file, opts);
  }

  get(key: string): Promise<Buffer> {
    return this.of(key).get(key);
  }

  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.of(key).getStream(key, range);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.of(key).head(key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (isPrivateKey(prefix)) return this.privateStore.list(prefix);
    const pub = await this.publicStore.list(prefix);
    // A prefix that covers `private/` (such as '') lists both stores; the same store is listed once.
    if (!PRIVATE_PREFIX.startsWith(prefix) || this.privateStore === this.publicStore) return pub;
    const priv = await this.privateStore.list(PRIVATE_PREFIX);
    return [...pub, ...priv].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  delete(key: string): Promise<void> {
    return this.of(key).delete(key);
  }

  startParts(key: string, opts?: PutOptions): Promise<string> {
    return this.of(key).startParts(key, opts);
  }

  putPart(key: string, uploadId: string, partNo: number, body: Buffer): Promise<{ etag: string }> {
    return this.of(key).putPart(key, uploadId, partNo, body);
  }

  completeParts(key: string, uploadId: string, etags: string[]): Promise<{ size: number; sha256?: string }> {
    return this.of(key).completeParts(key, uploadId, etags);
  }

  abortParts(key: string, uploadId: string): Promise<void> {
    return this.of(key).abortParts(key, uploadId);
  }

  publicUrl(key: string): string {
    if (isPrivateKey(key)) throw new StorageKeyError(`private objects have no public URL: ${JSON.stringify(key)}`);
    return this.publicStore.publicUrl(key);
  }
}
