// A server process a test can kill (SIGKILL, like a crash or a lost host) and
// start again on the same port and data dir, to play an outage.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface Restartable {
  /** Starts the process (again); resolves once it serves. */
  start(): Promise<void>;
  kill(): Promise<void>;
  /** Kills it and removes its data dir. */
  close(): Promise<void>;
}

const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

/** `launch` spawns the process and resolves with it once it serves (or rejects, having killed it). */
export function restartable(dir: string, launch: () => Promise<ChildProcess>): Restartable {
  let child: ChildProcess | undefined;
  const handle: Restartable = {
    async start() {
      child = await launch();
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
  return handle;
}
