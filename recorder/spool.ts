// The local spool: where capture writes before anything leaves the machine.
// Layout: <dataDir>/spool/<eventId>/s<session>/c000000.ts ... plus list.csv,
// the segment muxer's record of every chunk it sealed ("name,start,end").
// A chunk file that list.csv does not name is the one being written (or the
// one a crash tore); ffprobe reads it up to its last whole packet.
import fs from 'node:fs';
import path from 'node:path';

export const CHUNK_PATTERN = 'c%06d.ts';
export const LIST_FILE = 'list.csv';

export function sessionDir(spoolRoot: string, eventId: string, sessionNo: number): string {
  return path.join(spoolRoot, eventId, `s${sessionNo}`);
}

export interface SealedEntry {
  name: string;
  durationSec: number;
}

/** Parses the segment muxer's CSV list (name,start,end per line; a torn last line is ignored). */
export function readSealedList(dir: string): SealedEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, LIST_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: SealedEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(c\d{6}\.ts),([\d.]+),([\d.]+)$/.exec(line.trim());
    if (m) out.push({ name: m[1], durationSec: Math.max(0, Number(m[3]) - Number(m[2])) });
  }
  return out;
}

/** Chunk files present in a session dir, in order. */
export function chunkFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => /^c\d{6}\.ts$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

export function removeSpooled(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { force: true });
}

/** Removes a session dir once every chunk in it is archived. */
export function removeSessionDirIfDone(dir: string): void {
  if (chunkFiles(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
}
