// What a source URL may be, and how each kind is read.
// http(s) sources are fetched by the recorder itself (it sees every redirect
// and connects through the address policy) and fed to ffmpeg's stdin; HLS is
// followed segment by segment. RTMP and SRT are read by ffmpeg, with a
// protocol whitelist, and pinned: the host is resolved and checked here and
// ffmpeg is given the checked address, so it never resolves the name itself
// (no DNS rebinding between the check and the connect). file: is for tests
// and local mixers only, behind REPLAY_ALLOW_PRIVATE_SOURCES.
import path from 'node:path';
import { BlockedAddressError, type AddressPolicy } from '../shared/net-policy.ts';
import { HlsReader, type FeedItem, type HlsLimits, type HlsState } from './hls-reader.ts';
import { openHttp } from './http-fetch.ts';

export type SourceKind = 'http' | 'rtmp' | 'srt' | 'file';

export class SourceUrlError extends Error {}

const KINDS: Record<string, SourceKind> = {
  'http:': 'http',
  'https:': 'http',
  'rtmp:': 'rtmp',
  'rtmps:': 'rtmp',
  'srt:': 'srt',
  'file:': 'file',
};

/** ffmpeg may open only these protocols for each kind; an HLS playlist can never reach file: or others. */
const WHITELIST: Record<Exclude<SourceKind, 'http'>, string> = {
  rtmp: 'rtmp,rtmps,tcp,tls',
  srt: 'srt,udp',
  file: 'file',
};

/** Validates a source URL given at event creation: syntax, and the address policy for IP literals (names are checked at connect time). */
export function checkSourceUrl(raw: unknown, policy: AddressPolicy): { url: string; kind: SourceKind } {
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
    if (!policy.allowsPrivate) throw new SourceUrlError('source.url file: sources need REPLAY_ALLOW_PRIVATE_SOURCES=1');
    if (!path.isAbsolute(decodeURIComponent(u.pathname))) throw new SourceUrlError('source.url file: path must be absolute');
    return { url: u.href, kind };
  }
  if (!u.hostname) throw new SourceUrlError('source.url has no host');
  if (kind === 'srt' && !u.port) throw new SourceUrlError('source.url srt: URLs need a port');
  try {
    policy.checkLiteral(u);
  } catch (e) {
    if (e instanceof BlockedAddressError) throw new SourceUrlError(`source.url ${e.message} (set REPLAY_ALLOWED_SOURCE_HOSTS to allow a LAN mixer)`);
    throw e;
  }
  return { url: u.href, kind };
}

export interface SourceOptions {
  policy: AddressPolicy;
  limits: HlsLimits;
}

/**
 * The URL ffmpeg is given for an RTMP or SRT source: the host replaced by the
 * address the policy checked. RTMP servers that host several names read the
 * original one from tcUrl, which is kept.
 */
async function pinnedUrl(url: string, kind: 'rtmp' | 'srt', policy: AddressPolicy): Promise<{ url: string; options: string[] }> {
  const u = new URL(url);
  const address = await policy.pin(u);
  const host = u.hostname;
  const pinned = new URL(url);
  pinned.hostname = address.includes(':') ? `[${address}]` : address;
  const options: string[] = [];
  const segments = u.pathname.split('/').filter(Boolean);
  if (kind === 'rtmp' && pinned.hostname !== host && segments.length >= 2) {
    options.push('-rtmp_tcurl', `${u.protocol}//${host}${u.port ? `:${u.port}` : ''}/${segments[0]}`);
  }
  return { url: pinned.href, options };
}

/** One connection to the source: bytes for ffmpeg's stdin, or a URL ffmpeg reads itself. */
export type Feed =
  /** close(reason): stop reading; a reason says the bytes could not be recorded (a pusher is answered with it). */
  { kind: 'bytes'; items: AsyncIterable<FeedItem>; close(reason?: string): void } | { kind: 'url'; url: string; inputOptions: string[]; endsAtEof: boolean };

export interface PullSource {
  connect(signal: AbortSignal): Promise<Feed>;
  /** HLS progress, persisted so a restarted recorder resumes after the last segment. */
  hlsState?(): HlsState | undefined;
}

export function pullSource(url: string, opts: SourceOptions, hlsState?: HlsState): PullSource {
  const { kind } = checkSourceUrl(url, opts.policy);
  if (kind === 'http') return new HttpPull(url, opts, hlsState);
  return {
    async connect() {
      const inputOptions = ['-protocol_whitelist', WHITELIST[kind]];
      // A file plays at its own pace, like a live source.
      if (kind === 'file') return { kind: 'url', url: decodeURIComponent(new URL(url).pathname), inputOptions: [...inputOptions, '-re'], endsAtEof: true };
      // Network inputs time out when stalled.
      const pinned = await pinnedUrl(url, kind, opts.policy);
      return { kind: 'url', url: pinned.url, inputOptions: [...inputOptions, ...pinned.options, '-rw_timeout', '10000000'], endsAtEof: false };
    },
  };
}

/** An http(s) source: an HLS playlist, or a continuous stream (Icecast, Shoutcast, progressive). */
class HttpPull implements PullSource {
  private hls?: HlsReader;

  constructor(
    private readonly url: string,
    private readonly opts: SourceOptions,
    hlsState?: HlsState,
  ) {
    if (hlsState) this.hls = this.reader(hlsState);
  }

  private reader(state?: HlsState): HlsReader {
    return new HlsReader(this.url, { policy: this.opts.policy, ...this.opts.limits }, state);
  }

  hlsState() {
    return this.hls?.state;
  }

  async connect(signal: AbortSignal): Promise<Feed> {
    if (this.hls) return this.hlsFeed(this.hls, signal);
    const res = await openHttp(this.url, { policy: this.opts.policy, signal });
    // No encoding is set on the response: its chunks are Buffers.
    const it = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const first = await it.next();
    const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
    if (HlsReader.looksLikeHls(this.url, String(res.headers['content-type'] ?? ''), head)) {
      res.destroy();
      this.hls = this.reader();
      return this.hlsFeed(this.hls, signal);
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

  private hlsFeed(reader: HlsReader, signal: AbortSignal): Feed {
    const ctl = new AbortController();
    signal.addEventListener('abort', () => ctl.abort(), { once: true });
    return { kind: 'bytes', items: reader.items(ctl.signal), close: () => ctl.abort() };
  }
}
