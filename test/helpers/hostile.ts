// Parts for attacking the service the way an attacker would, on loopback:
// a listener that counts every connection that reaches it, every literal form
// of its address, an origin that serves hostile playlists and redirects, a
// pusher whose body the test controls byte by byte, and raw HTTP requests
// whose paths no client library normalizes.
import { spawn } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { liveToneArgs } from './tone.ts';

export interface Counter {
  port: number;
  /** Connections accepted so far, on any of its addresses. */
  readonly count: number;
  close(): Promise<void>;
}

/** A TCP listener on 127.0.0.1 and ::1 (same port) that counts connections and closes them. */
export async function countingListener(): Promise<Counter> {
  let count = 0;
  const servers: net.Server[] = [];
  const listen = (host: string, port: number) =>
    new Promise<net.Server | undefined>((resolve) => {
      const s = net.createServer((sock) => {
        count++;
        sock.destroy();
      });
      s.once('error', () => resolve(undefined)); // no IPv6 loopback on this machine
      s.listen(port, host, () => resolve(s));
    });
  const v4 = (await listen('127.0.0.1', 0))!;
  servers.push(v4);
  const port = (v4.address() as net.AddressInfo).port;
  const v6 = await listen('::1', port);
  if (v6) servers.push(v6);
  return {
    port,
    get count() {
      return count;
    },
    close: async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
    },
  };
}

/** Every way of writing "this machine" in a URL's host, for one port (http URLs). */
export async function loopbackForms(port: number): Promise<string[]> {
  const hosts = [
    '127.0.0.1',
    '127.0.0.1.',
    '127.1',
    '127.0.1',
    '2130706433',
    '0x7f000001',
    '0x7f.1',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '017700000001',
    '0177.1',
    '%31%32%37.0.0.1',
    '0.0.0.0',
    '0',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:7f00:1]',
    '[::ffff:127.0.0.1]',
    '[0:0:0:0:0:ffff:7f00:1]',
    '[::]',
    '[::127.0.0.1]',
    '[64:ff9b::7f00:1]',
    'localhost',
    'LOCALHOST.',
    'a.b.localhost',
  ];
  // A name that resolves to loopback (the machine's own name, on most machines): checked only at connect time.
  const own = os.hostname();
  const addrs = await dns.promises.lookup(own, { all: true }).catch(() => []);
  if (addrs.some((a) => a.address.startsWith('127.') || a.address === '::1')) hosts.push(own);
  return hosts.map((h) => `http://${h}:${port}/x`);
}

/** Serves `handler` on 127.0.0.1; returns its base URL. */
export async function origin(handler: http.RequestListener): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

export interface Pusher {
  /** What the pusher sends: write to it, end it, or leave it open and silent. */
  body: PassThrough;
  /** The service's answer (which may come while the body is still open). */
  response: Promise<{ status: number; body: string }>;
  /** Pipes `seconds` of a sine as real-time ADTS into the body (the body is ended afterwards unless keepOpen). */
  sendAudio(seconds: number, opts?: { keepOpen?: boolean }): Promise<void>;
  abort(): void;
}

/** A `PUT /ingest/:id` with a chunked body the test controls. */
export function pusher(ingestUrl: string, key: string): Pusher {
  const body = new PassThrough();
  const u = new URL(ingestUrl);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname + u.search,
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'audio/aac' },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  req.on('error', () => {});
  // Node sends a request's head with its first body bytes: a pusher that sends nothing must still arrive.
  req.flushHeaders();
  body.pipe(req);
  return {
    body,
    response,
    sendAudio(seconds, opts = {}) {
      return new Promise((resolve) => {
        const enc = spawn('ffmpeg', [...liveToneArgs({ freq: 330, seconds }), '-f', 'adts', 'pipe:1'], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        enc.stdout.pipe(body, { end: !opts.keepOpen });
        enc.on('exit', () => resolve());
      });
    },
    abort: () => req.destroy(),
  };
}

/** GET with the path exactly as written (no dot-segment or backslash normalization). */
export function rawGet(
  base: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds a process and its reaped children used so far (Linux /proc). */
export function cpuSeconds(pid: number, opts: { children?: boolean } = {}): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14-17 (1-based); f[0] is field 3.
  const own = Number(f[11]) + Number(f[12]);
  return (opts.children === false ? own : own + Number(f[13]) + Number(f[14])) / 100;
}
