// HTTP(S) GET for pulled sources: every hop of a redirect chain is checked
// (http/https only, no private addresses unless allowed, checked at connect
// time through safeLookup), with a connect/idle timeout and an abort signal.
import http from 'node:http';
import https from 'node:https';
import { safeLookup } from '../shared/net-guard.ts';

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${redact(url)}`);
  }
}

/** Drops query strings from URLs in messages: they often carry tokens. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export interface FetchOptions {
  allowPrivate: boolean;
  signal?: AbortSignal;
  /** Socket idle timeout: a stalled live source counts as dropped. */
  timeoutMs?: number;
  maxRedirects?: number;
}

/** Opens a GET and resolves with the response once its status is 2xx. */
export function openHttp(url: string, opts: FetchOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let hops = 0;
    const go = (target: string) => {
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        return reject(new Error(`invalid URL in redirect: ${redact(target)}`));
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return reject(new Error(`refusing ${u.protocol} URL ${redact(target)}: only http and https`));
      }
      const mod = u.protocol === 'https:' ? https : http;
      const req = mod.get(u, {
        lookup: safeLookup(opts.allowPrivate) as any,
        signal: opts.signal,
        headers: { 'user-agent': 'replay-recorder/0.1', 'icy-metadata': '0' },
        timeout: opts.timeoutMs ?? 10_000,
      });
      req.on('timeout', () => req.destroy(new Error(`timed out reading ${redact(target)}`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (++hops > (opts.maxRedirects ?? 5)) return reject(new Error(`too many redirects from ${redact(url)}`));
          return go(new URL(res.headers.location, u).href);
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return reject(new HttpStatusError(status, target));
        }
        // Keep the idle timeout while streaming: a source that stops sending counts as dropped.
        // The listener goes with the response, since keep-alive sockets are reused.
        const socket = res.socket;
        const onIdle = () => res.destroy(new Error(`source stalled: ${redact(target)}`));
        socket.setTimeout(opts.timeoutMs ?? 10_000, onIdle);
        res.once('close', () => {
          socket.off('timeout', onIdle);
          socket.setTimeout(0);
        });
        (res as any).finalUrl = target;
        resolve(res);
      });
    };
    go(url);
  });
}

/** GETs a whole (small) body, such as a playlist or a segment. */
export async function fetchBuffer(url: string, opts: FetchOptions & { maxBytes?: number }): Promise<{ body: Buffer; finalUrl: string; contentType: string }> {
  const res = await openHttp(url, opts);
  const max = opts.maxBytes ?? 32 << 20;
  const parts: Buffer[] = [];
  let n = 0;
  for await (const part of res) {
    n += part.length;
    if (n > max) {
      res.destroy();
      throw new Error(`response from ${redact(url)} is larger than ${max} bytes`);
    }
    parts.push(part);
  }
  return { body: Buffer.concat(parts), finalUrl: (res as any).finalUrl ?? url, contentType: String(res.headers['content-type'] ?? '') };
}
