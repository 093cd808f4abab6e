// A real s3rver in a child process on a fixed loopback port, that can be
// killed and started again on the same port and directory (a storage outage).
// It runs with --openssl-legacy-provider: s3rver makes ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 only offers that way.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { S3Storage } from '../../shared/storage/s3.ts';
import { restartable } from './restartable.ts';
import { freePort } from './service.ts';

const CHILD = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: Number(process.argv[4]), silent: true, directory: process.argv[2],
  configureBuckets: process.argv[3].split(',').map((name) => ({ name, configs: [] })) });
server.run().then((a) => console.log(JSON.stringify({ port: a.port })), (e) => { console.error(e); process.exit(1); });
process.stdin.on('end', () => server.close().finally(() => process.exit(0))).resume();
`;

export interface S3rverProcess {
  port: number;
  endpoint: string;
  bucket: string;
  dir: string;
  /** The env that points `replay start` at this bucket. */
  env: Record<string, string>;
  start(): Promise<void>;
  /** SIGKILL: the endpoint vanishes mid-request. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** `more` buckets are made beside `bucket` (e.g. a private one). */
export async function s3rverProcess(bucket = 'replay-outage', more: string[] = []): Promise<S3rverProcess> {
  const script = createRequire(import.meta.url).resolve('s3rver');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-s3rver-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const handle: S3rverProcess = {
    port,
    endpoint,
    bucket,
    dir,
    env: {
      STORAGE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: '1',
      S3_REGION: 'us-east-1',
    },
    ...restartable(dir, async () => {
      const p = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, script, dir, [bucket, ...more].join(','), String(port)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve();
        });
        p.once('exit', (code) => reject(new Error(`s3rver exited early (${code}): ${err}`)));
      });
      return p;
    }),
  };
  await handle.start();
  return handle;
}

/** The service's S3 driver on an s3rver (its own bucket unless told another), as the tests read and write it directly. */
export function s3rverStorage(endpoint: string, bucket: string): S3Storage {
  return new S3Storage({ endpoint, region: 'us-east-1', bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
}
