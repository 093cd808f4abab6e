// Where each stage's published objects live in storage: the contract through
// which stages meet (a stage reads another's output by these keys, never by
// importing it).
export const keys = {
  /** Unedited source audio, one MPEG-TS chunk per sealed spool chunk (recorder). */
  sourceChunk: (eventId: string, sessionNo: number, name: string) => `events/${eventId}/source/s${sessionNo}-${name}`,
  /** Listener rendition: fMP4 HLS (transcoder). */
  hlsInit: (eventId: string) => `events/${eventId}/hls/init.mp4`,
  hlsSegment: (eventId: string, k: number) => `events/${eventId}/hls/seg-${k}.m4s`,
  hlsPlaylist: (eventId: string) => `events/${eventId}/hls/index.m3u8`,
  /** audiowaveform / peaks.js JSON (transcoder). */
  peaks: (eventId: string) => `events/${eventId}/hls/peaks.json`,
  /** EBU R128 summary (transcoder). */
  loudness: (eventId: string) => `events/${eventId}/hls/loudness.json`,
  /** Transcript files (transcriber). */
  transcript: (eventId: string, fmt: 'json' | 'vtt' | 'srt' | 'txt') => `events/${eventId}/transcript/transcript.${fmt}`,
  /** Publication (publisher). */
  audio: (eventId: string) => `events/${eventId}/audio.m4a`,
  card: (eventId: string) => `events/${eventId}/card.png`,
  artwork: (eventId: string) => `events/${eventId}/artwork.jpg`,
  manifest: (eventId: string) => `events/${eventId}/manifest.json`,
};

/** MIME types of the transcript files (also what `<podcast:transcript type>` says). */
export const TRANSCRIPT_TYPES = {
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  txt: 'text/plain',
  json: 'application/json',
} as const;

export const CACHE_CONTROL = {
  immutable: 'public, max-age=31536000, immutable',
  livePlaylist: 'public, max-age=2',
  short: 'public, max-age=60',
  private: 'private, no-store',
};
