// Picks the storage driver the configuration asks for.
import path from 'node:path';
import type { Config } from '../config.ts';
import { FsStorage } from './fs.ts';
import { S3Storage } from './s3.ts';
import type { Storage } from './storage.ts';

export type { ByteRange, ObjectInfo, PutOptions, Storage } from './storage.ts';
export { assertValidKey, NotFoundError, StorageKeyError } from './storage.ts';
export { FsStorage, type OpenObject } from './fs.ts';
export { S3Storage } from './s3.ts';

export function createStorage(config: Config, opts: { fsRoot?: string } = {}): Storage {
  if (config.storage === 's3') return new S3Storage(config.s3);
  return new FsStorage(opts.fsRoot ?? path.join(config.dataDir, 'storage'), `${config.publicUrl}/files`);
}
