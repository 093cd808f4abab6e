// A clip's audiograms as its JSON shows them: per size where the render
// stands, its progress (0..1), the video's URL once it is uploaded whole,
// and the reason when it failed. A clip whose audio failed gets no
// audiograms, and says so rather than staying pending.
import type { ClipRow } from '../../shared/catalog/clips.ts';
import { AUDIOGRAM_SIZES, type AudiogramSize } from '../../shared/queues.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import type { AudiogramRow, AudiogramStatus } from './audiogram-store.ts';
import { LAYOUTS } from './sizes.ts';

export interface AudiogramJson {
  status: AudiogramStatus;
  progress: number;
  url: string | null;
  width: number;
  height: number;
  reason: string | null;
}

export type ClipAudiograms = Record<AudiogramSize, AudiogramJson>;

export function audiogramsJson(storage: Pick<Storage, 'publicUrl'>, clip: Pick<ClipRow, 'status'>, rows: AudiogramRow[] = []): ClipAudiograms {
  const out = {} as ClipAudiograms;
  for (const size of AUDIOGRAM_SIZES) {
    const r = rows.find((x) => x.size === size);
    const { width, height } = LAYOUTS[size];
    out[size] = r
      ? {
          status: r.status,
          progress: Math.round(r.progress * 1000) / 1000,
          url: r.status === 'ready' && r.key ? storage.publicUrl(r.key) : null,
          width,
          height,
          reason: r.reason,
        }
      : clip.status === 'failed'
        ? { status: 'failed', progress: 0, url: null, width, height, reason: 'the clip failed' }
        : { status: 'pending', progress: 0, url: null, width, height, reason: null };
  }
  return out;
}
