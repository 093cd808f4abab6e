// One live HLS origin shared by many listeners, for benchmarks: a single
// real-time ffmpeg encoder (-re, lavfi sine, AAC 64k mono, 2 s MPEG-TS
// segments, EVENT playlist closed by EXT-X-ENDLIST) served by one Node HTTP
// server under `count` distinct URLs (/s/<i>/live.m3u8, segments resolved
// relative to it), so every recording is an independent HLS pull while the
// source costs one encoder, not N.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { liveHlsEncoderArgs } from '../../test/helpers/live-source.ts';

export interface StreamStats {
  playlistGets: number;
  segmentGets: number;
  bytes: number;
  notFound: number;
  /** When this URL's first segment was served (Date.now()): its recording is capturing. */
  firstSegmentAt?: number;
}

export interface HlsOrigin {
  dir: string;
  encoderPid: number;
  /** URL of stream i (0-based). */
  url(i: number): string;
  /** Resolves with the encoder's exit code once its whole duration was produced. */
  finished: Promise<number | null>;
  /** Per-URL request counters. */
  stats: StreamStats[];
  /** The encoder's segment files, in order. */
  segmentFiles(): string[];
  close(): Promise<void>;
}

const SEG_RE = /^seg\d{5}\.ts$/;

export async function startHlsOrigin(opts: { durationSec: number; count: number; segmentSec?: number; freq?: number }): Promise<HlsOrigin> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-hls-'));
  const playlist = path.join(dir, 'live.m3u8');
  const enc: ChildProcess = spawn('ffmpeg', liveHlsEncoderArgs(dir, opts), { stdio: ['ignore', 'ignore', 'inherit'] });
  const finished = new Promise<number | null>((r) => (enc.exitCode !== null ? r(enc.exitCode) : enc.once('exit', (code) => r(code))));

  const stats: StreamStats[] = Array.from({ length: opts.count }, () => ({ playlistGets: 0, segmentGets: 0, bytes: 0, notFound: 0 }));
  // Segments are immutable once the playlist lists them (ffmpeg lists a segment after closing it), so they are read once.
  const segCache = new Map<string, Buffer>();
  let lastPlaylist = '';

  const server = http.createServer((req, res) => {
    const m = /^\/s\/(\d+)\/([^/]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const i = m ? Number(m[1]) : -1;
    if (!m || i >= opts.count) {
      res.statusCode = 404;
      return res.end();
    }
    const st = stats[i];
    const name = m[2];
    let body: Buffer | undefined;
    if (name === 'live.m3u8') {
      try {
        body = fs.readFileSync(playlist); // ffmpeg replaces it atomically (temp file + rename)
        lastPlaylist = body.toString('latin1');
        st.playlistGets++;
        res.setHeader('content-type', 'application/vnd.apple.mpegurl');
        res.setHeader('cache-control', 'no-store');
      } catch {
        body = undefined;
      }
    } else if (SEG_RE.test(name)) {
      body = segCache.get(name);
      if (!body && lastPlaylist.includes(name)) {
        body = fs.readFileSync(path.join(dir, name));
        segCache.set(name, body);
      }
      if (body) {
        st.segmentGets++;
        st.firstSegmentAt ??= Date.now();
        res.setHeader('content-type', 'video/mp2t');
      }
    }
    if (!body) {
      st.notFound++;
      res.statusCode = 404;
      return res.end();
    }
    st.bytes += body.length;
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  // Keep idle keep-alive connections well beyond the recorders' poll period (as CDNs do), so the
  // origin does not close a socket a recorder is about to reuse (Node's 5 s default races with a 1 s poll on a busy machine).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;

  // Announce the stream only once the encoder has written its first playlist.
  for (let k = 0; k < 200 && !fs.existsSync(playlist); k++) {
    if (enc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!fs.existsSync(playlist)) {
    enc.kill('SIGKILL');
    server.close();
    throw new Error('the HLS encoder wrote no playlist');
  }

  return {
    dir,
    encoderPid: enc.pid ?? -1,
    url: (i) => `http://127.0.0.1:${port}/s/${i}/live.m3u8`,
    finished,
    stats,
    segmentFiles: () =>
      fs
        .readdirSync(dir)
        .filter((f) => SEG_RE.test(f))
        .sort()
        .map((f) => path.join(dir, f)),
    async close() {
      if (enc.exitCode === null && enc.signalCode === null) {
        enc.kill('SIGKILL');
        await finished;
      }
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
