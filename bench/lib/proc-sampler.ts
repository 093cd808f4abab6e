// Samples the CPU time and memory of a process tree from /proc, for benchmarks.
//
// CPU: the tree's cumulative CPU time is the sum, over its live processes, of
// utime+stime+cutime+cstime. A child that exits and is reaped moves its time
// into its parent's cutime/cstime, so short-lived processes (ffprobe, ffmpeg
// runs shorter than the sampling period) are still counted, and nothing twice.
// Memory: VmRSS summed over the tree (shared pages, e.g. the ffmpeg libraries
// mapped by every process, are counted once per process), and optionally the
// proportional set size (PSS, from smaps_rollup), which splits shared pages
// among the processes that map them and so adds up to the real footprint.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime+stime of the process itself, in seconds. */
  selfCpuSec: number;
  /** cutime+cstime: reaped children, in seconds. */
  childCpuSec: number;
  startTicks: number;
}

/** Parses /proc/<pid>/stat (comm may contain spaces and parentheses). */
export function readStat(pid: number): ProcInfo | undefined {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  const comm = s.slice(open + 1, close);
  const f = s.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid,
    ppid: n(4),
    comm,
    selfCpuSec: (n(14) + n(15)) / CLK_TCK,
    childCpuSec: (n(16) + n(17)) / CLK_TCK,
    startTicks: n(22),
  };
}

/** VmRSS in bytes (0 for a zombie or a vanished process). */
export function readRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size in bytes, from smaps_rollup (0 when unreadable). */
export function readPss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function readCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Every live process, by pid. */
export function allProcesses(): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(Number(name));
    if (p) out.set(p.pid, p);
  }
  return out;
}

/** The root and all its descendants (walked through ppid). */
export function processTree(root: number, procs = allProcesses()): ProcInfo[] {
  const kids = new Map<number, ProcInfo[]>();
  for (const p of procs.values()) {
    const list = kids.get(p.ppid);
    if (list) list.push(p);
    else kids.set(p.ppid, [p]);
  }
  const rootInfo = procs.get(root);
  if (!rootInfo) return [];
  const out: ProcInfo[] = [];
  const stack = [rootInfo];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const k of kids.get(p.pid) ?? []) stack.push(k);
  }
  return out;
}

/** One process's whole CPU time (its own and its reaped children's) in seconds. */
export function processCpuSec(pid: number): number | undefined {
  const p = readStat(pid);
  return p ? p.selfCpuSec + p.childCpuSec : undefined;
}

/** Machine-wide jiffies from /proc/stat: busy and total (all CPUs). */
export function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export type Classifier = (p: ProcInfo, cmdline: string) => string;

export interface Sample {
  /** ms since the sampler started. */
  t: number;
  /** Cumulative CPU seconds of the tree. */
  cpuSec: number;
  rssBytes: number;
  pssBytes?: number;
  procs: number;
  /** Machine-wide /proc/stat jiffies at that instant. */
  machine: { busy: number; total: number };
  /** Whatever the `extras` option returned at that instant. */
  extras: Record<string, number>;
  /** Live processes, their RSS and their cumulative CPU seconds (own + reaped children), per class. */
  byClass: Record<string, { count: number; rssBytes: number; cpuSec: number }>;
}

/**
 * Samples a process tree every `intervalMs`. Also remembers every distinct
 * process it saw, by class, so short bursts of helper processes show up.
 */
export class TreeSampler {
  readonly samples: Sample[] = [];
  /** Distinct processes seen (pid+start time), per class. */
  readonly seen = new Map<string, Set<string>>();
  /** Largest number of live processes of a class in one sample. */
  readonly peakCount = new Map<string, number>();
  /** One command line per class, as an example. */
  readonly exampleCmd = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private t0 = Date.now();
  private cmdlines = new Map<string, string>();
  private n = 0;

  constructor(
    private readonly root: number,
    private readonly opts: { intervalMs?: number; pssEvery?: number; classify: Classifier; extras?: () => Record<string, number> },
  ) {}

  start(): this {
    this.t0 = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? 1000);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** Takes a sample now and returns it. */
  sample(): Sample {
    const pssNow = this.opts.pssEvery ? this.n % this.opts.pssEvery === 0 : false;
    let cpuSec = 0;
    let rss = 0;
    let pss = 0;
    const byClass: Sample['byClass'] = {};
    const tree = this.walk();
    for (const { p, cls } of tree) {
      cpuSec += p.selfCpuSec + p.childCpuSec;
      const r = readRss(p.pid);
      rss += r;
      if (pssNow) pss += readPss(p.pid);
      const c = (byClass[cls] ??= { count: 0, rssBytes: 0, cpuSec: 0 });
      c.count++;
      c.rssBytes += r;
      c.cpuSec += p.selfCpuSec + p.childCpuSec;
    }
    const s: Sample = {
      t: Date.now() - this.t0,
      cpuSec,
      rssBytes: rss,
      procs: tree.length,
      machine: machineTicks(),
      extras: this.opts.extras?.() ?? {},
      byClass,
      ...(pssNow ? { pssBytes: pss } : {}),
    };
    this.n++;
    this.samples.push(s);
    return s;
  }

  /** PSS of the whole tree right now, in bytes. */
  pss(): number {
    return processTree(this.root).reduce((a, p) => a + readPss(p.pid), 0);
  }

  /** Class counts at each census, with its time (ms since start). */
  readonly censusLog: { t: number; counts: Record<string, number> }[] = [];

  /** A cheap look at the tree (no memory reads): only counts processes by class, to catch short-lived helpers. */
  census(): void {
    const counts: Record<string, number> = {};
    for (const { cls } of this.walk()) counts[cls] = (counts[cls] ?? 0) + 1;
    this.censusLog.push({ t: Date.now() - this.t0, counts });
  }

  private walk(): { p: ProcInfo; cls: string }[] {
    const out: { p: ProcInfo; cls: string }[] = [];
    const counts = new Map<string, number>();
    for (const p of processTree(this.root)) {
      const key = `${p.pid}:${p.startTicks}`;
      // Keyed with comm too: a fork shows its parent's cmdline until it execs.
      let cmd = this.cmdlines.get(key + p.comm);
      if (cmd === undefined) {
        cmd = readCmdline(p.pid);
        if (cmd) this.cmdlines.set(key + p.comm, cmd); // empty while exiting (or exec'ing): read again next time
      }
      const cls = this.opts.classify(p, cmd);
      out.push({ p, cls });
      counts.set(cls, (counts.get(cls) ?? 0) + 1);
      if (!this.exampleCmd.has(cls) && cmd) this.exampleCmd.set(cls, cmd.slice(0, 300));
      let set = this.seen.get(cls);
      if (!set) this.seen.set(cls, (set = new Set()));
      set.add(key);
    }
    for (const [cls, c] of counts) this.peakCount.set(cls, Math.max(this.peakCount.get(cls) ?? 0, c));
    return out;
  }

  /** Samples taken between two instants (ms since start), inclusive. */
  between(fromMs: number, toMs: number): Sample[] {
    return this.samples.filter((s) => s.t >= fromMs && s.t <= toMs);
  }

  /** ms since the sampler started. */
  now(): number {
    return Date.now() - this.t0;
  }
}
