// Source chunks archived before the source archive moved under `private/`
// sit at events/<id>/source/ beside the public objects, where a public bucket
// policy on events/* would expose them. At start they are moved: copied to
// their private key, the catalog row pointed at it, then the old object
// deleted. Each step is safe to repeat, so a crash midway loses nothing.
import { CACHE_CONTROL, PRIVATE_PREFIX } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import type { Storage } from '../shared/storage/storage.ts';
import type { CaptureStore } from './store.ts';

export async function moveChunksToPrivate(capture: CaptureStore, storage: Storage, log: Logger): Promise<number> {
  let moved = 0;
  for (let batch = await capture.chunksOutsidePrivate(); batch.length; batch = await capture.chunksOutsidePrivate()) {
    for (const c of batch) {
      const to = PRIVATE_PREFIX + c.key;
      if (!(await storage.head(to))) {
        if (!(await storage.head(c.key))) throw new Error(`archived chunk ${c.key} is missing from storage`);
        await storage.put(to, await storage.get(c.key), { contentType: 'video/mp2t', cacheControl: CACHE_CONTROL.privateArchive });
      }
      await capture.setChunkKey(c.eventId, c.seq, to);
      await storage.delete(c.key);
      moved++;
    }
  }
  if (moved) log.info('moved source chunks of an earlier layout under private/', { chunks: moved });
  return moved;
}
