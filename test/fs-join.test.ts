// The fs driver's multipart join without copying (shared/storage/fs-join.ts):
// parts 2.. laid end to end as they arrive, part 1 put in front at the end by
// INSERT_RANGE when it is block-aligned; a copy otherwise. What matters is the
// bytes (always the parts in order) and, where the filesystem can, that the
// object is the body file itself (same inode: nothing was copied).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsStorage } from '../shared/storage/fs.ts';
import { joinInPlace, checkParts, probeInsertRange } from '../shared/storage/fs-join.ts';

const dirs: string[] = [];
function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-fsjoin-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const uploadDir = (root: string, id: string) => path.join(root, '.uploads', id);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function upload(st: FsStorage, key: string, parts: Buffer[], order: number[]): Promise<{ id: string; etags: string[] }> {
  const id = await st.startParts(key, { contentType: 'audio/mp4' });
  const etags: string[] = [];
  for (const n of order) etags[n - 1] = (await st.putPart(key, id, n, parts[n - 1])).etag;
  return { id, etags };
}

const root0 = tmpRoot();
const supported = await probeInsertRange(path.join(root0, '.uploads'), new FsStorage(root0, 'http://x').joinAlignment);

describe('FsStorage joins parts without copying them', () => {
  it.runIf(supported)('an aligned first part: the object is the body the parts were appended to, bytes in order', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const block = st.joinAlignment;
    const parts = [randomBytes(3 * block), randomBytes(5000), randomBytes(7001), randomBytes(123)];
    // Parts 2.. as a live recording sends them, part 1 (the header) last.
    const { id, etags } = await upload(st, 'e/audio.m4a', parts, [2, 3, 4, 1]);
    const body = path.join(uploadDir(root, id), 'body.bin');
    expect(fs.statSync(body).size).toBe(5000 + 7001 + 123); // laid end to end as they came
    const ino = fs.statSync(body).ino;
    const done = await st.completeParts('e/audio.m4a', id, etags);
    const whole = Buffer.concat(parts);
    expect(done).toEqual({ size: whole.length }); // no hash: the bytes did not pass through
    expect((await st.get('e/audio.m4a')).equals(whole)).toBe(true);
    expect(fs.statSync(path.join(root, 'e', 'audio.m4a')).ino).toBe(ino);
    expect(await st.head('e/audio.m4a')).toMatchObject({ size: whole.length, contentType: 'audio/mp4' });
    expect(fs.existsSync(uploadDir(root, id))).toBe(false);
  });

  it.runIf(supported)('a part sent out of order waits for the one before it; a rewritten part with other bytes starts the body over', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const parts = [randomBytes(st.joinAlignment), randomBytes(1000), randomBytes(2000), randomBytes(3000)];
    const id = await st.startParts('e/a.bin');
    const etags: string[] = [];
    etags[2] = (await st.putPart('e/a.bin', id, 3, parts[2])).etag;
    const body = path.join(uploadDir(root, id), 'body.bin');
    expect(fs.statSync(body).size).toBe(0); // part 2 has not come
    await st.putPart('e/a.bin', id, 2, randomBytes(1000)); // a first version of part 2
    expect(fs.statSync(body).size).toBe(3000);
    etags[1] = (await st.putPart('e/a.bin', id, 2, parts[1])).etag; // rewritten: the body is dropped ...
    etags[3] = (await st.putPart('e/a.bin', id, 4, parts[3])).etag; // ... and laid again from part 2
    etags[0] = (await st.putPart('e/a.bin', id, 1, parts[0])).etag;
    expect(fs.statSync(body).size).toBe(6000);
    await st.completeParts('e/a.bin', id, etags);
    expect((await st.get('e/a.bin')).equals(Buffer.concat(parts))).toBe(true);
  });

  it.runIf(supported)('a torn append is cut off at the join, and a join interrupted after making room finishes', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const parts = [randomBytes(2 * st.joinAlignment), randomBytes(4000), randomBytes(5000)];
    const { id, etags } = await upload(st, 'e/b.bin', parts, [2, 3, 1]);
    const dir = uploadDir(root, id);
    fs.appendFileSync(path.join(dir, 'body.bin'), randomBytes(777)); // a crash mid-append
    const sizes = await checkParts(dir, etags, 'test upload');
    const joined = await joinInPlace(dir, sizes, st.joinAlignment);
    expect(joined && fs.readFileSync(joined).equals(Buffer.concat(parts))).toBe(true);
    // The process died before the commit: the next completion finds the room made and the file whole.
    fs.writeFileSync(joined!, Buffer.concat([Buffer.alloc(parts[0].length), parts[1], parts[2]]));
    const done = await st.completeParts('e/b.bin', id, etags);
    expect(done.size).toBe(sizes.reduce((a, b) => a + b, 0));
    expect((await st.get('e/b.bin')).equals(Buffer.concat(parts))).toBe(true);
  });

  it('an unaligned first part is joined by copying, hashed on the way', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const parts = [randomBytes(st.joinAlignment + 1), randomBytes(3000), randomBytes(10)];
    const { id, etags } = await upload(st, 'e/c.bin', parts, [2, 3, 1]);
    const whole = Buffer.concat(parts);
    expect(await st.completeParts('e/c.bin', id, etags)).toEqual({ size: whole.length, sha256: sha(whole) });
    expect((await st.get('e/c.bin')).equals(whole)).toBe(true);
  });

  it('a part that is not the one uploaded is refused, and nothing appears at the key', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const parts = [randomBytes(st.joinAlignment), randomBytes(3000)];
    const { id, etags } = await upload(st, 'e/d.bin', parts, [2, 1]);
    await expect(st.completeParts('e/d.bin', id, [etags[0], etags[0]])).rejects.toThrow(/part 2 is not the one uploaded/);
    await expect(st.completeParts('e/d.bin', id, [etags[0], etags[1], etags[1]])).rejects.toThrow(/has no part 3/);
    expect(await st.head('e/d.bin')).toBeUndefined();
    await st.completeParts('e/d.bin', id, etags);
    expect((await st.get('e/d.bin')).equals(Buffer.concat(parts))).toBe(true);
  });
  it('a completed upload is gone at once and its parts deleted after, with any a crash left behind', async () => {
    const root = tmpRoot();
    const st = new FsStorage(root, 'http://x/files');
    const uploads = path.join(root, '.uploads');
    // What a process killed while deleting a completed upload leaves: its directory, renamed.
    const left = path.join(uploads, `${'a'.repeat(24)}.done`);
    fs.mkdirSync(left, { recursive: true });
    fs.writeFileSync(path.join(left, '2.part'), randomBytes(4096));
    const parts = [randomBytes(st.joinAlignment), randomBytes(3000)];
    const { id, etags } = await upload(st, 'e/e.bin', parts, [1, 2]);
    await st.completeParts('e/e.bin', id, etags);
    expect(fs.existsSync(uploadDir(root, id))).toBe(false);
    expect((await st.get('e/e.bin')).equals(Buffer.concat(parts))).toBe(true);
    const deadline = Date.now() + 10_000;
    while (fs.readdirSync(uploads).some((n) => n.endsWith('.done')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fs.readdirSync(uploads).filter((n) => n.endsWith('.done'))).toEqual([]);
  });
});
