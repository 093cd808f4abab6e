// A redis-server of the test's own on a loopback TCP port, that can be killed
// and started again on the same port and data dir, to play a Redis outage.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ping } from '../../shared/redis-server.ts';
import { restartable } from './restartable.ts';
import { freePort } from './service.ts';

export interface TcpRedis {
  port: number;
  url: string;
  dir: string;
  /** Starts redis-server (again) on the same port and dir; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL, as a crash or a lost host would: no goodbye to the clients. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** PING over TCP, with the same probe the service uses for its embedded redis-server. */
export const pingRedis = (port: number, timeoutMs = 500) => ping({ port, host: '127.0.0.1' }, timeoutMs);

/**
 * `persist`: an append-only file fsynced on every write, so what Redis
 * acknowledged survives a kill (as a managed Redis with AOF would). Without it
 * a restart comes back empty.
 */
export async function tcpRedis(opts: { persist?: boolean } = {}): Promise<TcpRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--logfile',
    path.join(dir, 'redis.log'),
    ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const handle: TcpRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    ...restartable(dir, async () => {
      const p = spawn('redis-server', args, { stdio: 'ignore' });
      p.once('error', () => {});
      for (let i = 0; i < 200; i++) {
        if (await pingRedis(port)) return p;
        if (p.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      p.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}: ${fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-2000)}`);
    }),
  };
  await handle.start();
  return handle;
}
