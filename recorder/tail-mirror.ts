// The chunk a capture session is writing exists only in this machine's spool
// until it is sealed (every REPLAY_CHUNK_SEC), so a machine that dies would
// take up to a chunk of audio with it. The mirror copies that chunk to
// private storage every second while it grows; whoever takes the event over
// archives the copy (recording.ts), so a failover costs at most a second of
// what was received before it, plus the takeover. A sealed chunk's copy stays
// until the next one is sealed (it may not be archived yet); the session's
// copies go when it closes, every chunk of it archived or in the local spool.
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { chunkFiles, readSealedList } from './spool.ts';

/** How often the chunk being written is copied (when it grew). */
export const TAIL_MIRROR_MS = 1000;

export interface TailMirrorDeps {
  storage: Storage;
  eventId: string;
  sessionNo: number;
  dir: string;
  log: Logger;
}

export class TailMirror {
  private timer: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private last = { name: '', size: 0 };
  /** Copies in storage, oldest first. */
  private copies: string[] = [];

  constructor(private readonly deps: TailMirrorDeps) {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.copy());
    }, TAIL_MIRROR_MS);
    this.timer.unref();
  }

  /** The session closed: its chunks are sealed and archived (or in the local spool), the copies are not needed. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await Promise.all(this.copies.splice(0).map((k) => this.deps.storage.delete(k).catch(() => {})));
  }

  private async copy(): Promise<void> {
    const { dir, storage, eventId, sessionNo } = this.deps;
    const sealed = new Set(readSealedList(dir).map((e) => e.name));
    const current = chunkFiles(dir)
      .filter((f) => !sealed.has(f))
      .pop();
    if (!current) return;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(dir, current));
    } catch {
      return; // sealed and archived meanwhile
    }
    if (!bytes.length || (current === this.last.name && bytes.length === this.last.size)) return;
    const key = keys.sourceTail(eventId, sessionNo, current);
    try {
      await storage.put(key, bytes, { contentType: 'video/mp2t', cacheControl: CACHE_CONTROL.privateArchive });
    } catch (err) {
      // Storage away: capture goes on; the copy is a safety net, not the archive.
      this.deps.log.debug('could not copy the chunk being written', { chunk: current, err: (err as Error).message });
      return;
    }
    this.last = { name: current, size: bytes.length };
    if (this.copies[this.copies.length - 1] !== key) this.copies.push(key);
    while (this.copies.length > 2) await storage.delete(this.copies.shift()!).catch(() => {});
  }
}

/**
 * Brings a session's copies into a spool dir of this machine (the session was
 * recorded on another one, which died): the chunks its spool held, each as
 * far as it was written, with when the last one was copied (the last audio
 * known). Nothing to bring: undefined.
 */
export async function fetchTails(storage: Storage, eventId: string, sessionNo: number, dir: string): Promise<{ copiedAt: number } | undefined> {
  const prefix = keys.sourceTails(eventId, sessionNo);
  const found = (await storage.list(prefix)).sort((a, b) => a.key.localeCompare(b.key));
  if (!found.length) return undefined;
  fs.mkdirSync(dir, { recursive: true });
  let copiedAt = 0;
  for (const o of found) {
    const name = o.key.slice(prefix.length);
    if (!/^c\d{6}\.ts$/.test(name)) continue;
    fs.writeFileSync(path.join(dir, name), await storage.get(o.key));
    copiedAt = Math.max(copiedAt, o.lastModified?.getTime() ?? 0);
  }
  return { copiedAt };
}

/** Removes a session's copies once what they held is archived. */
export async function dropTails(storage: Storage, eventId: string, sessionNo: number): Promise<void> {
  for (const o of await storage.list(keys.sourceTails(eventId, sessionNo))) await storage.delete(o.key).catch(() => {});
}
