// The rendition's HLS media playlist: an EVENT playlist that grows while the
// event is live and is closed with EXT-X-ENDLIST (a VOD) at the end. While
// live it may also list partial segments (LL-HLS, live-parts.ts) before their
// parent segment's EXTINF, and after the last one for the segment being made;
// players that do not know the tags skip them and play the segments.
import { FRAME, RATE } from './grid.ts';

export interface PlaylistSegment {
  uri: string;
  frames: number;
}

export interface PlaylistPart {
  /** Index of the parent segment among `segments` (segments.length: the one being made). */
  parent: number;
  uri: string;
  frames: number;
}

/** Seconds with 6 decimals, rounded up (a declared target must not be under what it bounds). */
const ceil6 = (sec: number) => (Math.ceil(sec * 1e6 - 1e-6) / 1e6).toFixed(6);

export function renderPlaylist(opts: { initUri: string; segments: PlaylistSegment[]; parts?: PlaylistPart[]; ended: boolean }): string {
  const durations = opts.segments.map((s) => (s.frames * FRAME) / RATE);
  const parts = opts.parts ?? [];
  // EXTINF rounded to the nearest integer must not exceed the target duration.
  const target = Math.max(1, ...durations.map((d) => Math.ceil(d)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`];
  if (parts.length) {
    const partTarget = ceil6(Math.max(...parts.map((p) => (p.frames * FRAME) / RATE)));
    // PART-HOLD-BACK: at least 3 part targets (the spec's recommendation), and past one reload: the
    // playlist is a static object (fs, S3, a CDN) that cannot block until the next part, so players
    // reload it every target duration, and one that stayed only 3 parts behind would run dry between reloads.
    const holdBack = Math.max(3 * Number(partTarget), target + Number(partTarget));
    lines.push(`#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=${ceil6(holdBack)}`, `#EXT-X-PART-INF:PART-TARGET=${partTarget}`);
  }
  lines.push('#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-INDEPENDENT-SEGMENTS', `#EXT-X-MAP:URI="${opts.initUri}"`);
  const partLines = (parent: number) =>
    parts.filter((p) => p.parent === parent).map((p) => `#EXT-X-PART:DURATION=${ceil6((p.frames * FRAME) / RATE)},URI="${p.uri}",INDEPENDENT=YES`);
  opts.segments.forEach((s, i) => {
    lines.push(...partLines(i), `#EXTINF:${durations[i].toFixed(6)},`, s.uri);
  });
  lines.push(...partLines(opts.segments.length));
  if (opts.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
