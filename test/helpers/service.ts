// Runs `replay start` as a child process, as a user would, on a free loopback
// port with its own data dir (and so its own embedded redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const TOKEN = 'test-token-0123456789';

/** Where the fs storage of a service keeps an object: private keys under DATA_DIR/private, public ones under DATA_DIR/storage. */
export function storedFile(dataDir: string, key: string): string {
  return key.startsWith('private/') ? path.join(dataDir, key) : path.join(dataDir, 'storage', key);
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningService {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  api(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  waitFor(id: string, pred: (ev: any) => boolean, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** `nodeArgs`: flags for the service's node (bench:publish --cpu-prof). */
export async function startService(opts: { dataDir?: string; port?: number; env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<RunningService> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'replay-data-'));
  const port = opts.port ?? (await freePort());
  let out = '';
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(ROOT, 'bin/replay.js'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REPLAY_DATA_DIR: dataDir,
      REPLAY_API_TOKEN: TOKEN,
      REPLAY_ALLOW_PRIVATE_SOURCES: '1',
      REDIS_URL: '',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`replay start exited ${proc.exitCode}:\n${out}`);
    try {
      if ((await fetch(url + '/healthz')).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 300) throw new Error(`replay start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api: RunningService['api'] = async (method, p, body, headers) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  };
  const exited = () => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
  return {
    url,
    dataDir,
    proc,
    output: () => out,
    api,
    async waitFor(id, pred, timeoutMs = 120_000) {
      const t0 = Date.now();
      for (;;) {
        const { body } = await api('GET', `/api/events/${id}`);
        if (pred(body)) return body;
        if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(body)}\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited();
      // A service that had to be forced out leaves its embedded redis-server (a restart would reuse it): end it.
      try {
        process.kill(Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')), 'SIGKILL');
      } catch {
        /* already gone */
      }
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited();
    },
  };
}
