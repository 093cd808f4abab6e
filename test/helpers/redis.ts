// A redis-server of the test's own on a loopback TCP port, that can be killed
// and started again on the same port and data dir, to play a Redis outage.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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

export function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(port, '127.0.0.1');
    const t = setTimeout(() => { c.destroy(); resolve(false); }, timeoutMs);
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => { clearTimeout(t); c.destroy(); resolve(d.toString().startsWith('+PONG')); });
    c.on('error', () => { clearTimeout(t); resolve(false); });
  });
}

/**
 * `persist`: an append-only file fsynced on every write, so what Redis
 * acknowledged survives a kill (as a managed Redis with AOF would). Without it
 * a restart comes back empty.
 */
export async function tcpRedis(opts: { persist?: boolean } = {}): Promise<TcpRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log'),
    ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let child: ChildProcess | undefined;
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
  const handle: TcpRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async start() {
      const p = spawn('redis-server', args, { stdio: 'ignore' });
      p.once('error', () => {});
      child = p;
      for (let i = 0; i < 200; i++) {
        if (await pingRedis(port)) return;
        if (p.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      p.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}: ${fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-2000)}`);
    },
    async kill() {
      const p = child;
      child = undefined;
      if (!p) return;
      p.kill('SIGKILL');
      await exited(p);
    },
    async close() {
      await handle.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
