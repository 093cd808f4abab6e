// The social card and the podcast artwork, each drawn as soon as what it shows
// is known, so that the end of an event does not pay for them:
//   artwork  3000x3000 JPEG (nine megapixels: the costliest image, half a
//            second of a core): shows the title, host and date only, so it is
//            drawn when the event starts (the event-page job);
//   card     1200x630 PNG: shows the length and the waveform too, so it is
//            drawn when those are final (rendition-measured), while the m4a is
//            still being joined.
// Each is stored with a fingerprint of what it was drawn from (a private work
// object): the publication reuses an image that still shows the event as it
// is, and draws again one that is missing or out of date (a rendition closed
// again with another waveform, an event older than this scheme).
import crypto from 'node:crypto';
import type { EventRow } from '../shared/catalog/events.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import { NotFoundError, type Storage } from '../shared/storage/storage.ts';
import { renderArtwork, renderSocialCard } from './images.ts';

export interface EventImages {
  card: Buffer;
  artwork: Buffer;
}

/** One stored image: where it goes, and how to learn what it should show now. */
interface ImageSpec {
  key: string;
  contentType: string;
  fingerprintKey: string;
  /** What the image shows now (read at the moment of checking), and how to draw that. */
  inputs: () => Promise<{ fingerprint: string; draw: () => Promise<Buffer> }>;
}

async function getIfPresent(storage: Storage, key: string): Promise<Buffer | undefined> {
  try {
    return await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

const sha256 = (...parts: (string | Buffer)[]) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

const cover = (ev: EventRow) => ({ title: ev.title, host: ev.host ?? undefined, date: ev.createdAt });

function artworkSpec(ev: EventRow): ImageSpec {
  return {
    key: keys.artwork(ev.id),
    contentType: 'image/jpeg',
    fingerprintKey: keys.work(ev.id, 'publisher/artwork.sha256'),
    inputs: () => {
      const what = cover(ev);
      return Promise.resolve({ fingerprint: sha256(JSON.stringify({ ...what, host: what.host ?? null })), draw: () => renderArtwork(what) });
    },
  };
}

function cardSpec(ev: EventRow, storage: Storage, durationSec: number): ImageSpec {
  return {
    key: keys.card(ev.id),
    contentType: 'image/png',
    fingerprintKey: keys.work(ev.id, 'publisher/card.sha256'),
    inputs: async () => {
      // The waveform as stored: hashed as it is, parsed only to draw.
      const peaksText = await getIfPresent(storage, keys.peaks(ev.id));
      const what = { ...cover(ev), durationSec };
      const peaks = () => (peaksText ? (JSON.parse(peaksText.toString('utf8')) as { data: number[]; bits: 8 }) : undefined);
      return {
        fingerprint: sha256(JSON.stringify({ ...what, host: what.host ?? null }), peaksText ?? ''),
        draw: () => renderSocialCard({ ...what, peaks: peaks() }),
      };
    },
  };
}

/** The stored image if it shows what it should now; otherwise drawn, stored, and its fingerprint recorded. */
async function ensureNow(storage: Storage, spec: ImageSpec): Promise<Buffer> {
  const [{ fingerprint, draw }, stored] = await Promise.all([spec.inputs(), getIfPresent(storage, spec.fingerprintKey)]);
  if (stored?.toString('utf8') === fingerprint) {
    const body = await getIfPresent(storage, spec.key);
    if (body) return body;
  }
  const body = await draw();
  await storage.put(spec.key, body, { contentType: spec.contentType, cacheControl: CACHE_CONTROL.immutable });
  await storage.put(spec.fingerprintKey, fingerprint, { contentType: 'text/plain', cacheControl: CACHE_CONTROL.private });
  return body;
}

/**
 * Checks of one image in this process, one after another: a publication
 * that comes while the image is being drawn waits for it and then finds it
 * current, rather than drawing it a second time.
 */
const inFlight = new Map<string, Promise<Buffer>>();

function ensure(storage: Storage, spec: ImageSpec): Promise<Buffer> {
  const before = inFlight.get(spec.key)?.catch(() => undefined); // its failure is its caller's; checked again here
  const running = (before ?? Promise.resolve()).then(() => ensureNow(storage, spec));
  const settled = running.finally(() => {
    if (inFlight.get(spec.key) === settled) inFlight.delete(spec.key);
  });
  inFlight.set(spec.key, settled);
  return settled;
}

/** The artwork as the event is now (title, host, date): drawn only when it is missing or shows something else. */
export function prepareArtwork(ev: EventRow, storage: Storage): Promise<Buffer> {
  return ensure(storage, artworkSpec(ev));
}

/** The card as the event is now, with its final length and stored waveform: drawn only when missing or out of date. */
export function prepareCard(ev: EventRow, storage: Storage, durationSec: number): Promise<Buffer> {
  return ensure(storage, cardSpec(ev, storage, durationSec));
}

/** Both images as the publication needs them: the stored ones while they are current, else drawn again. */
export async function eventImages(ev: EventRow, storage: Storage, durationSec: number): Promise<EventImages> {
  const [card, artwork] = await Promise.all([prepareCard(ev, storage, durationSec), prepareArtwork(ev, storage)]);
  return { card, artwork };
}
