// Assembling a publication from what the stages left in storage, without
// re-encoding anything: the rendition's fMP4 segments are concatenated and
// remuxed into audio.m4a, every file is hashed for the manifest, and the
// images are drawn from the waveform peaks.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeDuration, runFfmpeg } from '../shared/ffmpeg.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';

export interface ManifestFile {
  role: string;
  key: string;
  url: string;
  contentType: string;
  size: number;
  sha256: string;
  durationSec?: number;
}

export interface RenditionPlaylist {
  init: string;
  segments: { uri: string; durationSec: number }[];
  ended: boolean;
}

/** Reads the rendition's playlist (EXT-X-MAP + EXTINF entries; URIs relative to the playlist). */
export function parseRendition(text: string): RenditionPlaylist {
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
  if (!map) throw new Error('rendition playlist has no EXT-X-MAP');
  const segments: RenditionPlaylist['segments'] = [];
  let dur: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#EXTINF:')) dur = Number(line.slice(8).split(',')[0]);
    else if (line && !line.startsWith('#') && dur !== undefined) {
      segments.push({ uri: line.trim(), durationSec: dur });
      dur = undefined;
    }
  }
  return { init: map, segments, ended: /#EXT-X-ENDLIST/.test(text) };
}

const FETCH_BATCH = 32;

const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

export function describe(storage: Storage, role: string, key: string, body: Buffer | string, contentType: string, durationSec?: number): ManifestFile {
  return {
    role,
    key,
    url: storage.publicUrl(key),
    contentType,
    size: Buffer.byteLength(body),
    sha256: sha256(body),
    ...(durationSec !== undefined ? { durationSec } : {}),
  };
}

/**
 * Builds audio.m4a from the finished rendition and returns manifest entries
 * for the playlist, the init segment, every media segment and the m4a.
 */
export async function remuxRendition(eventId: string, storage: Storage): Promise<{ files: ManifestFile[]; durationSec: number; audioBytes: number }> {
  const dir = path.dirname(keys.hlsPlaylist(eventId));
  const playlistText = (await storage.get(keys.hlsPlaylist(eventId))).toString('utf8');
  const pl = parseRendition(playlistText);
  if (!pl.ended) throw new Error('the rendition is not final yet (no EXT-X-ENDLIST)');
  if (!pl.segments.length) throw new Error('the rendition has no segments');
  const files: ManifestFile[] = [describe(storage, 'hls-playlist', keys.hlsPlaylist(eventId), playlistText, 'application/vnd.apple.mpegurl')];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-publish-'));
  try {
    const joined = path.join(work, 'rendition.mp4');
    const out = fs.openSync(joined, 'w');
    try {
      const parts = [
        { uri: pl.init, durationSec: undefined as number | undefined, role: 'hls-init' },
        ...pl.segments.map((s) => ({ ...s, role: 'hls-segment' })),
      ];
      // Fetched a batch at a time (a round trip each on S3), written in order.
      for (let i = 0; i < parts.length; i += FETCH_BATCH) {
        const batch = parts.slice(i, i + FETCH_BATCH);
        const bodies = await Promise.all(batch.map((p) => storage.get(`${dir}/${p.uri}`)));
        batch.forEach((p, j) => {
          fs.writeSync(out, bodies[j]);
          files.push(describe(storage, p.role, `${dir}/${p.uri}`, bodies[j], 'audio/mp4', p.durationSec));
        });
      }
    } finally {
      fs.closeSync(out);
    }
    const m4a = path.join(work, 'audio.m4a');
    await runFfmpeg({
      globalOptions: ['-loglevel', 'error'],
      inputs: [{ src: joined }],
      output: m4a,
      outputOptions: ['-map', '0:a:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'ipod'],
    });
    const durationSec = await probeDuration(m4a);
    const body = fs.readFileSync(m4a);
    await storage.putFile(keys.audio(eventId), m4a, { contentType: 'audio/mp4', cacheControl: CACHE_CONTROL.immutable });
    files.push(describe(storage, 'audio', keys.audio(eventId), body, 'audio/mp4', durationSec));
    return { files, durationSec, audioBytes: body.length };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Manifest entries for objects that may or may not exist (peaks, loudness, transcripts). */
export async function describeIfPresent(storage: Storage, role: string, key: string, contentType: string): Promise<ManifestFile | undefined> {
  if (!(await storage.head(key))) return undefined;
  return describe(storage, role, key, await storage.get(key), contentType);
}
