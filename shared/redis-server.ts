// The embedded Redis: when REDIS_URL is unset, `replay start` runs a
// redis-server child on a unix socket in the data dir (loopback only, no TCP
// port), with AOF persistence there so queued jobs survive a restart. A child
// left behind by a killed predecessor is reused, not duplicated.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from './log.ts';

export interface EmbeddedRedis {
  socket: string;
  stop(): Promise<void>;
}

/** True when a Redis answers PING at a unix socket path or a TCP address. */
export function ping(target: string | { port: number; host: string }, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const c = typeof target === 'string' ? net.createConnection(target) : net.createConnection(target.port, target.host);
    const t = setTimeout(() => {
      c.destroy();
      resolve(false);
    }, timeoutMs);
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      clearTimeout(t);
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    c.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export async function startEmbeddedRedis(dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'redis.sock');
  const pidFile = path.join(dir, 'redis.pid');

  if (await ping(socket)) {
    log.info('reusing the embedded redis-server left running', { socket });
    return { socket, stop: () => shutdownByPid(pidFile) };
  }
  fs.rmSync(socket, { force: true });

  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--pidfile',
      pidFile,
      '--daemonize',
      'no',
      '--logfile',
      path.join(dir, 'redis.log'),
    ],
    { stdio: 'ignore', detached: false },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.once('error', () => {});

  for (let i = 0; i < 100; i++) {
    if (await ping(socket)) break;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await ping(socket))) {
    child.kill('SIGKILL');
    throw new Error(`embedded redis-server did not start; see ${path.join(dir, 'redis.log')}`);
  }
  log.info('embedded redis-server started', { socket });
  return {
    socket,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM'); // redis flushes the AOF and exits
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Stops a redis-server left running by a predecessor (signalled, not awaited): EmbeddedRedis.stop of a reused one. */
function shutdownByPid(pidFile: string): Promise<void> {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  return Promise.resolve();
}
