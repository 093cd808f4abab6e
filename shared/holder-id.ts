// A process's identity as a capture holder: the machine and its data dir.
// Stable across restarts of one data dir, so a restarted service takes its
// own events back at once; distinct for every data dir, so two processes on
// one machine are two holders.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

export function holderId(dataDir: string): string {
  return `${os.hostname()}:${crypto.createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 8)}`;
}
