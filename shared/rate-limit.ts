// A rate limit on public reads: pages, feed, files and the read API are open
// to anyone, so one client (one address, or one IPv6 /64) gets a token bucket
// of `burst` reads refilled at `perSec`; past it, 429 with Retry-After.
// Requests with the API token are not limited. The buckets are bounded: idle
// full ones are dropped, and past MAX_CLIENTS the least recently seen go.
import type { Request, RequestHandler } from 'express';

const MAX_CLIENTS = 100_000;

export interface RateLimitOptions {
  perSec: number;
  burst: number;
  /** Requests that are not limited (e.g. those carrying the API token). */
  exempt: (req: Request) => boolean;
}

/** The client a bucket belongs to: an IPv4 address, or the /64 of an IPv6 one. */
export function clientKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const groups = head ? head.split(':') : [];
  const fill = ip.includes('::') ? Math.max(0, 8 - groups.length - (tail ? tail.split(':').length : 0)) : 0;
  return [...groups, ...new Array<string>(fill).fill('0'), ...(tail ? tail.split(':') : [])].slice(0, 4).join(':') + '::/64';
}

export function publicReadLimit(opts: RateLimitOptions): RequestHandler {
  if (opts.perSec <= 0) return (_req, _res, next) => next();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * opts.perSec >= opts.burst) buckets.delete(k);
  }, 60_000);
  sweep.unref();
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || opts.exempt(req)) return next();
    const key = clientKey(req.ip);
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: opts.burst, at: now };
    b.tokens = Math.min(opts.burst, b.tokens + ((now - b.at) / 1000) * opts.perSec);
    b.at = now;
    buckets.delete(key); // re-inserted last: the map's order is least recently seen first
    buckets.set(key, b);
    if (buckets.size > MAX_CLIENTS) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / opts.perSec));
      res
        .set('Retry-After', String(wait))
        .status(429)
        .json({ error: `too many requests; retry in ${wait} s` });
      return;
    }
    b.tokens -= 1;
    next();
  };
}
