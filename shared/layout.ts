// Where each stage's objects live in storage: the contract through which
// stages meet (a stage reads another's output by these keys, never by
// importing it).
//
// Keys under `private/` are private: the unedited source archive and the
// stages' work files. They live apart from the public objects (another
// directory, or another bucket or a prefix a bucket policy keeps private),
// have no public URL and are never served by the app.
export const PRIVATE_PREFIX = 'private/';

export const keys = {
  /** Unedited source audio, one MPEG-TS chunk per sealed spool chunk (recorder). Private. */
  sourceChunk: (eventId: string, sessionNo: number, name: string) => `${PRIVATE_PREFIX}events/${eventId}/source/s${sessionNo}-${name}`,
  /** The chunk a capture session is writing, copied every second until it is sealed (tail-mirror.ts). Private. */
  sourceTail: (eventId: string, sessionNo: number, name: string) => `${PRIVATE_PREFIX}events/${eventId}/tail/s${sessionNo}-${name}`,
  sourceTails: (eventId: string, sessionNo: number) => `${PRIVATE_PREFIX}events/${eventId}/tail/s${sessionNo}-`,
  /** An archived HLS media segment, named by its media position and content, not by where it was placed. Private. */
  sourceSegment: (eventId: string, name: string) => `${PRIVATE_PREFIX}events/${eventId}/source/hls-${name}`,
  /** A stage's work file (transcoder PCM and the like). Private. */
  work: (eventId: string, rest: string) => `${PRIVATE_PREFIX}events/${eventId}/work/${rest}`,
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
  /** The whole rendition as one faststart file, written during the event and joined at its end (transcoder). */
  audio: (eventId: string) => `events/${eventId}/audio.m4a`,
  /** The rendition's files (init, segments, audio.m4a) with size, sha256 and duration, for the manifest (transcoder). Private. */
  renditionFiles: (eventId: string) => `${PRIVATE_PREFIX}events/${eventId}/rendition-files.json`,
  /** Publication (publisher). */
  card: (eventId: string) => `events/${eventId}/card.png`,
  artwork: (eventId: string) => `events/${eventId}/artwork.jpg`,
  manifest: (eventId: string) => `events/${eventId}/manifest.json`,
  /** The event's page as a static object (publisher): the live page while live, the replay page once published. */
  page: (eventId: string) => `events/${eventId}/index.html`,
  /** oEmbed (type "rich": the embed player in an iframe) for the page (publisher). */
  oembed: (eventId: string) => `events/${eventId}/oembed.json`,
  /** What the stored page shows (`{status, revision}`): a live page polls it to know when to load the replay (publisher). */
  pageState: (eventId: string) => `events/${eventId}/state.json`,
  /** The podcast feed as a static object, at the public root (publisher). */
  feed: () => 'feed.xml',
  /** A static asset the pages load, its name carrying its content hash (publisher). */
  asset: (name: string) => `assets/${name}`,
  /** A clip's own audio (transcoder) and social card (publisher), under its event's prefix: deleting the event empties them too. */
  clipAudio: (eventId: string, clipId: string) => `events/${eventId}/clips/${clipId}/clip.m4a`,
  clipCard: (eventId: string, clipId: string) => `events/${eventId}/clips/${clipId}/card.png`,
  /** A clip's audiogram video in one size (publisher), beside its audio: deleting the clip deletes it. */
  clipAudiogram: (eventId: string, clipId: string, size: string) => `events/${eventId}/clips/${clipId}/audiogram-${size}.mp4`,
  clipPrefix: (eventId: string, clipId: string) => `events/${eventId}/clips/${clipId}/`,
  /** Every prefix an event's objects live under, public and private: deleting the event empties them. */
  eventPrefixes: (eventId: string) => [`events/${eventId}/`, `${PRIVATE_PREFIX}events/${eventId}/`],
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
  /** A live page and its state: every use revalidates, so the switch to the replay is seen at once. */
  revalidate: 'public, no-cache',
  private: 'private, no-store',
  /** The source archive: never changes, never for shared caches. */
  privateArchive: 'private, max-age=31536000, immutable',
};
