// The transcoder's part of events' JSON: how much is transcoded, the
// loudness once final, and the growing HLS playlist as soon as it lists a
// segment. A whole list costs two queries.
import type { EventRow } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import type { TranscoderState } from './state.ts';

export function transcoderView(state: TranscoderState, storage: Storage) {
  return async (events: EventRow[]): Promise<Record<string, unknown>[]> => {
    const ids = events.map((e) => e.id);
    const [states, transcoded] = await Promise.all([state.statesOf(ids), state.transcodedSecOf(ids)]);
    return events.map((ev) => {
      const s = states.get(ev.id);
      const out: Record<string, unknown> = { transcodedSec: Math.round((transcoded.get(ev.id) ?? 0) * 1000) / 1000 };
      if (s?.loudness) out.loudness = { integratedLufs: s.loudness.integratedLufs, lraLu: s.loudness.lraLu, truePeakDbtp: s.loudness.truePeakDbtp };
      if (s && s.playlistSegments > 0) out.urls = { hls: storage.publicUrl(keys.hlsPlaylist(ev.id)) };
      return out;
    });
  };
}
