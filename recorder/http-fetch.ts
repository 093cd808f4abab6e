// HTTP(S) GET for pulled sources: every hop of a redirect chain goes through
// the address policy (http/https only; IP literals checked before connecting,
// names at connect time), with a connect/idle timeout, an abort signal and a
// cap on what is read.
import http from 'node:http';
import https from 'node:https';
import type { AddressPolicy } from '../shared/net-policy.ts';
import { redactUrl } from '../shared/redact.ts';

/**
 * One keep-alive pool per protocol for every pulled source. Node's global
 * agent keeps at most 256 idle sockets per host: a thousand recordings
 * polling one CDN (or one origin) between their playlist reloads would close
 * and reopen most of their connections on every poll.
 */
const MAX_IDLE_SOCKETS_PER_HOST = 4096;
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxFreeSockets: MAX_IDLE_SOCKETS_PER_HOST, scheduling: 'lifo', timeout: 5000 }),
  'https:': new https.Agent({ keepAlive: true, maxFreeSockets: MAX_IDLE_SOCKETS_PER_HOST, scheduling: 'lifo', timeout: 5000 }),
};

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${redactUrl(url)}`);
  }
}

/** A response larger than the cap it was fetched with. */
export class TooLargeError extends Error {}

export interface FetchOptions {
  policy: AddressPolicy;
  signal?: AbortSignal;
  /** Socket idle timeout: a stalled live source counts as dropped. */
  timeoutMs?: number;
  maxRedirects?: number;
}

export type HttpResponse = http.IncomingMessage & { finalUrl: string };

/** Opens a GET and resolves with the response once its status is 2xx. */
export function openHttp(url: string, opts: FetchOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject: (err: Error) => void) => {
    let hops = 0;
    const go = (target: string) => {
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        return reject(new Error('invalid URL in a redirect or playlist'));
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return reject(new Error(`refusing ${u.protocol} URL ${redactUrl(target)}: only http and https`));
      }
      let connect: ReturnType<AddressPolicy['connectOptions']>;
      try {
        connect = opts.policy.connectOptions(u);
      } catch (err) {
        return reject(err as Error); // a refused address
      }
      const mod = u.protocol === 'https:' ? https : http;
      const req = mod.get(u, {
        ...connect,
        agent: agents[u.protocol],
        signal: opts.signal,
        headers: { 'user-agent': 'replay-recorder/0.1', 'icy-metadata': '0' },
        timeout: opts.timeoutMs ?? 10_000,
      });
      req.on('timeout', () => req.destroy(new Error(`connection timed out (${redactUrl(target)})`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (++hops > (opts.maxRedirects ?? 5)) return reject(new Error(`too many redirects from ${redactUrl(url)}`));
          let next: string;
          try {
            next = new URL(res.headers.location, u).href;
          } catch {
            return reject(new Error(`invalid redirect from ${redactUrl(target)}`));
          }
          return go(next);
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return reject(new HttpStatusError(status, target));
        }
        // Keep the idle timeout while streaming: a source that stops sending counts as dropped.
        // The listener goes with the response, since keep-alive sockets are reused.
        const socket = res.socket;
        const onIdle = () => res.destroy(new Error(`source stalled: no data for ${Math.round((opts.timeoutMs ?? 10_000) / 1000)} s (${redactUrl(target)})`));
        socket.setTimeout(opts.timeoutMs ?? 10_000, onIdle);
        res.once('close', () => {
          socket.off('timeout', onIdle);
          socket.setTimeout(0);
        });
        resolve(Object.assign(res, { finalUrl: target }));
      });
    };
    go(url);
  });
}

/** GETs a whole (small) body, such as a playlist or a segment. */
export async function fetchBuffer(
  url: string,
  opts: FetchOptions & { maxBytes: number; what: string },
): Promise<{ body: Buffer; finalUrl: string; contentType: string }> {
  const res = await openHttp(url, opts);
  const tooLarge = () => new TooLargeError(`${opts.what} larger than ${opts.maxBytes} bytes (${redactUrl(url)})`);
  if (Number(res.headers['content-length']) > opts.maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const part of res as AsyncIterable<Buffer>) {
    n += part.length;
    if (n > opts.maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    parts.push(part);
  }
  return { body: Buffer.concat(parts), finalUrl: res.finalUrl, contentType: String(res.headers['content-type'] ?? '') };
}
