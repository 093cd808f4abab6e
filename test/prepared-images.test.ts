// The card and artwork drawn before the publication needs them
// (publisher/prepared-images.ts): the artwork (title, host, date) when the
// event starts, the card when its length and waveform are final. A
// publication reuses each while it shows the event as it is, waits for a
// drawing in progress rather than drawing again, and draws again the one
// whose inputs changed, leaving the other alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { eventImages, prepareArtwork, prepareCard } from '../publisher/prepared-images.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-prepared-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const event = (over: Partial<EventRow> = {}): EventRow => ({
  id: 'ev_images',
  slug: 'images',
  title: 'Weekly community call',
  host: 'Ada',
  owner: null,
  source: { type: 'push' },
  streamKeyHash: null,
  reconnectWindowSec: 60,
  status: 'ended',
  createdAt: '2030-01-02T00:00:00.000Z',
  endedAt: '2030-01-02T01:00:00.000Z',
  endRequestedAt: null,
  endReason: 'ended by request',
  error: null,
  capturedSec: 3600,
  timelineSec: 3600,
  chunkCount: 1800,
  ...over,
});

/** Counts the stored writes of the card and the artwork. */
function countingStorage(dir: string) {
  const storage = new FsStorage(dir, 'http://x/files');
  const puts = { card: 0, artwork: 0 };
  const put = storage.put.bind(storage);
  storage.put = (key, body, opts) => {
    if (key === keys.card('ev_images')) puts.card++;
    if (key === keys.artwork('ev_images')) puts.artwork++;
    return put(key, body, opts);
  };
  return { storage, puts };
}

// A waveform loud in its first or its second half (the card scales it to its loudest point).
const peaks = (loudFirst: boolean) =>
  JSON.stringify({ version: 2, bits: 8, data: Array.from({ length: 400 }, (_, i) => (i < 200 === loudFirst ? 100 : 10) * (i % 2 ? 1 : -1)) });

describe('prepared card and artwork', () => {
  it('are reused while they show the event as it is; each is drawn again only when its own inputs changed', async () => {
    const { storage, puts } = countingStorage(path.join(root, 'a'));
    // The event's start: the artwork, from title, host and date alone.
    const live = await prepareArtwork(event({ status: 'live', endedAt: null }), storage);
    expect(await sharp(live).metadata()).toMatchObject({ format: 'jpeg', width: 3000, height: 3000 });
    expect(await prepareArtwork(event(), storage)).toEqual(live); // the end: the same event, nothing drawn
    expect(puts).toEqual({ card: 0, artwork: 1 });

    // The length and waveform are final: the card.
    await storage.put(keys.peaks('ev_images'), peaks(true));
    const card = await prepareCard(event(), storage, 3600);
    expect(await sharp(card).metadata()).toMatchObject({ format: 'png', width: 1200, height: 630 });
    expect(puts).toEqual({ card: 1, artwork: 1 });

    // The publication: both found current, neither drawn again.
    const published = await eventImages(event(), storage, 3600);
    expect(published.card.equals(card) && published.artwork.equals(live)).toBe(true);
    expect(puts).toEqual({ card: 1, artwork: 1 });

    // A rendition closed again with another waveform and length: the card is drawn again, the artwork is not.
    await storage.put(keys.peaks('ev_images'), peaks(false));
    const redrawn = await eventImages(event(), storage, 3500);
    expect(redrawn.card.equals(card)).toBe(false);
    expect(redrawn.artwork.equals(live)).toBe(true);
    expect((await storage.get(keys.card('ev_images'))).equals(redrawn.card)).toBe(true);
    expect(puts).toEqual({ card: 2, artwork: 1 });

    // What the artwork shows changed (another host): both are drawn again.
    const rehosted = await eventImages(event({ host: 'Grace' }), storage, 3500);
    expect(rehosted.artwork.equals(live)).toBe(false);
    expect(rehosted.card.equals(redrawn.card)).toBe(false);
    expect(puts).toEqual({ card: 3, artwork: 2 });
  });

  it('draws what is missing at the publication (an artwork the start did not draw, a card never prepared)', async () => {
    const { storage, puts } = countingStorage(path.join(root, 'b'));
    const { card, artwork } = await eventImages(event(), storage, 60);
    expect((await storage.get(keys.card('ev_images'))).equals(card)).toBe(true);
    expect((await storage.get(keys.artwork('ev_images'))).equals(artwork)).toBe(true);
    expect(puts).toEqual({ card: 1, artwork: 1 });
  });

  it('a publication that comes while they are being drawn waits for them instead of drawing again', async () => {
    const { storage, puts } = countingStorage(path.join(root, 'c'));
    const [card, artwork, published] = await Promise.all([
      prepareCard(event(), storage, 60),
      prepareArtwork(event(), storage),
      eventImages(event(), storage, 60),
    ]);
    expect(published.card.equals(card) && published.artwork.equals(artwork)).toBe(true);
    expect(puts).toEqual({ card: 1, artwork: 1 });
  });
});
