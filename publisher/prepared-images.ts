// The social card and podcast artwork of an ended event, rendered as soon as
// its rendition is final. They need the event's length and waveform, not its
// transcript, and rendering them costs about half a second: done while the
// transcriber runs its last window, they are not part of what the end waits
// for. A fingerprint of what they were drawn from (a private work object)
// tells the publication whether the stored pair is still right (a title
// edited since, a rendition closed again): if not, it draws them again.
import crypto from 'node:crypto';
import type { EventRow } from '../shared/catalog/events.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import { NotFoundError, type Storage } from '../shared/storage/storage.ts';
import { renderArtwork, renderSocialCard } from './images.ts';

export interface EventImages {
  card: Buffer;
  artwork: Buffer;
}

const fingerprintKey = (eventId: string) => keys.work(eventId, 'publisher/images.sha256');

async function getIfPresent(storage: Storage, key: string): Promise<Buffer | undefined> {
  try {
    return await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** What the images are drawn from (the waveform as stored, parsed only to draw), and its fingerprint. */
async function imageInputs(ev: EventRow, storage: Storage, durationSec: number) {
  const peaksText = await getIfPresent(storage, keys.peaks(ev.id));
  const base = { title: ev.title, host: ev.host ?? undefined, date: ev.createdAt, durationSec };
  const fingerprint = crypto
    .createHash('sha256')
    .update(JSON.stringify({ title: base.title, host: base.host ?? null, date: base.date, durationSec }))
    .update(peaksText ?? '')
    .digest('hex');
  const drawOptions = () => ({ ...base, peaks: peaksText ? (JSON.parse(peaksText.toString('utf8')) as { data: number[]; bits: 8 }) : undefined });
  return { drawOptions, fingerprint };
}

/** Preparations running in this process: a publication that comes meanwhile waits for them rather than drawing again. */
const inFlight = new Map<string, Promise<EventImages>>();

/** Renders and stores the card and artwork, then records what they show. Idempotent. */
export function prepareImages(ev: EventRow, storage: Storage, durationSec: number): Promise<EventImages> {
  const running = render(ev, storage, durationSec).finally(() => {
    if (inFlight.get(ev.id) === running) inFlight.delete(ev.id);
  });
  inFlight.set(ev.id, running);
  return running;
}

async function render(ev: EventRow, storage: Storage, durationSec: number): Promise<EventImages> {
  const { drawOptions, fingerprint } = await imageInputs(ev, storage, durationSec);
  const opts = drawOptions();
  const [card, artwork] = await Promise.all([renderSocialCard(opts), renderArtwork(opts)]);
  await storage.put(keys.card(ev.id), card, { contentType: 'image/png', cacheControl: CACHE_CONTROL.immutable });
  await storage.put(keys.artwork(ev.id), artwork, { contentType: 'image/jpeg', cacheControl: CACHE_CONTROL.immutable });
  await storage.put(fingerprintKey(ev.id), fingerprint, { contentType: 'text/plain', cacheControl: CACHE_CONTROL.private });
  return { card, artwork };
}

/** The stored card and artwork when they show the event as it is now; otherwise drawn (and stored) again. */
export async function eventImages(ev: EventRow, storage: Storage, durationSec: number): Promise<EventImages> {
  await inFlight.get(ev.id)?.catch(() => undefined); // its failure is its own job's; drawn again below if need be
  const [{ fingerprint }, stored] = await Promise.all([imageInputs(ev, storage, durationSec), getIfPresent(storage, fingerprintKey(ev.id))]);
  if (stored?.toString('utf8') === fingerprint) {
    const [card, artwork] = await Promise.all([getIfPresent(storage, keys.card(ev.id)), getIfPresent(storage, keys.artwork(ev.id))]);
    if (card && artwork) return { card, artwork };
  }
  return prepareImages(ev, storage, durationSec);
}
