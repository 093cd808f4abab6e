// Renders one audiogram of a clip, start to finish: the clip's audio and the
// event's artwork from storage (artwork.jpg once the event is published;
// while it is live the artwork is drawn the same way here), the words of the
// span, the still layer and the captions of the size, the video (render.ts)
// in a private temp folder, then the MP4 uploaded whole under its own key.
// A retry renders again and overwrites that key with a complete file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClipRow } from '../../shared/catalog/clips.ts';
import type { EventRow } from '../../shared/catalog/events.ts';
import { CACHE_CONTROL, keys } from '../../shared/layout.ts';
import type { AudiogramSize } from '../../shared/queues.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import { renderArtwork } from '../images.ts';
import type { RenderedVideo } from './audiogram-store.ts';
import { renderBackground } from './background.ts';
import { captionsAss, type TimedWord } from './captions.ts';
import { renderVideo } from './render.ts';
import { LAYOUTS } from './sizes.ts';

export interface RenderClipDeps {
  storage: Storage;
  /** The words said in the clip, on its own timeline. */
  words: (clip: ClipRow) => Promise<TimedWord[]>;
}

async function artworkOf(storage: Storage, ev: EventRow): Promise<Buffer> {
  const key = keys.artwork(ev.id);
  if (await storage.head(key)) return storage.get(key);
  return renderArtwork({ title: ev.title, host: ev.host ?? undefined, date: ev.createdAt });
}

export async function renderClipAudiogram(
  deps: RenderClipDeps,
  clip: ClipRow,
  ev: EventRow,
  size: AudiogramSize,
  onProgress?: (fraction: number) => void,
): Promise<RenderedVideo> {
  if (!clip.audio) throw new Error('the clip has no audio yet');
  const layout = LAYOUTS[size];
  const durationSec = clip.endSec - clip.startSec;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-audiogram-'));
  try {
    const files = {
      audio: path.join(dir, 'clip.m4a'),
      background: path.join(dir, 'background.png'),
      ass: path.join(dir, 'captions.ass'),
      out: path.join(dir, 'audiogram.mp4'),
    };
    const [audio, artwork, words] = await Promise.all([deps.storage.get(clip.audio.key), artworkOf(deps.storage, ev), deps.words(clip)]);
    fs.writeFileSync(files.audio, audio);
    fs.writeFileSync(files.ass, captionsAss(words, layout, durationSec));
    const text = { title: clip.title || ev.title, host: ev.host ?? undefined, note: clip.title ? ev.title : undefined };
    fs.writeFileSync(files.background, await renderBackground(layout, artwork, text));
    const started = Date.now();
    await renderVideo({ layout, audioFile: files.audio, backgroundFile: files.background, assFile: files.ass, durationSec, outFile: files.out, onProgress });
    const renderMs = Date.now() - started;
    const key = keys.clipAudiogram(ev.id, clip.id, size);
    await deps.storage.putFile(key, files.out, { contentType: 'video/mp4', cacheControl: CACHE_CONTROL.immutable });
    return { key, bytes: fs.statSync(files.out).size, renderMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
