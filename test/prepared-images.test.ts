// The card and artwork drawn at rendition-ready (publisher/prepared-images.ts):
// a publication reuses them while they show the event as it is, waits for a
// drawing in progress rather than drawing again, and draws again once what they
// show has changed (a title edited, a different waveform).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { eventImages, prepareImages } from '../publisher/prepared-images.ts';

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

describe('prepared card and artwork', () => {
  it('are reused while they show the event as it is, and drawn again when it changed', async () => {
    const storage = new FsStorage(root, 'http://x/files');
    // A waveform loud in its first or its second half (the card scales it to its loudest point).
    const peaks = (loudFirst: boolean) =>
      JSON.stringify({ version: 2, bits: 8, data: Array.from({ length: 400 }, (_, i) => (i < 200 === loudFirst ? 100 : 10) * (i % 2 ? 1 : -1)) });
    await storage.put(keys.peaks('ev_images'), peaks(true));
    const prepared = await prepareImages(event(), storage, 3600);
    expect((await sharp(prepared.card).metadata()).format).toBe('png');
    expect((await storage.get(keys.artwork('ev_images'))).equals(prepared.artwork)).toBe(true);
    const cardFile = path.join(root, ...keys.card('ev_images').split('/'));
    const drawnAt = fs.statSync(cardFile).mtimeMs;

    // The publication: the same event, the same rendition: the stored pair, not drawn again.
    const reused = await eventImages(event(), storage, 3600);
    expect(reused.card.equals(prepared.card) && reused.artwork.equals(prepared.artwork)).toBe(true);
    expect(fs.statSync(cardFile).mtimeMs).toBe(drawnAt);

    // A title edited since: drawn again, and the new pair stored.
    const retitled = await eventImages(event({ title: 'Renamed call' }), storage, 3600);
    expect(retitled.card.equals(prepared.card)).toBe(false);
    expect((await storage.get(keys.card('ev_images'))).equals(retitled.card)).toBe(true);
    // A rendition closed again with another waveform: drawn again too.
    await storage.put(keys.peaks('ev_images'), peaks(false));
    const redrawn = await eventImages(event({ title: 'Renamed call' }), storage, 3600);
    expect(redrawn.card.equals(retitled.card)).toBe(false);
  });

  it('a publication that comes while they are being drawn waits for them instead of drawing again', async () => {
    const storage = new FsStorage(path.join(root, 'b'), 'http://x/files');
    let cardPuts = 0;
    const put = storage.put.bind(storage);
    storage.put = (key, body, opts) => {
      if (key === keys.card('ev_images')) cardPuts++;
      return put(key, body, opts);
    };
    const [prepared, published] = await Promise.all([prepareImages(event(), storage, 60), eventImages(event(), storage, 60)]);
    expect(published.card.equals(prepared.card)).toBe(true);
    expect(cardPuts).toBe(1);
  });
});
