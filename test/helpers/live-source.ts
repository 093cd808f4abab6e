// Live audio sources on loopback for tests and benchmarks, made by real ffmpeg:
// an HLS origin (an encoder writing a live playlist, served over HTTP) and an
// Icecast-like HTTP stream. Both can "drop" for a while, as real sources do.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { adtsFramer } from './adts.ts';
import { liveToneArgs } from './tone.ts';

export interface LiveSource {
  url: string;
  /** Resolves when the encoder has finished (its whole duration was produced). */
  finished: Promise<void>;
  /** For the next ms, the server refuses every request and cuts current listeners. */
  drop(ms: number): void;
  close(): Promise<void>;
}

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function closeServer(s: http.Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((r) => s.close(() => r()));
}

function exitOf(p: ChildProcess): Promise<void> {
  return new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));
}

export interface LiveHlsOptions {
  durationSec: number;
  freq?: number;
  segmentSec?: number;
  /** Segments the playlist keeps (older ones deleted); 0 or unset: an EVENT playlist that keeps them all. */
  listSize?: number;
}

/** ffmpeg's arguments for a real-time sine as 2 s (or `segmentSec`) MPEG-TS segments and `dir`/live.m3u8. */
export function liveHlsEncoderArgs(dir: string, opts: LiveHlsOptions): string[] {
  return [
    ...liveToneArgs({ freq: opts.freq ?? 440, seconds: opts.durationSec, sampleRate: 44100, mono: true }),
    '-f',
    'hls',
    '-hls_time',
    String(opts.segmentSec ?? 2),
    '-hls_list_size',
    String(opts.listSize ?? 0),
    ...(opts.listSize ? ['-hls_flags', 'delete_segments'] : ['-hls_playlist_type', 'event']),
    '-hls_segment_filename',
    path.join(dir, 'seg%05d.ts'),
    path.join(dir, 'live.m3u8'),
  ];
}

/**
 * An HLS origin: ffmpeg encodes a sine in real time (-re) for `durationSec`
 * into 2 s MPEG-TS segments and an EVENT playlist, ended by EXT-X-ENDLIST.
 */
export async function liveHls(opts: LiveHlsOptions): Promise<LiveSource & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-hls-'));
  const enc = spawn('ffmpeg', liveHlsEncoderArgs(dir, opts), { stdio: 'ignore' });
  let downUntil = 0;
  const server = await listen((req, res) => {
    if (Date.now() < downUntil) {
      res.statusCode = 503;
      return res.end();
    }
    const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(dir, name);
    if (!/^[\w.-]+$/.test(name) || !fs.existsSync(file)) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t');
    res.end(fs.readFileSync(file));
  });
  // Wait for the playlist to exist, as a real origin would before announcing the stream.
  for (let i = 0; i < 100 && !fs.existsSync(path.join(dir, 'live.m3u8')); i++) await new Promise((r) => setTimeout(r, 100));
  const port = (server.address() as AddressInfo).port;
  return {
    dir,
    url: `http://127.0.0.1:${port}/live.m3u8`,
    finished: exitOf(enc),
    drop(ms) {
      downUntil = Date.now() + ms;
    },
    async close() {
      enc.kill('SIGKILL');
      await closeServer(server);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An Icecast-like stream: one real-time encoder whose ADTS output is sent to
 * every connected listener. A drop cuts listeners and refuses new ones; the
 * encoder goes on, so what is said meanwhile is lost, as on a real stream.
 */
export async function liveHttpStream(opts: {
  durationSec: number;
  freq?: number;
}): Promise<LiveSource & { producedSec: () => number; sinceFirstListenerSec: () => number }> {
  const enc = spawn('ffmpeg', [...liveToneArgs({ freq: opts.freq ?? 660, seconds: opts.durationSec, sampleRate: 44100, mono: true }), '-f', 'adts', 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const listeners = new Set<http.ServerResponse>();
  let downUntil = 0;
  let frames = 0;
  let framesAtFirstListener: number | undefined;
  const framer = adtsFramer((frame) => {
    frames++;
    for (const l of listeners) l.write(frame);
  });
  // Forward whole ADTS frames only, so a listener joining mid-stream starts on a frame boundary.
  enc.stdout.on('data', framer);
  const finished = exitOf(enc).then(() => {
    for (const l of listeners) l.end();
  });
  const server = await listen((req, res) => {
    if (Date.now() < downUntil) {
      res.statusCode = 503;
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'audio/aac', 'cache-control': 'no-store' });
    framesAtFirstListener ??= frames;
    listeners.add(res);
    res.on('close', () => listeners.delete(res));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/stream.aac`,
    finished,
    producedSec: () => (frames * 1024) / 44100,
    /** Audio produced since the first listener (the recorder) joined: all it could have captured. */
    sinceFirstListenerSec: () => ((frames - (framesAtFirstListener ?? frames)) * 1024) / 44100,
    drop(ms) {
      downUntil = Date.now() + ms;
      for (const l of listeners) l.destroy();
      listeners.clear();
    },
    async close() {
      enc.kill('SIGKILL');
      await closeServer(server);
    },
  };
}
