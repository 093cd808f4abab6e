// Local-filesystem storage driver. Objects are plain files under `root`, so
// they can be served with byte ranges and inspected by hand.
//
// Layout: key `a/b/c.ts` is the file `<root>/a/b/c.ts`; its Content-Type and
// Cache-Control live in the sidecar `<root>/a/b/.c.ts.meta.json`. Temp files are
// `<root>/a/b/.c.ts.<random>.tmp`. Both start with a dot, and a valid key segment
// never does (see assertValidKey), so neither can collide with a real object and
// `list` skips them without any special key rules.
//
// Limitation shared by every filesystem (but not by S3): a key cannot be both an
// object and a "directory" prefix of other keys (`a` and `a/b`).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { appendArrived, checkParts, isMissing, joinInPlace, probeInsertRange, storePart } from './fs-join.ts';
import { assertPart, assertValidKey, NotFoundError, StorageKeyError, type ByteRange, type ObjectInfo, type PutOptions, type Storage } from './storage.ts';

interface Meta {
  contentType?: string;
  cacheControl?: string;
}

/** An object opened for reading: its info and a handle pinned to one version of it. */
export interface OpenObject {
  info: ObjectInfo;
  /** Streams the whole object or an inclusive range; the stream closes the handle. */
  stream(range?: ByteRange): Readable;
  /** Releases the handle when `stream` is not called (HEAD, 304, 416). */
  close(): Promise<void>;
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Uploads in progress live under `<root>/.uploads/<id>/` (a dot name: never listed, never a key). */
const UPLOADS_DIR = '.uploads';
const FS_UPLOAD_ID = /^[0-9a-f]{24}$/;
/** A completed upload's directory, waiting to be deleted (never a valid upload id). */
const DONE_SUFFIX = '.done';

interface UploadMeta {
  key: string;
  opts?: PutOptions;
}

/** The block size of the filesystem that holds (or will hold) `dir`, asked of its nearest existing ancestor. */
function blockSizeAt(dir: string): number {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      return fs.statfsSync(d).bsize;
    } catch (err) {
      if (path.dirname(d) === d || !isMissing(err)) return 1;
    }
  }
}

export class FsStorage implements Storage {
  readonly kind = 'fs' as const;
  readonly root: string;
  /** The filesystem's block size: a first part of a multiple of it joins the others without copying them. */
  readonly joinAlignment: number;
  /** No minimum part size here: 1 MiB parts (about 2 minutes of audio.m4a) leave at most that much to write at the end. */
  readonly preferredPartBytes = 1024 * 1024;
  private readonly base: string;
  private insertRange?: Promise<boolean>;

  constructor(root: string, publicBaseUrl: string) {
    this.root = path.resolve(root);
    this.base = publicBaseUrl.replace(/\/+$/, '');
    this.joinAlignment = blockSizeAt(this.root);
  }

  /** Validated key -> absolute path, refusing anything that resolves outside root. */
  private pathFor(key: string): string {
    assertValidKey(key);
    const p = path.resolve(this.root, ...key.split('/'));
    const under = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    if (!p.startsWith(under)) throw new StorageKeyError(`key escapes storage root: ${key}`);
    return p;
  }

  private static metaPath(file: string): string {
    return path.join(path.dirname(file), `.${path.basename(file)}.meta.json`);
  }

  private static tempPath(file: string): string {
    return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  }

  private static async readMeta(file: string): Promise<Meta> {
    try {
      const m = JSON.parse(await fsp.readFile(FsStorage.metaPath(file), 'utf8')) as Meta;
      return { contentType: m.contentType || undefined, cacheControl: m.cacheControl || undefined };
    } catch {
      return {}; // no sidecar (or a torn one from a crash): no stored headers
    }
  }

  /**
   * Moves a fully written temp file into place, metadata first. A reader can
   * briefly see new headers with the old bytes, but never a partial file.
   */
  private async commit(file: string, tmp: string, opts: PutOptions | undefined): Promise<void> {
    const meta: Meta = { contentType: opts?.contentType, cacheControl: opts?.cacheControl };
    const metaFile = FsStorage.metaPath(file);
    try {
      if (meta.contentType || meta.cacheControl) {
        const metaTmp = FsStorage.tempPath(metaFile);
        await fsp.writeFile(metaTmp, JSON.stringify(meta));
        await fsp.rename(metaTmp, metaFile);
      } else {
        // Like S3, a put replaces the headers as well: drop stale ones.
        await fsp.rm(metaFile, { force: true });
      }
      await fsp.rename(tmp, file);
      // The rename is durable only once the directory entry is: a power loss must not take back a committed object.
      await fsyncDir(path.dirname(file));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void> {
    const file = this.pathFor(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = FsStorage.tempPath(file);
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile(body);
      await fh.sync(); // so a crash after the rename cannot leave an empty file
    } catch (err) {
      await fh.close();
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await this.commit(file, tmp, opts);
  }

  async putFile(key: string, source: string, opts?: PutOptions): Promise<void> {
    const file = this.pathFor(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = FsStorage.tempPath(file);
    try {
      await fsp.copyFile(source, tmp, fs.constants.COPYFILE_EXCL);
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync().finally(() => fh.close());
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await this.commit(file, tmp, opts);
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.pathFor(key));
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(key);
      throw err;
    }
  }

  /** Opens a regular file, or returns undefined when there is no such object. */
  async open(key: string): Promise<OpenObject | undefined> {
    const file = this.pathFor(key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return undefined;
      }
      const meta = await FsStorage.readMeta(file);
      const info: ObjectInfo = { key, size: st.size, lastModified: st.mtime, ...meta };
      return {
        info,
        stream: (range) => {
          if (range && (range.start < 0 || range.start >= st.size || (range.end !== undefined && range.end < range.start))) {
            void fh.close();
            throw new RangeError(`range ${range.start}-${range.end ?? ''} not satisfiable for ${st.size} bytes`);
          }
          const end = range?.end === undefined ? undefined : Math.min(range.end, st.size - 1);
          return fh.createReadStream({ start: range?.start ?? 0, end, autoClose: true });
        },
        close: () => fh.close(),
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const obj = await this.open(key);
    if (!obj) throw new NotFoundError(key);
    return obj.stream(range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathFor(key);
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) return undefined;
      return { key, size: st.size, lastModified: st.mtime, ...(await FsStorage.readMeta(file)) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Every object whose key starts with `prefix` (recursively), sorted by key.
   * Like S3's ListObjectsV2 it reports key, size and lastModified only.
   */
  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk from the deepest directory the prefix names; the rest is a string filter.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash > 0 ? prefix.slice(0, slash) : '';
    if (slash === 0) throw new StorageKeyError(`invalid storage prefix: ${JSON.stringify(prefix)}`);
    const dir = dirKey ? this.pathFor(dirKey) : this.root;
    const out: ObjectInfo[] = [];
    const walk = async (abs: string, keyPrefix: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(abs, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temp files and metadata sidecars
        const key = keyPrefix + e.name;
        // Symlinks are neither followed nor listed: they could point outside root.
        if (e.isDirectory()) {
          if ((key + '/').startsWith(prefix)) await walk(path.join(abs, e.name), key + '/');
        } else if (e.isFile() && key.startsWith(prefix)) {
          try {
            assertValidKey(key); // skip stray files a person dropped in with odd names
          } catch {
            continue;
          }
          const st = await fsp.stat(path.join(abs, e.name)).catch(() => undefined);
          if (st) out.push({ key, size: st.size, lastModified: st.mtime });
        }
      }
    };
    await walk(dir, dirKey ? dirKey + '/' : '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    // Empty parent directories are left in place: removing them would race with
    // a concurrent put into the same directory.
    await fsp.rm(FsStorage.metaPath(file), { force: true });
    try {
      await fsp.unlink(file);
    } catch (err) {
      if (!isMissing(err)) throw err; // deleting a missing object is not an error (as on S3)
    }
  }

  publicUrl(key: string): string {
    assertValidKey(key);
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private uploadDir(uploadId: string): string {
    if (!FS_UPLOAD_ID.test(uploadId)) throw new StorageKeyError(`invalid upload id: ${JSON.stringify(uploadId)}`);
    return path.join(this.root, UPLOADS_DIR, uploadId);
  }

  private async uploadMeta(key: string, uploadId: string): Promise<UploadMeta> {
    const dir = this.uploadDir(uploadId);
    let meta: UploadMeta;
    try {
      meta = JSON.parse(await fsp.readFile(path.join(dir, 'upload.json'), 'utf8')) as UploadMeta;
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`upload ${uploadId} of ${key}`);
      throw err;
    }
    if (meta.key !== key) throw new StorageKeyError(`upload ${uploadId} is not for ${key}`);
    return meta;
  }

  async startParts(key: string, opts?: PutOptions): Promise<string> {
    this.pathFor(key);
    const uploadId = randomBytes(12).toString('hex');
    const dir = this.uploadDir(uploadId);
    await fsp.mkdir(dir, { recursive: true });
    const meta: UploadMeta = { key, opts };
    await fsp.writeFile(path.join(dir, 'upload.json'), JSON.stringify(meta));
    return uploadId;
  }

  async putPart(key: string, uploadId: string, partNo: number, body: Buffer): Promise<{ etag: string }> {
    assertPart(uploadId, partNo);
    await this.uploadMeta(key, uploadId);
    const dir = this.uploadDir(uploadId);
    const etag = await storePart(dir, partNo, body, (file) => FsStorage.tempPath(file));
    // The join at the end then moves no data (fs-join.ts): the parts after the first are laid end to end now.
    if (partNo >= 2 && (await this.canInsertRange())) await appendArrived(dir, { repair: false });
    return { etag };
  }

  /**
   * Joins the parts into a file beside the object, then commits it like a
   * put: without copying them when the first part is block-aligned and the
   * filesystem can insert a range (fs-join.ts), by copying them (and hashing
   * on the way) otherwise.
   */
  async completeParts(key: string, uploadId: string, etags: string[]): Promise<{ size: number; sha256?: string }> {
    const meta = await this.uploadMeta(key, uploadId);
    const dir = this.uploadDir(uploadId);
    const file = this.pathFor(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    if (etags.length) assertPart(uploadId, etags.length); // parts 1..n, n within S3's limit
    const sizes = await checkParts(dir, etags, `upload ${uploadId} of ${key}`);
    const size = sizes.reduce((a, b) => a + b, 0);
    const joined = (await this.canInsertRange()) ? await joinInPlace(dir, sizes, this.joinAlignment) : undefined;
    if (joined) {
      await this.commit(file, joined, meta.opts);
      await this.discardUpload(dir);
      return { size };
    }
    const tmp = FsStorage.tempPath(file);
    const out = await fsp.open(tmp, 'wx');
    const hash = createHash('sha256');
    try {
      for (let n = 1; n <= etags.length; n++) {
        const body = await fsp.readFile(path.join(dir, `${n}.part`));
        hash.update(body);
        await out.write(body);
      }
      await out.sync();
    } catch (err) {
      await out.close();
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await this.commit(file, tmp, meta.opts);
    await this.discardUpload(dir);
    return { size, sha256: hash.digest('hex') };
  }

  /**
   * A completed upload's directory is moved out of the way at once (one
   * rename: the upload is gone) and its parts, as many bytes as the object,
   * deleted afterwards: freeing 290 MB of parts took a fifth of a second,
   * which the end of an event need not wait for. Directories a crash left
   * to delete are deleted along with the next one.
   */
  private async discardUpload(dir: string): Promise<void> {
    const done = `${dir}${DONE_SUFFIX}`;
    await fsp.rename(dir, done);
    const uploads = path.dirname(dir);
    void (async () => {
      const leftovers = (await fsp.readdir(uploads)).filter((name) => name.endsWith(DONE_SUFFIX));
      for (const name of leftovers) await fsp.rm(path.join(uploads, name), { recursive: true, force: true });
    })().catch(() => {
      // Deleted by another process meanwhile, or not deletable now: tried again after the next upload.
    });
  }

  /** Whether this filesystem inserts ranges (tried once, on a scratch file under the uploads directory). */
  private canInsertRange(): Promise<boolean> {
    this.insertRange ??= probeInsertRange(path.join(this.root, UPLOADS_DIR), this.joinAlignment);
    return this.insertRange;
  }

  async abortParts(key: string, uploadId: string): Promise<void> {
    try {
      await this.uploadMeta(key, uploadId);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    await fsp.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
