// The rendition's HLS media playlist: an EVENT playlist that grows while the
// event is live and is closed with EXT-X-ENDLIST (a VOD) at the end.
import { FRAME, RATE } from './grid.ts';

export interface PlaylistSegment {
  uri: string;
  frames: number;
}

export function renderPlaylist(opts: { initUri: string; segments: PlaylistSegment[]; ended: boolean }): string {
  const durations = opts.segments.map((s) => (s.frames * FRAME) / RATE);
  // EXTINF rounded to the nearest integer must not exceed the target duration.
  const target = Math.max(1, ...durations.map((d) => Math.ceil(d)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:EVENT',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${opts.initUri}"`,
  ];
  opts.segments.forEach((s, i) => {
    lines.push(`#EXTINF:${durations[i].toFixed(6)},`, s.uri);
  });
  if (opts.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
