// Follows a live HLS playlist (LIVE or EVENT, as X Spaces serves its mix) and
// yields each media segment once, in media-sequence order. The reader keeps
// the last sequence number it delivered across reconnects, so a re-joined
// source resumes after it: nothing is fetched twice, and segments that
// scrolled out of the playlist while we were away are reported as lost time.
// Everything a playlist says is hostile: its size, nesting, durations and
// URIs are bounded or checked (every URI goes through the address policy).
import { fetchBuffer, HttpStatusError, type FetchOptions } from './http-fetch.ts';

export interface Playlist {
  mediaSequence: number;
  targetDuration: number;
  endList: boolean;
  /** Variant playlist URIs, when this is a master playlist. */
  variants: string[];
  /** uri is undefined when the line is not a valid URL (the segment counts as lost). */
  segments: { seq: number; uri?: string; durationSec: number; discontinuity: boolean; map?: string }[];
}

/** What a source's playlists and segments may cost (README, Security). */
export interface HlsLimits {
  maxPlaylistBytes: number;
  maxPlaylistDepth: number;
  maxSegmentBytes: number;
}

/** Longest target duration believed; segment durations are held to twice the target. */
const MAX_TARGET_SEC = 60;

function resolveUri(uri: string, baseUrl: string): string | undefined {
  try {
    return new URL(uri, baseUrl).href;
  } catch {
    return undefined;
  }
}

/** A piece of the source stream, or a break in it. */
export type FeedItem =
  | { type: 'data'; data: Buffer; seq?: number; durationSec?: number }
  /** restart: the source started its stream over (its media sequence went back). */
  | { type: 'break'; lostSec: number; reason: string; restart?: boolean };

export function parsePlaylist(text: string, baseUrl: string): Playlist {
  if (!text.trimStart().startsWith('#EXTM3U')) throw new Error('not an HLS playlist (no #EXTM3U)');
  const pl: Playlist = { mediaSequence: 0, targetDuration: 6, endList: false, variants: [], segments: [] };
  let dur = 0;
  let disc = false;
  let map: string | undefined;
  let expectVariant = false;
  let seq: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:'))
      pl.mediaSequence = Math.max(0, Math.min(Number.MAX_SAFE_INTEGER / 2, Math.floor(Number(line.split(':')[1]) || 0)));
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) pl.targetDuration = Math.max(1, Math.min(MAX_TARGET_SEC, Number(line.split(':')[1]) || 6));
    else if (line.startsWith('#EXT-X-ENDLIST')) pl.endList = true;
    else if (line.startsWith('#EXT-X-DISCONTINUITY') && !line.startsWith('#EXT-X-DISCONTINUITY-SEQUENCE')) disc = true;
    else if (line.startsWith('#EXT-X-MAP:')) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m) map = resolveUri(m[1], baseUrl);
    } else if (line.startsWith('#EXTINF:')) dur = Math.max(0, Number(line.slice(8).split(',')[0]) || 0);
    else if (line.startsWith('#EXT-X-STREAM-INF')) expectVariant = true;
    else if (line.startsWith('#EXT-X-MEDIA:') && /TYPE=AUDIO/.test(line)) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      const resolved = uri && resolveUri(uri, baseUrl);
      if (resolved) pl.variants.unshift(resolved); // an audio rendition beats a muxed variant
    } else if (!line.startsWith('#')) {
      const uri = resolveUri(line, baseUrl);
      if (expectVariant) {
        if (uri) pl.variants.push(uri);
        expectVariant = false;
        continue;
      }
      seq = seq === undefined ? pl.mediaSequence : seq + 1;
      pl.segments.push({ seq, uri, durationSec: dur, discontinuity: disc, map });
      dur = 0;
      disc = false;
    }
  }
  // A segment is believed to last at most twice the target duration, whatever its EXTINF says.
  for (const seg of pl.segments) seg.durationSec = Math.min(seg.durationSec, 2 * pl.targetDuration);
  return pl;
}

/** Packed-audio HLS segments (ADTS, MP3) start with an ID3 timestamp tag; concatenated they would confuse the demuxer. */
export function stripId3(buf: Buffer): Buffer {
  let off = 0;
  while (buf.length - off >= 10 && buf.toString('latin1', off, off + 3) === 'ID3') {
    const size = ((buf[off + 6] & 0x7f) << 21) | ((buf[off + 7] & 0x7f) << 14) | ((buf[off + 8] & 0x7f) << 7) | (buf[off + 9] & 0x7f);
    const footer = buf[off + 5] & 0x10 ? 10 : 0;
    off += 10 + size + footer;
  }
  return off ? buf.subarray(off) : buf;
}

export interface HlsState {
  lastSeq?: number;
  /** Sum of EXTINF durations delivered: the media time the reader has handed on. */
  deliveredSec: number;
}

export class HlsReader {
  readonly state: HlsState;
  private mediaUrl?: string;
  /** Playlist levels from the source URL down to mediaUrl (1: the source URL itself). */
  private mediaDepth = 1;
  private sentMap?: string;
  private avgSegSec = 0;

  constructor(
    private readonly url: string,
    private readonly fetchOpts: Omit<FetchOptions, 'signal'> & HlsLimits,
    state?: HlsState,
  ) {
    this.state = state ?? { deliveredSec: 0 };
  }

  /** True when the URL serves an HLS playlist (by extension or by content). */
  static looksLikeHls(url: string, contentType: string, head: Buffer): boolean {
    return /\.m3u8?($|\?)/i.test(new URL(url).pathname) || /mpegurl/i.test(contentType) || head.toString('latin1', 0, 7) === '#EXTM3U';
  }

  /**
   * Yields the stream from where the reader stopped. Ends when the playlist
   * ends (EXT-X-ENDLIST); throws when the source cannot be reached, so the
   * recording can reconnect and call it again.
   */
  async *items(signal: AbortSignal): AsyncGenerator<FeedItem> {
    const opts = { ...this.fetchOpts, signal };
    for (;;) {
      if (signal.aborted) return;
      const pl = await this.loadMediaPlaylist(opts);
      const fresh = pl.segments.filter((s) => this.state.lastSeq === undefined || s.seq > this.state.lastSeq);
      if (this.state.lastSeq !== undefined && fresh.length && fresh[0].seq > this.state.lastSeq + 1) {
        const missing = fresh[0].seq - this.state.lastSeq - 1;
        yield { type: 'break', lostSec: missing * (this.avgSegSec || pl.targetDuration), reason: `${missing} HLS segment(s) scrolled out of the playlist` };
      } else if (this.state.lastSeq !== undefined && pl.segments.length && pl.segments[pl.segments.length - 1].seq < this.state.lastSeq) {
        // The media sequence went backwards: the source restarted its stream.
        this.state.lastSeq = undefined;
        yield { type: 'break', lostSec: 0, reason: 'the source restarted its stream', restart: true };
        continue;
      }
      for (const seg of fresh) {
        if (signal.aborted) return;
        if (seg.discontinuity && this.state.lastSeq !== undefined) yield { type: 'break', lostSec: 0, reason: 'EXT-X-DISCONTINUITY' };
        if (seg.map && seg.map !== this.sentMap) {
          const init = await fetchBuffer(seg.map, { ...opts, maxBytes: this.fetchOpts.maxSegmentBytes, what: 'HLS init section' });
          yield { type: 'data', data: init.body };
          this.sentMap = seg.map;
        }
        const body = await this.fetchSegment(seg.uri, opts);
        // Advance before yielding: the consumer persists this state right after writing the segment.
        this.state.lastSeq = seg.seq;
        this.state.deliveredSec += seg.durationSec;
        this.avgSegSec = this.avgSegSec ? this.avgSegSec * 0.8 + seg.durationSec * 0.2 : seg.durationSec;
        if (body) yield { type: 'data', data: seg.map ? body : stripId3(body), seq: seg.seq, durationSec: seg.durationSec };
        else yield { type: 'break', lostSec: seg.durationSec, reason: `segment ${seg.seq} could not be fetched` };
      }
      if (pl.endList) return;
      // As RFC 8216 (6.3.4) asks: a playlist that brought new segments is reloaded after a target
      // duration, one that did not after half of one (held to 0.5-5 s). A thousand recordings poll
      // a little over once per segment each, instead of twice.
      const full = Math.min(5, Math.max(0.5, pl.targetDuration)) * 1000;
      await sleep(fresh.length ? full : full / 2, signal);
    }
  }

  /** The media playlist, following master playlists at most maxPlaylistDepth levels deep. */
  private async loadMediaPlaylist(opts: FetchOptions): Promise<Playlist> {
    const url = this.mediaUrl ?? this.url;
    const res = await retry(() => fetchBuffer(url, { ...opts, maxBytes: this.fetchOpts.maxPlaylistBytes, what: 'HLS playlist' }), opts.signal);
    const pl = parsePlaylist(res.body.toString('utf8'), res.finalUrl);
    if (pl.variants.length && !pl.segments.length) {
      if (this.mediaDepth >= this.fetchOpts.maxPlaylistDepth) throw new Error(`HLS playlists nested deeper than ${this.fetchOpts.maxPlaylistDepth} levels`);
      this.mediaUrl = pl.variants[0];
      this.mediaDepth++;
      return this.loadMediaPlaylist(opts);
    }
    return pl;
  }

  /** A listed segment that fails three times with 404 (or has no valid URI) is given up as lost, like the archivers do. */
  private async fetchSegment(uri: string | undefined, opts: FetchOptions): Promise<Buffer | undefined> {
    if (!uri) return undefined;
    try {
      return (await retry(() => fetchBuffer(uri, { ...opts, maxBytes: this.fetchOpts.maxSegmentBytes, what: 'HLS segment' }), opts.signal)).body;
    } catch (e) {
      if (e instanceof HttpStatusError && e.status === 404 && !opts.signal?.aborted) return undefined;
      throw e;
    }
  }
}

/** Three tries with a short pause: one reset keep-alive connection is not a dropped source. */
async function retry<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted || i >= 2) throw e;
      await sleep(300 * (i + 1), signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
