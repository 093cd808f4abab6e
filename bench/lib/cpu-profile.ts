// A V8 CPU profile of the service's node process, for finding where its CPU
// goes. --cpu-prof is not allowed in NODE_OPTIONS, so a small preload written
// to a temp file starts the in-process profiler and writes the profile when
// the process exits (`replay start` exits through process.exit on SIGTERM).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Returns NODE_OPTIONS for the service that profile it into `dir`. */
export function profilerNodeOptions(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replay-prof-')), 'preload.cjs');
  fs.writeFileSync(
    preload,
    `const inspector = require('node:inspector');
const fs = require('node:fs');
const s = new inspector.Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.setSamplingInterval', { interval: 500 });
s.post('Profiler.start');
process.on('exit', () => {
  // The in-thread session answers synchronously, so this completes before the process is gone.
  s.post('Profiler.stop', (err, r) => {
    if (!err) fs.writeFileSync(${JSON.stringify(dir)} + '/service-' + process.pid + '.cpuprofile', JSON.stringify(r.profile));
  });
});
`,
  );
  return `--require ${preload}`;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time by function (file:line), the top `limit`, as [label, percent of the busy (non-idle) samples]. */
export function topSelf(file: string, limit = 20): [string, number][] {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  let busy = 0;
  for (const id of p.samples) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)') continue;
    busy++;
    const url = f.url
      .replace(/^file:\/\//, '')
      .replace(/^.*\/work\/main\//, '')
      .replace(/^.*node_modules\//, 'node_modules/');
    const label = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const total = busy || 1;
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, v]) => [k, (v / total) * 100]);
}
