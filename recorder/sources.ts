// What a source URL may be, and how each kind is read.
// http(s) sources are fetched by the recorder itself (it sees every redirect
// and connects through the SSRF guard) and fed to ffmpeg's stdin; HLS is
// followed segment by segment. RTMP and SRT are read by ffmpeg, with a
// protocol whitelist and the host checked first. file: is for tests and
// local mixers only, behind REPLAY_ALLOW_PRIVATE_SOURCES.
import path from 'node:path';
import { assertPublicHost } from '../shared/net-guard.ts';
import { HlsReader, type FeedItem, type HlsState } from './hls-reader.ts';
import { openHttp, redact } from './http-fetch.ts';

export type SourceKind = 'http' | 'rtmp' | 'srt' | 'file';

export class SourceUrlError extends Error {}

const KINDS: Record<string, SourceKind> = {
  'http:': 'http', 'https:': 'http', 'rtmp:': 'rtmp', 'rtmps:': 'rtmp', 'srt:': 'srt', 'file:': 'file',
};

/** ffmpeg may open only these protocols for each kind; an HLS playlist can never reach file: or others. */
const WHITELIST: Record<Exclude<SourceKind, 'http'>, string> = {
  rtmp: 'rtmp,rtmps,tcp,tls',
  srt: 'srt,udp',
  file: 'file',
};

/** Validates a source URL given at event creation (syntax and policy only; no network). */
export function checkSourceUrl(raw: unknown, allowPrivate: boolean): { url: string; kind: SourceKind } {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) throw new SourceUrlError('source.url must be a URL string');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new SourceUrlError('source.url is not a valid URL');
  }
  const kind = KINDS[u.protocol];
  if (!kind) throw new SourceUrlError(`source.url protocol ${u.protocol} is not allowed (use http, https, rtmp, rtmps, srt)`);
  if (kind === 'file') {
    if (!allowPrivate) throw new SourceUrlError('source.url file: sources need REPLAY_ALLOW_PRIVATE_SOURCES=1');
    if (!path.isAbsolute(decodeURIComponent(u.pathname))) throw new SourceUrlError('source.url file: path must be absolute');
  } else if (!u.hostname) {
    throw new SourceUrlError('source.url has no host');
  }
  return { url: u.href, kind };
}

/** One connection to the source: bytes for ffmpeg's stdin, or a URL ffmpeg reads itself. */
export type Feed =
  | { kind: 'bytes'; items: AsyncIterable<FeedItem>; close(): void }
  | { kind: 'url'; url: string; inputOptions: string[]; endsAtEof: boolean };

export interface PullSource {
  connect(signal: AbortSignal): Promise<Feed>;
  /** HLS progress, persisted so a restarted recorder resumes after the last segment. */
  hlsState?(): HlsState | undefined;
}

export function pullSource(url: string, allowPrivate: boolean, hlsState?: HlsState): PullSource {
  const { kind } = checkSourceUrl(url, allowPrivate);
  if (kind === 'http') return new HttpPull(url, allowPrivate, hlsState);
  return {
    async connect() {
      const u = new URL(url);
      if (kind !== 'file') await assertPublicHost(u.hostname, allowPrivate);
      const inputOptions = ['-protocol_whitelist', WHITELIST[kind]];
      // A file plays at its own pace, like a live source; network inputs time out when stalled.
      if (kind === 'file') inputOptions.push('-re');
      else inputOptions.push('-rw_timeout', '10000000');
      return { kind: 'url', url: kind === 'file' ? decodeURIComponent(u.pathname) : url, inputOptions, endsAtEof: kind === 'file' };
    },
  };
}

/** An http(s) source: an HLS playlist, or a continuous stream (Icecast, Shoutcast, progressive). */
class HttpPull implements PullSource {
  private hls?: HlsReader;

  constructor(
    private readonly url: string,
    private readonly allowPrivate: boolean,
    hlsState?: HlsState,
  ) {
    if (hlsState) this.hls = new HlsReader(url, { allowPrivate }, hlsState);
  }

  hlsState() {
    return this.hls?.state;
  }

  async connect(signal: AbortSignal): Promise<Feed> {
    if (this.hls) return this.hlsFeed(signal);
    const res = await openHttp(this.url, { allowPrivate: this.allowPrivate, signal });
    const it = res[Symbol.asyncIterator]();
    const first = await it.next();
    const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
    if (HlsReader.looksLikeHls(this.url, String(res.headers['content-type'] ?? ''), head)) {
      res.destroy();
      this.hls = new HlsReader(this.url, { allowPrivate: this.allowPrivate });
      return this.hlsFeed(signal);
    }
    async function* stream(): AsyncGenerator<FeedItem> {
      if (head.length) yield { type: 'data', data: head };
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield { type: 'data', data: next.value };
      }
    }
    return { kind: 'bytes', items: stream(), close: () => res.destroy() };
  }

  private hlsFeed(signal: AbortSignal): Feed {
    const ctl = new AbortController();
    signal.addEventListener('abort', () => ctl.abort(), { once: true });
    return { kind: 'bytes', items: this.hls!.items(ctl.signal), close: () => ctl.abort() };
  }
}

export { redact };
