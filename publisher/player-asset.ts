// The player script (hls.js) as an object in storage beside the pages, so a
// page served by the bucket or a CDN plays the live stream with no app
// behind it. Its name carries a hash of its content: a new hls.js is a new
// object, so every copy can be cached for good (immutable).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';

export const hlsJsFile = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

let body: Buffer | undefined;
const playerBody = () => (body ??= fs.readFileSync(hlsJsFile));

/** The asset's storage key, e.g. `assets/hls-0123456789abcdef.min.js`. */
export function playerAssetKey(): string {
  const hash = crypto.createHash('sha256').update(playerBody()).digest('hex').slice(0, 16);
  return keys.asset(`hls-${hash}.min.js`);
}

const written = new WeakMap<Storage, Promise<string>>();

/** Makes sure the asset is in this storage (once per process and storage) and returns its public URL. */
export function ensurePlayerAsset(storage: Storage): Promise<string> {
  let p = written.get(storage);
  if (!p) {
    const key = playerAssetKey();
    p = (async () => {
      if (!(await storage.head(key))) {
        await storage.put(key, playerBody(), { contentType: 'text/javascript; charset=utf-8', cacheControl: CACHE_CONTROL.immutable });
      }
      return storage.publicUrl(key);
    })();
    // A failed write (storage away) is tried again by the next caller.
    p.catch(() => written.delete(storage));
    written.set(storage, p);
  }
  return p;
}
