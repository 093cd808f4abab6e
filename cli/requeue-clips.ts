// Clips left pending by a lost message (Redis restarted without its data, a
// process that died between recording a clip and queueing it): at start their
// next job is queued again. Both jobs are idempotent and their ids derive from
// the clip, so a clip whose job is still waiting is not queued twice.
import type { ClipCatalog } from '../shared/catalog/clips.ts';
import type { Queues } from '../shared/queues.ts';

export async function requeueUnfinishedClips(clips: ClipCatalog, queues: Pick<Queues, 'add'>): Promise<number> {
  const pending = await clips.unfinished();
  for (const c of pending) {
    // Its audio recorded: the publisher's part is what is left.
    if (c.audio) await queues.add('clip-cut', { clipId: c.id });
    else await queues.add('clip-requested', { clipId: c.id });
  }
  return pending.length;
}
