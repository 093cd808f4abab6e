// Picks the storage driver the configuration asks for.
import path from 'node:path';
import type { Config } from '../config.ts';
import { FsStorage } from './fs.ts';
import { PartitionedStorage } from './partitioned.ts';
import { S3Storage } from './s3.ts';

export type { ByteRange, ObjectInfo, PutOptions, Storage } from './storage.ts';
export { assertValidKey, NotFoundError, StorageKeyError } from './storage.ts';
export { FsStorage, type OpenObject } from './fs.ts';
export { S3Storage } from './s3.ts';
export { isPrivateKey, PartitionedStorage } from './partitioned.ts';

/** The configured storage: public objects and private ones (keys under `private/`) kept apart. */
export function createStorage(config: Config): PartitionedStorage {
  if (config.storage === 's3') {
    const pub = new S3Storage(config.s3);
    const { privateBucket } = config.s3;
    return new PartitionedStorage(pub, privateBucket ? new S3Storage({ ...config.s3, bucket: privateBucket, publicBaseUrl: undefined }) : pub);
  }
  // Private keys all start with `private/`, so rooted at the data dir they land in DATA_DIR/private, beside (not under) the served root.
  return new PartitionedStorage(
    new FsStorage(path.join(config.dataDir, 'storage'), `${config.publicUrl}/files`),
    new FsStorage(config.dataDir, 'about:private'),
  );
}
