// The replay page's Content-Security-Policy, in its two forms: sent as a
// header with a per-request nonce when the app renders the page, and as a
// <meta> element naming the page's one script and one stylesheet by their
// SHA-256 when the page is a stored object (a bucket or a CDN serves it as
// it is, with no per-request anything). Both allow the same sources.
import crypto from 'node:crypto';
import { SCRIPT } from './page-script.ts';
import { STYLE } from './page-style.ts';

const NONCE = /^[A-Za-z0-9+/_=-]{8,128}$/;

/** Whether a CSP nonce is safe to put in a header and an attribute as it is. */
export function isValidNonce(nonce: string): boolean {
  return NONCE.test(nonce);
}

export interface CspSources {
  /** URLs the page plays, shows or fetches from (their origins are allowed: storage, the CDN). */
  mediaOrigins?: string[];
  /** Scripts loaded by URL (hls.js in storage): allowed by their exact URL, nothing else of their origin. */
  scriptUrls?: string[];
  /** Header only: a <meta> policy cannot say who may frame the page. */
  frameAncestors?: string[];
}

const hashOf = (text: string) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** A CSP source expression for an exact URL (no quotes, spaces or semicolons can get in). */
function urlSource(u: string): string {
  return new URL(u).href.replace(/[;,\s']/g, encodeURIComponent);
}

function policy(script: string, style: string, opts: CspSources): string {
  const media = [...new Set((opts.mediaOrigins ?? []).map((o) => new URL(o).origin))].join(' ');
  const extra = media ? ` ${media}` : '';
  const scripts = (opts.scriptUrls ?? []).map((u) => ` ${urlSource(u)}`).join('');
  return [
    `default-src 'none'`,
    `script-src ${script} 'self'${scripts}`,
    `style-src ${style}`,
    `img-src 'self' data:${extra}`,
    `media-src 'self' blob:${extra}`,
    `connect-src 'self'${extra}`,
    `base-uri 'none'`,
    `form-action 'self'`, // the find box submits to the page itself
    ...(opts.frameAncestors ? [`frame-ancestors ${opts.frameAncestors.join(' ') || "'none'"}`] : []),
  ].join('; ');
}

/** A Content-Security-Policy header that fits the page: inline code by nonce only, media from the given origins. */
export function replayPageCsp(nonce: string, opts: CspSources = {}): string {
  if (!isValidNonce(nonce)) throw new TypeError('invalid CSP nonce');
  return policy(`'nonce-${nonce}'`, `'nonce-${nonce}'`, opts);
}

/** The policy of a stored page, for a <meta http-equiv> element: its script and stylesheet by hash. */
export function storedPageCsp(opts: Omit<CspSources, 'frameAncestors'> = {}): string {
  return policy(hashOf(SCRIPT), hashOf(STYLE), opts);
}
