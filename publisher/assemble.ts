// Assembling a publication from what the stages left in storage, without
// re-encoding or re-reading the audio: the transcoder wrote audio.m4a during
// the event and listed its files with their hashes; small files are hashed
// here for the manifest.
import crypto from 'node:crypto';
import path from 'node:path';
import { keys } from '../shared/layout.ts';
import type { RenditionFile, RenditionFiles } from '../shared/rendition-files.ts';
import type { Storage } from '../shared/storage/storage.ts';

export interface ManifestFile {
  role: string;
  key: string;
  url: string;
  contentType: string;
  size: number;
  /** Absent only for audio.m4a between its publication and its checksum (joined by S3 itself). */
  sha256?: string;
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
 * Manifest entries for the finished rendition: the playlist, the init
 * segment, every media segment and audio.m4a, from the list the transcoder
 * wrote at the end (each file's size and sha256 recorded when it was made).
 * audio.m4a's sha256 is missing when the store joined its parts itself
 * (S3): `audioChecksum` reads the file for it after publication.
 */
export async function describeRendition(eventId: string, storage: Storage): Promise<{ files: ManifestFile[]; durationSec: number; audioBytes: number }> {
  const dir = path.dirname(keys.hlsPlaylist(eventId));
  const [playlistText, index] = await Promise.all([
    storage.get(keys.hlsPlaylist(eventId)).then((b) => b.toString('utf8')),
    storage.get(keys.renditionFiles(eventId)).then((b) => JSON.parse(b.toString('utf8')) as RenditionFiles),
  ]);
  const pl = parseRendition(playlistText);
  if (!pl.ended) throw new Error('the rendition is not final yet (no EXT-X-ENDLIST)');
  if (!pl.segments.length || pl.segments.length !== index.segments.length) {
    throw new Error(`the rendition's playlist lists ${pl.segments.length} segments, its file list ${index.segments.length}`);
  }
  const init = await storage.get(`${dir}/${pl.init}`);
  const listed = (role: string, f: RenditionFile): ManifestFile => ({
    role,
    key: f.key,
    url: storage.publicUrl(f.key),
    contentType: 'audio/mp4',
    size: f.size,
    ...(f.sha256 ? { sha256: f.sha256 } : {}),
    durationSec: f.durationSec,
  });
  const files: ManifestFile[] = [
    describe(storage, 'hls-playlist', keys.hlsPlaylist(eventId), playlistText, 'application/vnd.apple.mpegurl'),
    describe(storage, 'hls-init', `${dir}/${pl.init}`, init, 'audio/mp4'),
    ...index.segments.map((s) => listed('hls-segment', s)),
    listed('audio', index.audio),
  ];
  return { files, durationSec: index.audio.durationSec, audioBytes: index.audio.size };
}

/** The sha256 of an object, read as a stream (audio.m4a joined by the store: hours of audio never held in memory). */
export async function objectSha256(storage: Storage, key: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of await storage.getStream(key)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Manifest entries for objects that may or may not exist (peaks, loudness, transcripts). */
export async function describeIfPresent(storage: Storage, role: string, key: string, contentType: string): Promise<ManifestFile | undefined> {
  if (!(await storage.head(key))) return undefined;
  return describe(storage, role, key, await storage.get(key), contentType);
}
