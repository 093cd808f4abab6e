// One contract suite, run against both storage drivers: FsStorage in a temp dir
// and S3Storage against a real s3rver. Then the /files router over real HTTP.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { createStorage } from '../shared/storage/index.ts';
import { S3Storage } from '../shared/storage/s3.ts';
import { parseRange, serveFsStorage } from '../shared/storage/serve.ts';
import { MIN_PART_BYTES, NotFoundError, StorageKeyError, type Storage } from '../shared/storage/storage.ts';

// s3rver runs in a child process: it makes ListObjectsV2 continuation tokens
// with DES, which Node 17+'s OpenSSL 3 only offers with --openssl-legacy-provider
// (in-process, every paginated listing fails with a 500 InternalError).
const S3RVER_CHILD = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2],
  configureBuckets: [{ name: process.argv[3], configs: [] }] });
server.run().then((a) => console.log(JSON.stringify({ port: a.port })));
// Exit when the test closes stdin, or dies.
process.stdin.on('end', () => server.close().finally(() => process.exit(0))).resume();
`;

async function startS3rver(dir: string, bucket: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const script = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_CHILD, script, dir, bucket], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited early (${code})`)));
  });
  return {
    port,
    stop: async () => {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

const BUCKET = 'replay-test';
const tmpDirs: string[] = [];
function tmpDir(name: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `replay-${name}-`));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sha256(s: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of s) h.update(c as Buffer);
  return h.digest('hex');
}

interface Driver {
  name: string;
  storage: Storage;
  /** Names of SDK commands sent (S3 only), to prove the multipart path ran. */
  commands?: string[];
  close(): Promise<void>;
}

function fsDriver(): Promise<Driver> {
  return Promise.resolve({ name: 'fs', storage: new FsStorage(tmpDir('fs'), 'http://127.0.0.1:8080/files/'), close: async () => {} });
}

async function s3Driver(): Promise<Driver> {
  const { port, stop } = await startS3rver(tmpDir('s3rver'), BUCKET);
  const storage = new S3Storage({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    bucket: BUCKET,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  });
  const commands: string[] = [];
  storage.client.middlewareStack.add(
    (next, ctx) => (args) => {
      commands.push(String(ctx.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return {
    name: 's3',
    storage,
    commands,
    close: async () => {
      storage.client.destroy();
      await stop();
    },
  };
}

describe.each([
  { name: 'fs', make: fsDriver },
  { name: 's3', make: s3Driver },
])('$name storage contract', ({ make }) => {
  let d: Driver;
  let st: Storage;
  beforeAll(async () => {
    d = await make();
    st = d.storage;
  });
  afterAll(async () => {
    await d?.close();
  });

  it('put / get / head round-trip with headers', async () => {
    await st.put('rt/hello.txt', 'hello world', { contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=60' });
    expect((await st.get('rt/hello.txt')).toString()).toBe('hello world');
    const info = await st.head('rt/hello.txt');
    expect(info).toMatchObject({
      key: 'rt/hello.txt',
      size: 11,
      contentType: 'text/plain; charset=utf-8',
      cacheControl: 'public, max-age=60',
    });
    expect(info?.lastModified).toBeInstanceOf(Date);

    // A Buffer body, overwriting in place; the new headers replace the old.
    const bin = randomBytes(1000);
    await st.put('rt/hello.txt', bin, { contentType: 'application/octet-stream', cacheControl: 'no-cache' });
    expect((await st.get('rt/hello.txt')).equals(bin)).toBe(true);
    expect(await st.head('rt/hello.txt')).toMatchObject({ size: 1000, contentType: 'application/octet-stream', cacheControl: 'no-cache' });

    await st.put('rt/empty', Buffer.alloc(0));
    expect(await st.head('rt/empty')).toMatchObject({ size: 0 });
    expect((await st.get('rt/empty')).length).toBe(0);
  });

  it('putFile of a >16 MiB file goes multipart and reads back byte-exact', async () => {
    const file = path.join(tmpDir('big'), 'big.bin');
    const data = randomBytes(17 * 1024 * 1024 + 123);
    fs.writeFileSync(file, data);
    const want = createHash('sha256').update(data).digest('hex');
    d.commands?.splice(0);

    await st.putFile('big/audio.mp3', file, { contentType: 'audio/mpeg', cacheControl: 'public, max-age=31536000, immutable' });

    expect(await st.head('big/audio.mp3')).toMatchObject({
      size: data.length,
      contentType: 'audio/mpeg',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(await sha256(await st.getStream('big/audio.mp3'))).toBe(want);
    expect(
      createHash('sha256')
        .update(await st.get('big/audio.mp3'))
        .digest('hex'),
    ).toBe(want);
    if (d.commands) {
      // 17 MiB in 8 MiB parts: three parts, then completion.
      expect(d.commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
      expect(d.commands).toContain('CompleteMultipartUploadCommand');
    }
    // Small files take the single-request path and keep their headers.
    const small = path.join(tmpDir('small'), 's.vtt');
    fs.writeFileSync(small, 'WEBVTT\n');
    await st.putFile('big/s.vtt', small, { contentType: 'text/vtt' });
    expect(await st.head('big/s.vtt')).toMatchObject({ size: 7, contentType: 'text/vtt' });
    await expect(st.putFile('big/missing', path.join(tmpDir('nofile'), 'nope'))).rejects.toThrow();
    expect(await st.head('big/missing')).toBeUndefined();
  });

  it('range reads', async () => {
    const body = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    await st.put('range/r.bin', body);
    expect(await readAll(await st.getStream('range/r.bin', { start: 10, end: 19 }))).toEqual(body.subarray(10, 20));
    expect(await readAll(await st.getStream('range/r.bin', { start: 90 }))).toEqual(body.subarray(90));
    expect(await readAll(await st.getStream('range/r.bin', { start: 99, end: 99 }))).toEqual(body.subarray(99));
    // An end past the object is clamped, as HTTP does.
    expect(await readAll(await st.getStream('range/r.bin', { start: 95, end: 1000 }))).toEqual(body.subarray(95));
    await expect(st.getStream('range/r.bin', { start: 100 })).rejects.toThrow(RangeError);
    // (Not tested: {start: 0, end: 0}; s3rver treats end 0 as "to the end".)
  });

  it('list recursively under a prefix, without internal files', async () => {
    for (const k of ['ls/ev1/a.ts', 'ls/ev1/sub/b.ts', 'ls/ev1/sub/deeper/c.json', 'ls/ev10/x.ts', 'ls/other.txt']) {
      await st.put(k, k, { contentType: 'text/plain' });
    }
    const keys = async (p: string) => (await st.list(p)).map((o) => o.key);
    expect(await keys('ls/ev1/')).toEqual(['ls/ev1/a.ts', 'ls/ev1/sub/b.ts', 'ls/ev1/sub/deeper/c.json']);
    expect(await keys('ls/ev1')).toEqual(['ls/ev1/a.ts', 'ls/ev1/sub/b.ts', 'ls/ev1/sub/deeper/c.json', 'ls/ev10/x.ts']);
    expect(await keys('ls/')).toHaveLength(5);
    expect(await keys('ls/ev1/sub/b')).toEqual(['ls/ev1/sub/b.ts']);
    expect(await keys('nothing/here/')).toEqual([]);
    const [a] = await st.list('ls/ev1/a');
    expect(a).toMatchObject({ key: 'ls/ev1/a.ts', size: 'ls/ev1/a.ts'.length });
    expect(a.lastModified).toBeInstanceOf(Date);
  });

  it('list paginates past 1000 keys', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => st.put(k, 'x')));
    expect((await st.list('many/')).map((o) => o.key)).toEqual(keys);
  });

  it('joins parts written out of order and rewritten into one object, invisible until complete', async () => {
    const big = () => randomBytes(MIN_PART_BYTES + 1000);
    const parts = [big(), big(), randomBytes(777)];
    const id = await st.startParts('mp/audio.m4a', { contentType: 'audio/mp4', cacheControl: 'public, max-age=60' });
    // Part 1 last, part 2 written twice (the second wins), as a live recording does.
    const etags: string[] = [];
    etags[2] = (await st.putPart('mp/audio.m4a', id, 3, parts[2])).etag;
    await st.putPart('mp/audio.m4a', id, 2, big());
    etags[1] = (await st.putPart('mp/audio.m4a', id, 2, parts[1])).etag;
    etags[0] = (await st.putPart('mp/audio.m4a', id, 1, parts[0])).etag;
    expect(await st.head('mp/audio.m4a')).toBeUndefined();
    expect((await st.list('mp/')).map((o) => o.key)).toEqual([]);
    const whole = Buffer.concat(parts);
    const done = await st.completeParts('mp/audio.m4a', id, etags);
    expect(done.size).toBe(whole.length);
    if (done.sha256) expect(done.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    expect((await st.get('mp/audio.m4a')).equals(whole)).toBe(true);
    expect(await st.head('mp/audio.m4a')).toMatchObject({ size: whole.length, contentType: 'audio/mp4', cacheControl: 'public, max-age=60' });
    // The upload is gone; aborting it (or one never started) is no error.
    await st.abortParts('mp/audio.m4a', id);
    const other = await st.startParts('mp/other.bin');
    await st.putPart('mp/other.bin', other, 1, randomBytes(10));
    await st.abortParts('mp/other.bin', other);
    expect(await st.head('mp/other.bin')).toBeUndefined();
    // Hostile part numbers and ids never reach a path or a request.
    for (const n of [0, -1, 1.5, 10_001, NaN]) await expect(st.putPart('mp/x', other, n, Buffer.from('x'))).rejects.toThrow(/part number/);
    for (const bad of ['a b', '', 'x\n']) await expect(st.putPart('mp/x', bad, 1, Buffer.from('x'))).rejects.toThrow(/upload id/);
  });

  it('delete, and NotFound for missing objects', async () => {
    await st.put('del/x.txt', 'x', { contentType: 'text/plain' });
    await st.delete('del/x.txt');
    expect(await st.head('del/x.txt')).toBeUndefined();
    await expect(st.get('del/x.txt')).rejects.toBeInstanceOf(NotFoundError);
    await expect(st.getStream('del/x.txt')).rejects.toBeInstanceOf(NotFoundError);
    await expect(st.getStream('del/x.txt', { start: 0, end: 3 })).rejects.toBeInstanceOf(NotFoundError);
    await st.delete('del/x.txt'); // idempotent
    expect(await st.list('del/')).toEqual([]);
    // A "directory" is not an object.
    await st.put('del/dir/y', 'y');
    expect(await st.head('del/dir')).toBeUndefined();
    await expect(st.get('del/dir')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects invalid keys everywhere', async () => {
    const bad = ['../x', '/abs', 'a//b', 'a/../b', '', 'a/./b', 'a/', '.hidden', 'a/b\\..\\c', 'a b', 'x/..', 'a/%2e%2e/b'];
    for (const k of bad) {
      await expect(st.put(k, 'x'), k).rejects.toBeInstanceOf(StorageKeyError);
      await expect(st.putFile(k, '/dev/null'), k).rejects.toBeInstanceOf(StorageKeyError);
      await expect(st.get(k), k).rejects.toBeInstanceOf(StorageKeyError);
      await expect(st.getStream(k), k).rejects.toBeInstanceOf(StorageKeyError);
      await expect(st.head(k), k).rejects.toBeInstanceOf(StorageKeyError);
      await expect(st.delete(k), k).rejects.toBeInstanceOf(StorageKeyError);
      expect(() => st.publicUrl(k), k).toThrow(StorageKeyError);
    }
    await expect(st.list('../')).rejects.toBeInstanceOf(StorageKeyError);
    await expect(st.list('/etc/')).rejects.toBeInstanceOf(StorageKeyError);
  });

  it('publicUrl', async () => {
    const url = st.publicUrl('events/ev_1/episode.mp3');
    if (st.kind === 'fs') {
      expect(url).toBe('http://127.0.0.1:8080/files/events/ev_1/episode.mp3');
    } else {
      // Path-style endpoint URL; s3rver serves it without a signature.
      expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${BUCKET}/events/ev_1/episode\\.mp3$`));
      await st.put('events/ev_1/episode.mp3', 'mp3!', { contentType: 'audio/mpeg' });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('mp3!');
    }
  });
});

describe('S3Storage.publicUrl variants', () => {
  const base = { region: 'eu-central-1', bucket: 'pods', forcePathStyle: false };
  it('prefers publicBaseUrl, else path-style or virtual-hosted', () => {
    expect(new S3Storage({ ...base, publicBaseUrl: 'https://cdn.example.com/x/' }).publicUrl('a/b.mp3')).toBe('https://cdn.example.com/x/a/b.mp3');
    expect(new S3Storage(base).publicUrl('a/b.mp3')).toBe('https://pods.s3.eu-central-1.amazonaws.com/a/b.mp3');
    expect(new S3Storage({ ...base, endpoint: 'https://s3.example.net' }).publicUrl('a/b.mp3')).toBe('https://pods.s3.example.net/a/b.mp3');
    expect(new S3Storage({ ...base, endpoint: 'http://minio:9000', forcePathStyle: true }).publicUrl('a/b.mp3')).toBe('http://minio:9000/pods/a/b.mp3');
  });
});

describe('FsStorage specifics', () => {
  it('writes atomically: concurrent readers only ever see whole versions, no temp files remain', async () => {
    const root = tmpDir('atomic');
    const st = new FsStorage(root, 'http://x/files');
    const size = 256 * 1024;
    await st.put('a/obj', Buffer.alloc(size, 0));
    let reads = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        const b = await st.get('a/obj');
        expect(b.length).toBe(size);
        expect(b.every((x) => x === b[0])).toBe(true);
        reads++;
      }
    })();
    await Promise.all(Array.from({ length: 40 }, (_, i) => st.put('a/obj', Buffer.alloc(size, i + 1), { contentType: 'x/y' })));
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(root, 'a')).sort()).toEqual(['.obj.meta.json', 'obj']);
    // Re-putting without headers drops the stored ones, as S3 does.
    await st.put('a/obj', 'z');
    expect((await st.head('a/obj'))?.contentType).toBeUndefined();
    expect(fs.readdirSync(path.join(root, 'a'))).toEqual(['obj']);
  });

  it('list skips files with names that are not valid keys and symlinks', async () => {
    const root = tmpDir('stray');
    const st = new FsStorage(root, 'http://x/files');
    await st.put('p/ok.txt', 'ok', { contentType: 'text/plain' });
    fs.writeFileSync(path.join(root, 'p', 'has space.txt'), 'x');
    fs.writeFileSync(path.join(root, 'p', '.tmpfile'), 'x');
    fs.symlinkSync('/etc/passwd', path.join(root, 'p', 'link'));
    expect((await st.list('p/')).map((o) => o.key)).toEqual(['p/ok.txt']);
    expect((await st.list('')).map((o) => o.key)).toEqual(['p/ok.txt']);
  });
});

describe('createStorage', () => {
  it('builds the configured driver, private objects apart from the public ones', async () => {
    const dataDir = tmpDir('cfg');
    const fsCfg = loadConfig({ REPLAY_DATA_DIR: dataDir, PORT: '9999' });
    const a = createStorage(fsCfg);
    expect(a.publicStore).toBeInstanceOf(FsStorage);
    expect((a.publicStore as FsStorage).root).toBe(path.join(dataDir, 'storage'));
    expect(a.publicUrl('x/y.mp3')).toBe('http://127.0.0.1:9999/files/x/y.mp3');
    await a.put('events/e/hls/a.m4s', 'pub');
    await a.put('private/events/e/source/s1-c000000.ts', 'priv');
    // The private object is outside the served root, and has no public URL.
    expect(fs.readFileSync(path.join(dataDir, 'private/events/e/source/s1-c000000.ts'), 'utf8')).toBe('priv');
    expect(fs.existsSync(path.join(dataDir, 'storage/private'))).toBe(false);
    expect(() => a.publicUrl('private/events/e/source/s1-c000000.ts')).toThrow(StorageKeyError);
    expect((await a.list('')).map((o) => o.key)).toEqual(['events/e/hls/a.m4s', 'private/events/e/source/s1-c000000.ts']);
    expect((await a.list('private/')).map((o) => o.key)).toEqual(['private/events/e/source/s1-c000000.ts']);
    expect((await a.get('private/events/e/source/s1-c000000.ts')).toString()).toBe('priv');
    // The fs stores' part settings reach the transcoder through the partition (audio.m4a's small parts and its
    // join without copying depend on them); S3 has neither.
    expect(a.preferredPartBytes).toBe(1024 * 1024);
    expect(a.joinAlignment).toBe((a.publicStore as FsStorage).joinAlignment);
    expect(a.joinAlignment).toBeGreaterThan(1);
    const s3 = createStorage(loadConfig({ STORAGE: 's3', S3_BUCKET: 'b', S3_PUBLIC_BASE_URL: 'https://cdn.example.com' }));
    expect(s3.kind).toBe('s3');
    expect(s3.privateStore).toBe(s3.publicStore);
    expect([s3.preferredPartBytes, s3.joinAlignment]).toEqual([undefined, undefined]);
    expect(s3.publicUrl('x/y.mp3')).toBe('https://cdn.example.com/x/y.mp3');
    const split = createStorage(loadConfig({ STORAGE: 's3', S3_BUCKET: 'b', S3_PRIVATE_BUCKET: 'p' }));
    expect((split.privateStore as S3Storage).bucket).toBe('p');
  });
});

describe('parseRange', () => {
  it('handles the single-range forms', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=2-', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=5-500', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 10)).toBeUndefined();
    expect(parseRange('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
  });
});

describe('serveFsStorage over HTTP', () => {
  let server: http.Server;
  let port: number;
  let st: FsStorage;
  const body = Buffer.from('0123456789abcdefghij');

  beforeAll(async () => {
    const dir = tmpDir('serve');
    const root = path.join(dir, 'root');
    // A file just outside the root that traversal attempts aim for.
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'TOP SECRET');
    const app = express();
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    st = new FsStorage(root, `http://127.0.0.1:${port}/files`);
    app.use('/files', serveFsStorage(st));
    await st.put('events/ev1/transcript.vtt', body, { contentType: 'text/vtt; charset=utf-8', cacheControl: 'public, max-age=300' });
    await st.put('events/ev1/a_b.txt', 'u');
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Raw request: the path goes on the wire exactly as written (fetch would normalize `..`). */
  function req(p: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port, path: p, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end();
    });
  }

  it('GET serves the object with its stored headers', async () => {
    const res = await req('/files/events/ev1/transcript.vtt');
    expect(res.status).toBe(200);
    expect(res.body.equals(body)).toBe(true);
    expect(res.headers['content-type']).toBe('text/vtt; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['content-length']).toBe(String(body.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers.etag).toBeTruthy();

    const again = await req('/files/events/ev1/transcript.vtt', { headers: { 'If-None-Match': res.headers.etag! } });
    expect(again.status).toBe(304);
    // The storage's own publicUrl points at this router.
    const viaUrl = await fetch(st.publicUrl('events/ev1/transcript.vtt'));
    expect(Buffer.from(await viaUrl.arrayBuffer()).equals(body)).toBe(true);
  });

  it('HEAD sends headers only; unknown types fall back to octet-stream', async () => {
    const res = await req('/files/events/ev1/transcript.vtt', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(body.length));
    expect(res.body.length).toBe(0);
    const plain = await req('/files/events/ev1/a_b.txt');
    expect(plain.headers['content-type']).toBe('application/octet-stream');
  });

  it('206 for a satisfiable range, 416 otherwise', async () => {
    const part = await req('/files/events/ev1/transcript.vtt', { headers: { Range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('2345');
    expect(part.headers['content-range']).toBe(`bytes 2-5/${body.length}`);
    expect(part.headers['content-length']).toBe('4');

    const tail = await req('/files/events/ev1/transcript.vtt', { headers: { Range: 'bytes=-3' } });
    expect(tail.status).toBe(206);
    expect(tail.body.toString()).toBe('hij');

    const open = await req('/files/events/ev1/transcript.vtt', { headers: { Range: 'bytes=15-' } });
    expect(open.body.toString()).toBe('fghij');

    const bad = await req('/files/events/ev1/transcript.vtt', { headers: { Range: `bytes=${body.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${body.length}`);

    // A stale If-Range turns the range request into a full response.
    const stale = await req('/files/events/ev1/transcript.vtt', { headers: { Range: 'bytes=2-5', 'If-Range': 'W/"old"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(body.length);
  });

  it('404 for missing objects and directories', async () => {
    expect((await req('/files/events/ev1/nope.vtt')).status).toBe(404);
    expect((await req('/files/events/ev1')).status).toBe(404);
    expect((await req('/files/events/ev1/transcript.vtt/x')).status).toBe(404);
  });

  it('never serves a file outside the root', async () => {
    const attempts = [
      '/files/..%2fsecret.txt',
      '/files/..%2f..%2fetc/passwd',
      '/files/../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2e%2e%2fsecret.txt',
      '/files/events/..%2f..%2fsecret.txt',
      '/files/events/../../secret.txt',
      '/files/..%5csecret.txt',
      '/files/%2fetc%2fpasswd',
      '/files//etc/passwd',
      '/files/events//ev1/transcript.vtt',
      '/files/%zz',
    ];
    for (const p of attempts) {
      const res = await req(p);
      expect([400, 404], p).toContain(res.status);
      expect(res.body.toString(), p).not.toContain('TOP SECRET');
      expect(res.body.toString(), p).not.toContain('root:');
    }
  });
});
