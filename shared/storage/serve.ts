// Serves objects of the filesystem driver over HTTP; the app mounts this at
// `/files`, which is the fs driver's publicUrl base. (With S3 the bucket or its
// CDN serves objects directly and this router is not used.) Only the public
// store is mounted; private objects live elsewhere, and a request path that
// names one in any encoding is refused before anything is opened.
import path from 'node:path';
import { pipeline } from 'node:stream';
import express, { type Response } from 'express';
import { log } from '../log.ts';
import type { FsStorage } from './fs.ts';
import { assertValidKey } from './storage.ts';

const logger = log.child('files');

/**
 * Parses a `Range` header against an object of `size` bytes. Returns undefined
 * when the whole object should be sent: no header, a header we do not parse
 * (RFC 9110 lets a server ignore it) or several ranges (not supported).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header?.trim().match(/^bytes=\s*(\d*)\s*-\s*(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const a = m[1] === '' ? undefined : Number(m[1]);
  const b = m[2] === '' ? undefined : Number(m[2]);
  if ((a !== undefined && !Number.isSafeInteger(a)) || (b !== undefined && !Number.isSafeInteger(b))) return undefined;
  if (a === undefined) {
    // Suffix range `bytes=-N`: the last N bytes.
    if (b === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - b!), end: size - 1 };
  }
  if (b !== undefined && b < a) return undefined; // syntactically invalid: ignore
  if (a >= size) return 'unsatisfiable';
  return { start: a, end: Math.min(b ?? size - 1, size - 1) };
}

/**
 * The key a request path names after every decoding a client, proxy or
 * server might apply (%2F, %252F, ...), with backslashes as slashes, `.` and
 * `..` resolved, and case folded.
 */
export function canonicalKeyPath(rawPath: string): string {
  let p = rawPath;
  for (let i = 0; i < 8; i++) {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      break;
    }
    if (d === p) break;
    p = d;
  }
  return path.posix
    .normalize('/' + p.replace(/\\/g, '/'))
    .replace(/^\/+/, '')
    .toLowerCase();
}

/** True for the private prefix, and for the source and work areas of the old layout (objects stored before they moved). */
export function isPrivatePath(rawPath: string): boolean {
  const k = canonicalKeyPath(rawPath);
  return k === 'private' || k.startsWith('private/') || /^events\/[^/]*\/(source|work)(\/|$)/.test(k);
}

function notFound(res: Response): void {
  res.status(404).type('text/plain').send('not found\n');
}

export function serveFsStorage(storage: FsStorage): express.Router {
  const router = express.Router();

  router.use((_req, res, next) => {
    // Players and podcast apps on other origins fetch audio and transcripts.
    res.set({
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag',
      'X-Content-Type-Options': 'nosniff',
    });
    next();
  });

  // CORS preflight: browsers preflight Range requests they do not consider simple.
  router.options('/*key', (_req, res) => {
    res.set({
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Range',
      'Access-Control-Max-Age': '86400',
    });
    res.status(204).end();
  });

  // Express 5 (path-to-regexp 8): `*key` captures the rest of the path as an
  // array of decoded segments. A `%2F` decodes into a segment, so the joined key
  // contains `..` or an empty segment and fails validation. GET routes also match HEAD.
  router.get('/*key', async (req, res) => {
    if (isPrivatePath(req.path)) return notFound(res);
    const raw = (req.params as Record<string, unknown>).key;
    const key = Array.isArray(raw) ? raw.join('/') : String(raw);
    try {
      assertValidKey(key);
    } catch {
      return notFound(res);
    }
    const obj = await storage.open(key);
    if (!obj) return notFound(res);

    const { size, lastModified, contentType, cacheControl } = obj.info;
    const etag = `W/"${size.toString(16)}-${(lastModified?.getTime() ?? 0).toString(16)}"`;
    res.set({
      'Accept-Ranges': 'bytes',
      'Content-Type': contentType || 'application/octet-stream',
      ETag: etag,
    });
    if (cacheControl) res.set('Cache-Control', cacheControl);
    if (lastModified) res.set('Last-Modified', lastModified.toUTCString());

    const inm = req.get('If-None-Match');
    if (inm && (inm.trim() === '*' || inm.split(',').some((t) => t.trim() === etag))) {
      await obj.close();
      return void res.status(304).end();
    }

    // If-Range: only honour the range when the client's copy is still current.
    const ifRange = req.get('If-Range');
    const range = ifRange && ifRange !== etag ? undefined : parseRange(req.get('Range'), size);
    if (range === 'unsatisfiable') {
      await obj.close();
      res.set('Content-Range', `bytes */${size}`);
      return void res.status(416).end();
    }
    if (range) {
      res.status(206).set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      res.set('Content-Length', String(range.end - range.start + 1));
    } else {
      res.status(200).set('Content-Length', String(size));
    }
    if (req.method === 'HEAD' || size === 0) {
      await obj.close();
      return void res.end();
    }
    pipeline(obj.stream(range), res, (err) => {
      // A listener closing the connection mid-file is routine, not worth a warning.
      if (err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        logger.warn('serving file failed', { key, err });
      }
    });
  });

  return router;
}
