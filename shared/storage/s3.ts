// S3-compatible storage driver (AWS S3, R2, B2, MinIO, s3rver, ...).
import fs from 'node:fs';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Config } from '../config.ts';
import { assertPart, assertValidKey, NotFoundError, StorageKeyError, type ByteRange, type ObjectInfo, type PutOptions, type Storage } from './storage.ts';

const PART_SIZE = 8 * 1024 * 1024;

function status(err: unknown): number | undefined {
  return (err as S3ServiceException)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || status(err) === 404;
}

export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly cfg: S3Config;

  constructor(cfg: S3Config) {
    if (!cfg.bucket) throw new Error('S3Storage needs a bucket');
    this.cfg = cfg;
    this.bucket = cfg.bucket;
    const clientCfg: S3ClientConfig = {
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.forcePathStyle,
      // Since SDK 3.729 the client adds CRC32 checksums (and aws-chunked trailers)
      // to every upload by default; most non-AWS providers reject or mangle them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
    };
    // Without explicit keys the SDK's default chain applies (env, profile, IAM role).
    if (cfg.accessKeyId && cfg.secretAccessKey) {
      clientCfg.credentials = { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey };
    }
    this.client = new S3Client(clientCfg);
  }

  async put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void> {
    assertValidKey(key);
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: buf,
        ContentLength: buf.length,
        ContentType: opts?.contentType,
        CacheControl: opts?.cacheControl,
      }),
    );
  }

  /** Streams the file up: one PutObject when small, a multipart upload of 8 MiB parts when not. */
  async putFile(key: string, file: string, opts?: PutOptions): Promise<void> {
    assertValidKey(key);
    await fs.promises.access(file, fs.constants.R_OK); // fail fast, before any request
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: fs.createReadStream(file),
        ContentType: opts?.contentType,
        CacheControl: opts?.cacheControl,
      },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false, // abort the multipart upload so no orphaned parts are billed
    });
    await upload.done();
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range && (range.start < 0 || (range.end !== undefined && range.end < range.start))) {
      throw new RangeError(`invalid range ${range.start}-${range.end ?? ''}`);
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      // In Node the body is an IncomingMessage (a Readable) behind an SDK mixin type.
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key);
      if ((err as Error)?.name === 'InvalidRange' || status(err) === 416) {
        throw new RangeError(`range ${range?.start}-${range?.end ?? ''} not satisfiable for ${key}`, { cause: err });
      }
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: res.ContentLength ?? 0,
        contentType: res.ContentType,
        cacheControl: res.CacheControl,
        lastModified: res.LastModified,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix.startsWith('/') || prefix.split('/').includes('..')) {
      throw new StorageKeyError(`invalid storage prefix: ${JSON.stringify(prefix)}`);
    }
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async startParts(key: string, opts?: PutOptions): Promise<string> {
    assertValidKey(key);
    const res = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts?.contentType, CacheControl: opts?.cacheControl }),
    );
    if (!res.UploadId) throw new Error(`S3 gave no upload id for ${key}`);
    return res.UploadId;
  }

  async putPart(key: string, uploadId: string, partNo: number, body: Buffer): Promise<{ etag: string }> {
    assertValidKey(key);
    assertPart(uploadId, partNo);
    try {
      const res = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNo, Body: body, ContentLength: body.length }),
      );
      if (!res.ETag) throw new Error(`S3 gave no ETag for part ${partNo} of ${key}`);
      return { etag: res.ETag.replace(/"/g, '') };
    } catch (err) {
      if ((err as Error)?.name === 'NoSuchUpload') throw new NotFoundError(`upload of ${key}`);
      throw err;
    }
  }

  /** The store joins the parts itself: nothing is read back, so no sha256. */
  async completeParts(key: string, uploadId: string, etags: string[]): Promise<{ size: number }> {
    assertValidKey(key);
    etags.forEach((_, i) => assertPart(uploadId, i + 1));
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((etag, i) => ({ PartNumber: i + 1, ETag: `"${etag}"` })) },
        }),
      );
    } catch (err) {
      if ((err as Error)?.name === 'NoSuchUpload') throw new NotFoundError(`upload of ${key}`);
      throw err;
    }
    const info = await this.head(key);
    if (!info) throw new Error(`${key} is missing right after its upload completed`);
    return { size: info.size };
  }

  async abortParts(key: string, uploadId: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if ((err as Error)?.name === 'NoSuchUpload' || status(err) === 404) return;
      // A store that cannot abort (s3rver answers 405): its parts go with the
      // bucket's rule for incomplete uploads (AbortIncompleteMultipartUpload).
      if (status(err) === 405 || (err as Error)?.name === 'NotImplemented') return;
      throw err;
    }
  }

  publicUrl(key: string): string {
    assertValidKey(key);
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    if (this.cfg.publicBaseUrl) return `${this.cfg.publicBaseUrl.replace(/\/+$/, '')}/${encoded}`;
    const bucket = encodeURIComponent(this.bucket);
    if (!this.cfg.endpoint) {
      // AWS itself; dotted bucket names break TLS on virtual-hosted URLs.
      return this.cfg.forcePathStyle || this.bucket.includes('.')
        ? `https://s3.${this.cfg.region}.amazonaws.com/${bucket}/${encoded}`
        : `https://${this.bucket}.s3.${this.cfg.region}.amazonaws.com/${encoded}`;
    }
    const ep = new URL(this.cfg.endpoint);
    const basePath = ep.pathname.replace(/\/+$/, '');
    if (this.cfg.forcePathStyle) return `${ep.origin}${basePath}/${bucket}/${encoded}`;
    return `${ep.protocol}//${this.bucket}.${ep.host}${basePath}/${encoded}`;
  }
}
