// The transcoder's part of an event's JSON: how much is transcoded, and the
// growing HLS playlist as soon as it lists a segment.
import type { EventRow } from '../shared/catalog.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { TranscoderState } from './state.ts';

export function transcoderView(state: TranscoderState, storage: Storage) {
  return (ev: EventRow) => {
    const s = state.state(ev.id);
    const out: Record<string, unknown> = { transcodedSec: Math.round(state.transcodedSec(ev.id) * 1000) / 1000 };
    if (s?.loudness) out.loudness = { integratedLufs: s.loudness.integratedLufs, lraLu: s.loudness.lraLu, truePeakDbtp: s.loudness.truePeakDbtp };
    if (s && s.playlistSegments > 0) out.urls = { hls: storage.publicUrl(keys.hlsPlaylist(ev.id)) };
    return out;
  };
}
