// Joining the parts of an fs upload into one file without copying them at
// the end. Copying costs time in proportion to the object (audio.m4a of a
// 10-hour event is about 290 MB), and the join happens when listeners are
// waiting for the replay. So:
//
//   while parts arrive   parts 2, 3, ... are appended, in order, to the
//                        upload's body.bin as each one lands (a part that is
//                        not next waits for the one before it)
//   at the end           when part 1's length is a multiple of the
//                        filesystem's block size, it is put in front of the
//                        body with fallocate's INSERT_RANGE (ext4, XFS): the
//                        body's blocks are shifted in the file's extent map,
//                        not moved or copied; part 1 is then written into
//                        the room made
//   otherwise            (another filesystem, an unaligned first part, a
//                        body a crash or a re-uploaded part left unusable)
//                        the parts are copied into a new file, as before.
//
// Every step can be repeated after a crash: the body's length says which
// parts it holds (a torn append is cut off at the end), and joined.bin's
// length says whether part 1's room was made.
//
// The parts' files are looked at a batch at a time, not one after another:
// a 10-hour event has ~290 parts, and each awaited file operation also waits
// for whatever else the process is doing (HTTP requests, the other stages),
// so hundreds of them in a row made the end of a long event seconds slower.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { inBatches } from '../batches.ts';

const run = promisify(execFile);

const partFile = (dir: string, n: number) => path.join(dir, `${n}.part`);
const md5File = (dir: string, n: number) => path.join(dir, `${n}.md5`);
const bodyFile = (dir: string) => path.join(dir, 'body.bin');
const joinedFile = (dir: string) => path.join(dir, 'joined.bin');

/** A file (or a directory on its path) that is not there. */
export const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((err as NodeJS.ErrnoException)?.code ?? '');

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Stores part n and its MD5 (the ETag); a part replaced by different bytes makes the body start over. */
export async function storePart(dir: string, n: number, body: Buffer, tempPath: (file: string) => string): Promise<string> {
  const etag = createHash('md5').update(body).digest('hex');
  const before = await readText(md5File(dir, n));
  if (before !== undefined && before !== etag) {
    await fsp.rm(bodyFile(dir), { force: true });
    await fsp.rm(joinedFile(dir), { force: true });
  }
  const file = partFile(dir, n);
  const tmp = tempPath(file);
  await fsp.writeFile(tmp, body, { flag: 'wx' });
  await fsp.rename(tmp, file);
  await fsp.writeFile(md5File(dir, n), etag);
  return etag;
}

/** Files looked at at once (Node runs file operations on four threads). */
const STAT_BATCH = 32;

/** The sizes of parts 2, 3, ... as far as they have arrived without a gap (index 0 is part 2). */
async function arrivedSizes(dir: string): Promise<number[]> {
  const present = new Set((await fsp.readdir(dir)).flatMap((f) => (/^[1-9][0-9]*\.part$/.test(f) ? [Number(f.slice(0, -5))] : [])));
  let last = 1;
  while (present.has(last + 1)) last++;
  const numbers = Array.from({ length: last - 1 }, (_, i) => i + 2);
  const sizes = await inBatches(numbers, STAT_BATCH, (n) => sizeOf(partFile(dir, n)));
  // A part deleted meanwhile (an aborted upload) ends the run.
  const gone = sizes.indexOf(undefined);
  return (gone < 0 ? sizes : sizes.slice(0, gone)) as number[];
}

/**
 * Appends to body.bin every part that comes next and has arrived. Live
 * (`repair` false) a body whose length ends inside a part (another process
 * appending, or a crash) is left alone; at the join it is cut back to the
 * last whole part. Returns the body's length in whole parts.
 */
export async function appendArrived(dir: string, opts: { repair: boolean }): Promise<{ through: number; bytes: number }> {
  const fh = await fsp.open(bodyFile(dir), fs.constants.O_RDWR | fs.constants.O_CREAT);
  try {
    const [stat, sizes] = await Promise.all([fh.stat(), arrivedSizes(dir)]);
    const size = stat.size;
    let at = 0;
    let i = 0;
    while (i < sizes.length && at + sizes[i] <= size) at += sizes[i++];
    if (at !== size) {
      if (!opts.repair) return { through: i + 1, bytes: at };
      await fh.truncate(at);
    }
    let n = i + 2;
    let appended = false;
    for (;;) {
      let part: Buffer;
      try {
        part = await fsp.readFile(partFile(dir, n));
      } catch (err) {
        if (isMissing(err)) break;
        throw err;
      }
      await fh.write(part, 0, part.length, at);
      at += part.length;
      n++;
      appended = true;
    }
    if (appended) await fh.sync();
    return { through: n - 1, bytes: at };
  } finally {
    await fh.close();
  }
}

/** Checks each part against the ETag the caller was given (as S3 does), from the recorded MD5s; returns the parts' sizes. */
export async function checkParts(dir: string, etags: string[], describe: string): Promise<number[]> {
  const numbers = etags.map((_, i) => i + 1);
  return inBatches(numbers, STAT_BATCH, async (n) => {
    const [size, recorded] = await Promise.all([sizeOf(partFile(dir, n)), readText(md5File(dir, n))]);
    if (size === undefined) throw new Error(`${describe} has no part ${n}`);
    // An upload begun before MD5s were recorded: hash the part.
    const md5 =
      recorded ??
      createHash('md5')
        .update(await fsp.readFile(partFile(dir, n)))
        .digest('hex');
    if (md5 !== etags[n - 1]) throw new Error(`${describe}: part ${n} is not the one uploaded`);
    return size;
  });
}

/** Room for part 1 at the front of the file, made by moving no data (INSERT_RANGE). Throws where the filesystem cannot. */
async function insertRoom(file: string, bytes: number): Promise<void> {
  await run('fallocate', ['--insert-range', '--offset', '0', '--length', String(bytes), file], { timeout: 60_000 });
}

/**
 * The whole object as joined.bin in the upload's directory, made without
 * copying parts 2..N; undefined when that cannot be done here (the caller
 * copies). `sizes` from checkParts.
 */
export async function joinInPlace(dir: string, sizes: number[], blockSize: number): Promise<string | undefined> {
  if (sizes.length < 2 || blockSize <= 1 || sizes[0] % blockSize !== 0) return undefined;
  const rest = sizes.slice(1).reduce((a, b) => a + b, 0);
  const joined = joinedFile(dir);
  let size = await sizeOf(joined);
  if (size === undefined) {
    const body = await appendArrived(dir, { repair: true });
    if (body.through !== sizes.length || body.bytes !== rest) return undefined;
    await fsp.rename(bodyFile(dir), joined);
    size = rest;
  }
  if (size === rest) {
    try {
      await insertRoom(joined, sizes[0]);
    } catch {
      // Not this filesystem (or no fallocate): the body stays as it was, and the parts are copied.
      if ((await sizeOf(joined)) === rest) await fsp.rename(joined, bodyFile(dir));
      return undefined;
    }
  } else if (size !== rest + sizes[0]) {
    await fsp.rm(joined, { force: true });
    return undefined;
  }
  const fh = await fsp.open(joined, 'r+');
  try {
    const first = await fsp.readFile(partFile(dir, 1));
    await fh.write(first, 0, first.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return joined;
}

/** Whether INSERT_RANGE works under `dir`: tried on a scratch file of two blocks. */
export async function probeInsertRange(dir: string, blockSize: number): Promise<boolean> {
  if (blockSize <= 1) return false;
  await fsp.mkdir(dir, { recursive: true });
  const scratch = path.join(dir, `.probe-${process.pid}-${Date.now()}`);
  try {
    await fsp.writeFile(scratch, Buffer.alloc(2 * blockSize, 1));
    await insertRoom(scratch, blockSize);
    return (await sizeOf(scratch)) === 3 * blockSize;
  } catch {
    return false;
  } finally {
    await fsp.rm(scratch, { force: true });
  }
}
