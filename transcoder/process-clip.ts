// The transcoder's clip job: cut a requested clip's audio from the rendition
// (clip-cut.ts), record it on the clip, and hand the clip to the publisher.
// Idempotent: a clip whose audio is recorded is only handed on again; a clip
// deleted meanwhile leaves nothing behind.
import { UnrecoverableError, type Job } from 'bullmq';
import { clipJobWork, isClipId, type ClipCatalog } from '../shared/catalog/clips.ts';
import type { Logger } from '../shared/log.ts';
import type { ClipRequestedJob, Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { cutClip } from './clip-cut.ts';
import type { TranscoderState } from './state.ts';

export interface ProcessClipDeps {
  clips: ClipCatalog;
  state: TranscoderState;
  storage: Storage;
  queues: Pick<Queues, 'add'>;
  log: Logger;
}

export async function processClipRequested(job: Job<ClipRequestedJob>, deps: ProcessClipDeps): Promise<string> {
  const { clipId } = job.data ?? {};
  if (!isClipId(clipId)) throw new UnrecoverableError('clip-requested: no valid clipId');
  const clip = await deps.clips.get(clipId);
  if (!clip || clip.status === 'failed') return 'gone';
  return clipJobWork(job, deps.clips, clip.id, async () => {
    if (!clip.audio) {
      const cut = await cutClip(deps, { eventId: clip.eventId, clipId: clip.id, startFrame: clip.startFrame, endFrame: clip.endFrame });
      if (!(await deps.clips.recordAudio(clip.id, cut))) {
        // Deleted (or failed) while it was being cut: its audio goes too.
        await deps.storage.delete(cut.key);
        return 'gone';
      }
      deps.log.info('clip cut', { clip: clip.id, event: clip.eventId, frames: cut.frames, bytes: cut.bytes });
    }
    await deps.queues.add('clip-cut', { clipId: clip.id });
    return 'cut';
  });
}
