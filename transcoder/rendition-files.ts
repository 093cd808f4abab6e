// What the rendition consists of, for the publisher's manifest: every
// segment and audio.m4a with its size, sha256 and duration, as recorded when
// they were made. Written once at the end (a private object the publisher
// reads, so it never fetches thousands of segments again to hash them).
import crypto from 'node:crypto';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { RenditionFile, RenditionFiles } from '../shared/rendition-files.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { FRAME, RATE } from './grid.ts';
import type { M4aResult } from './progressive-m4a.ts';
import type { TranscoderState } from './state.ts';

export async function writeRenditionFiles(deps: { state: TranscoderState; storage: Storage }, eventId: string, audio: M4aResult): Promise<RenditionFiles> {
  const segments: RenditionFile[] = [];
  for (const s of await deps.state.segmentFiles(eventId)) {
    // Segments made before their sha256 was recorded are read once more.
    const sha256 =
      s.sha256 ??
      crypto
        .createHash('sha256')
        .update(await deps.storage.get(s.key))
        .digest('hex');
    segments.push({ key: s.key, size: s.bytes, sha256, durationSec: (s.frames * FRAME) / RATE });
  }
  const files: RenditionFiles = { segments, audio: { key: audio.key, size: audio.size, sha256: audio.sha256, durationSec: audio.durationSec } };
  await deps.storage.put(keys.renditionFiles(eventId), JSON.stringify(files), { contentType: 'application/json', cacheControl: CACHE_CONTROL.private });
  return files;
}
