// Capture benchmark: N concurrent live recordings on this machine.
//
//   npm run bench:capture -- --n 100 --seconds 60 [--pipeline] [--search] [--step 10] [--json out.json]
//
// One real-time ffmpeg encoder (AAC 64k mono, 2 s MPEG-TS segments, EVENT
// playlist ended by EXT-X-ENDLIST) is served by one HTTP server under N
// distinct URLs, so every recording is an independent HLS pull while the
// source costs one encoder. `replay start` runs as a child process (its own
// data dir and embedded redis-server); N events are created through the API
// and end by themselves at the source's ENDLIST. Meanwhile the CPU time and
// memory of the service's process tree (node + its ffmpeg children + the
// redis-server) are sampled from /proc every second; the encoder, the HTTP
// origin and this process are not part of that tree and are not counted.
// Each event's capturedSec is compared with the source's true duration
// (the encoder's segments concatenated and measured with ffprobe).
//
// A recording is capturing once the origin has served it its first media
// segment (HLS is archived segment by segment, with no process per
// recording to count). It passes when every event is within 0.1 s of the
// source with no gap, every recording was capturing within 30 s of its
// POST, and all N were capturing at once while the source was live.
//
// By default the downstream stages (transcoder, transcriber, publisher, webhooks)
// are held still by pausing their BullMQ queues, so the figures are the cost
// of capture alone (the recorder still enqueues its jobs); --pipeline leaves
// them running, to see the whole service under the same load.
//
// --cpu-prof DIR: also write a V8 CPU profile of the service's node process.
// --search: when N fails, bisect down to the largest N that passes (steps of --step).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { concatDuration } from '../test/helpers/audio.ts';
import { startService, type RunningService } from '../test/helpers/service.ts';
import { startHlsOrigin, type HlsOrigin } from './lib/hls-origin.ts';
import { pauseStages } from './lib/stages.ts';
import { profilerNodeOptions, topSelf } from './lib/cpu-profile.ts';
import { processCpuSec, TreeSampler, type ProcInfo, type Sample } from './lib/proc-sampler.ts';

const TOLERANCE_SEC = 0.1;
/** Each recording must be capturing this soon after its event's POST was sent. */
const MAX_START_SEC = 30;
const MB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '60' },
    search: { type: 'boolean', default: false },
    step: { type: 'string', default: '10' },
    json: { type: 'string' },
    pipeline: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});
const N = Number(args.n);
const SECONDS = Number(args.seconds);
const STEP = Math.max(1, Number(args.step));
if (!Number.isInteger(N) || N < 1 || !(SECONDS >= 4)) {
  console.error('usage: npm run bench:capture -- --n 100 --seconds 60 [--pipeline] [--search] [--step 10] [--json FILE] [--cpu-prof DIR] [--keep-data]');
  process.exit(2);
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- what runs where

/** Names the processes of the service's tree (root: the `replay start` node process). */
function classifier(root: number) {
  return (p: ProcInfo, cmd: string): string => {
    if (p.pid === root) return 'node (replay)';
    if (p.comm === 'redis-server') return 'redis-server';
    if (p.comm === 'ffprobe') return 'ffprobe';
    if (p.comm === 'ffmpeg') {
      if (!cmd) return 'ffmpeg (exited)'; // a zombie has no cmdline
      if (/ -f segment /.test(` ${cmd} `)) return 'ffmpeg segmenter';
      if (/ -(formats|encoders|codecs|filters|decoders)( |$)/.test(` ${cmd} `)) return 'ffmpeg capability probe';
      return 'ffmpeg other';
    }
    if (p.comm === 'node' || p.comm.startsWith('node')) return 'child (before exec)';
    return p.comm;
  };
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1];
  const ffmpeg = (() => {
    try {
      return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' })
        .split('\n')[0]
        .replace(/ Copyright.*/, '');
    } catch {
      return 'ffmpeg ?';
    }
  })();
  return {
    nproc: os.availableParallelism(),
    cpuModel: model + (mhz ? ` (${Math.round(Number(mhz))} MHz)` : ''),
    ramGiB: os.totalmem() / 1024 ** 3,
    kernel: os.release(),
    node: process.version,
    ffmpeg,
  };
}

// ---- one trial

interface EventResult {
  i: number;
  id: string;
  status: string;
  endReason: string | null;
  capturedSec: number;
  timelineSec: number;
  lostSec: number;
  gaps: number;
  chunks: number;
  endLagSec: number | null;
  error?: string;
}

interface TrialResult {
  n: number;
  seconds: number;
  mode: 'capture only' | 'whole pipeline';
  pass: boolean;
  verdict: string;
  expectedSec: number;
  segments: number;
  events: EventResult[];
  createFailures: number;
  createSec: number;
  createMaxMs: number;
  createRetries: number;
  concurrent: boolean;
  peakSegmenters: number;
  createMeanMs: number;
  /** Seconds from each event's POST to its first segment fetched: mean, p95, max. */
  startLag: { mean: number; p95: number; max: number; overLimit: number; never: number };
  windowSec: number;
  steadySec: number;
  cpuSec: number;
  cpuPctPerRec: number;
  steadyCpuPctPerRec: number;
  steadyCpuPctTotal: number;
  machineBusyPct: number;
  othersPct: number;
  encoderPct: number;
  benchPct: number;
  steadyByClass: Record<string, { count: string; cpuPct: number }>;
  exampleCmd: Record<string, string>;
  startupCpuSec: number;
  startupSec: number;
  baselineRssMB: number;
  peakRssMB: number;
  meanRssMB: number;
  peakPssMB: number;
  meanPssMB: number;
  baselinePssMB: number;
  byClassPeak: Record<string, { count: number; rssMB: number }>;
  seenByClass: Record<string, number>;
  encoderCpuSec: number;
  benchCpuSec: number;
  lost: { min: number; max: number; sum: number; overTolerance: number };
  gapsEvents: number;
  notSourceEnded: number;
  endLag: { max: number; mean: number };
  origin: { playlistGetsMin: number; playlistGetsMax: number; segmentGetsMin: number; segmentGetsMax: number; notFound: number };
  serviceWarnings: { count: number; samples: string[] };
  startup: { allSegmentersSec: number | null; segmentersAt: [number, number][]; peakCapabilityProbes: number };
}

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await fn(items[k]);
      }
    }),
  );
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);

/** The sample nearest an instant (ms on the sampler's clock). */
function at(samples: Sample[], t: number): Sample {
  return samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]);
}

let cleanup: (() => Promise<void>) | undefined;

async function trial(n: number, seconds: number): Promise<TrialResult> {
  log(`trial N=${n}, ${seconds} s: starting the service`);
  let svc: RunningService | undefined;
  let origin: HlsOrigin | undefined;
  let sampler: TreeSampler | undefined;
  let census: NodeJS.Timeout | undefined;
  let encoderWatch: NodeJS.Timeout | undefined;
  let stages: Awaited<ReturnType<typeof pauseStages>> | undefined;
  let closing: Promise<void> | undefined;
  // One clean-up, however often it is asked for (end of trial, error, SIGINT).
  const close = () =>
    (closing ??= (async () => {
      clearInterval(census);
      clearInterval(encoderWatch);
      sampler?.stop();
      await stages?.close().catch(() => {});
      await svc?.stop().catch(() => {});
      await origin?.close().catch(() => {});
      if (svc && !args['keep-data']) fs.rmSync(svc.dataDir, { recursive: true, force: true });
    })());
  cleanup = close;
  try {
    // --cpu-prof DIR: V8 CPU profile of the service's node process, written when it stops (skews its CPU figures).
    // N live events at once from one token: lift the per-token cap for the benchmark.
    // Each live pull event is a long-running record job: beyond RECORDER_CONCURRENCY's default, the worker must take N at once.
    const env: Record<string, string> = { REPLAY_MAX_LIVE_EVENTS_PER_TOKEN: String(Math.max(50, n)), ...(n > 2000 ? { RECORDER_CONCURRENCY: String(n) } : {}) };
    if (args['cpu-prof']) env.NODE_OPTIONS = profilerNodeOptions(path.resolve(args['cpu-prof']));
    svc = await startService({ env });
    const s = svc;
    if (!args.pipeline) {
      stages = await pauseStages(s.dataDir);
      log(`downstream stages held still (paused queues: ${stages.paused.join(', ')})`);
    }
    let encoderPid = -1;
    let encoderCpu = 0;
    const extras = () => {
      if (encoderPid > 0) encoderCpu = processCpuSec(encoderPid) ?? encoderCpu;
      const u = process.cpuUsage();
      return { encoderCpuSec: encoderCpu, benchCpuSec: (u.user + u.system) / 1e6 };
    };
    sampler = new TreeSampler(s.proc.pid!, { intervalMs: 1000, pssEvery: 5, classify: classifier(s.proc.pid!), extras }).start();
    // Idle baseline: the service with its redis-server and no recording.
    await sleep(3000);
    const baseline = sampler.samples.slice(-3);
    const baselineRss = mean(baseline.map((x) => x.rssBytes));
    const baselinePss = sampler.pss();

    origin = await startHlsOrigin({ durationSec: seconds, count: n });
    const o = origin;
    encoderPid = o.encoderPid;
    encoderWatch = setInterval(extras, 500); // the encoder's last reading before it exits
    // A fast census while the recordings start (until every one is capturing), to see short-lived helper processes.
    census = setInterval(() => {
      sampler!.census();
      if (o.stats.every((x) => x.firstSegmentAt !== undefined)) clearInterval(census);
    }, 200);

    const bench0 = process.cpuUsage();
    const tCreate0 = sampler.now();
    sampler.sample();
    log(`creating ${n} events`);
    let createFailures = 0;
    let createRetries = 0;
    const createMs: number[] = [];
    const postAt: number[] = new Array(n);
    const created = await pool([...Array(n).keys()], 8, async (i) => {
      const title = `Bench ${i}`;
      const t = Date.now();
      postAt[i] = t;
      for (let attempt = 1; ; attempt++) {
        try {
          const r = await s.api('POST', '/api/events', { title, source: { url: o.url(i) } });
          createMs.push(Date.now() - t);
          if (r.status === 201) return r.body.id as string;
          createFailures++;
          log(`create ${i}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
          return undefined;
        } catch (err) {
          // No answer (e.g. the service closed a keep-alive connection under load): the event may or
          // may not exist. Look for it among the latest events before trying again, never create it twice.
          const why = `${(err as Error).message}${(err as any).cause ? ` (${(err as any).cause.message ?? (err as any).cause})` : ''}`;
          log(`create ${i}: ${why} after ${Date.now() - t} ms (attempt ${attempt})`);
          await sleep(500);
          const list = await s.api('GET', '/api/events').catch(() => undefined);
          const found = list?.body?.events?.find((e: any) => e.title === title);
          if (found) return found.id as string;
          if (!list || attempt >= 3) {
            createFailures++;
            return undefined;
          }
          createRetries++;
        }
      }
    });
    const tCreate1 = sampler.now();
    log(`created ${n - createFailures} events in ${((tCreate1 - tCreate0) / 1000).toFixed(1)} s (POST latency max ${max(createMs)} ms); recording`);

    // No polling while recording: the API's CPU would be counted as the recorder's.
    const encTimeout = sleep((seconds + 60) * 1000).then(() => 'timeout' as const);
    const encExit = await Promise.race([o.finished, encTimeout]);
    if (encExit === 'timeout') throw new Error('the source encoder did not finish in time');
    if (encExit !== 0) throw new Error(`the source encoder exited ${encExit}`);
    const encEndWall = Date.now();
    const tEnc = sampler.now();
    clearInterval(census);
    sampler.sample();
    log('source ended (ENDLIST); waiting for every event to end');

    const ids = created.filter((x): x is string => !!x);
    const live = new Set(ids);
    const deadline = Date.now() + 120_000;
    while (live.size && Date.now() < deadline) {
      await sleep(1000);
      await pool([...live], 4, async (id) => {
        const r = await s.api('GET', `/api/events/${id}`);
        if (r.status === 200 && r.body.status !== 'live') live.delete(id);
      });
    }
    const tEnd = sampler.now();
    sampler.sample();
    const benchCpu = process.cpuUsage(bench0);
    if (live.size) {
      log(`${live.size} event(s) still live 120 s after the source ended; ending them`);
      await pool([...live], 4, (id) => s.api('POST', `/api/events/${id}/end`));
    }

    // Ground truth: the source's whole output, measured packet by packet.
    const files = o.segmentFiles();
    const expectedSec = await concatDuration(files);

    const events: EventResult[] = await pool(
      created.map((id, i) => ({ id, i })),
      4,
      async ({ id, i }) => {
        if (!id)
          return {
            i,
            id: '',
            status: 'not created',
            endReason: null,
            capturedSec: 0,
            timelineSec: 0,
            lostSec: expectedSec,
            gaps: 0,
            chunks: 0,
            endLagSec: null,
          };
        const ev = (await s.api('GET', `/api/events/${id}`)).body;
        return {
          i,
          id,
          status: ev.status,
          endReason: ev.endReason,
          capturedSec: ev.capturedSec,
          timelineSec: ev.timelineSec,
          lostSec: expectedSec - ev.capturedSec,
          gaps: ev.gaps.length,
          chunks: ev.chunks,
          endLagSec: ev.endedAt ? (Date.parse(ev.endedAt) - encEndWall) / 1000 : null,
          ...(ev.error ? { error: ev.error } : {}),
        };
      },
    );

    // ---- figures
    const all = sampler.samples;
    const cl = sampler.censusLog.filter((c) => c.t >= tCreate0);
    // Start-up: a recording is capturing once the origin served it its first segment (wall clock → the sampler's clock).
    const toSampler = (wall: number) => wall - (Date.now() - sampler!.now());
    const firstSeg = o.stats.map((x) => x.firstSegmentAt);
    const lags = firstSeg.map((t, i) => (t === undefined || postAt[i] === undefined ? Infinity : (t - postAt[i]) / 1000));
    const finiteLags = lags.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    const startLag = {
      mean: mean(finiteLags),
      p95: finiteLags[Math.min(finiteLags.length - 1, Math.floor(finiteLags.length * 0.95))] ?? 0,
      max: max(finiteLags),
      overLimit: lags.filter((x) => x > MAX_START_SEC).length,
      never: lags.filter((x) => !Number.isFinite(x)).length,
    };
    const allUp = firstSeg.every((x) => x !== undefined) ? { t: toSampler(Math.max(...firstSeg)) } : undefined;
    // Only a run where all N recordings were capturing at the same time, while the source was live, measures N concurrent recordings.
    const concurrent = !!allUp && allUp.t < tEnc && startLag.overLimit === 0;
    const peakSegmenters = n - startLag.never;
    const segAt = (sec: number) => firstSeg.filter((t) => t !== undefined && toSampler(t) <= tCreate0 + sec * 1000).length;
    // CPU and machine load between the samples nearest two instants, over the time between those samples.
    const span = (t0: number, t1: number) => {
      const a = at(all, t0);
      const b = at(all, t1);
      const sec = (b.t - a.t) / 1000;
      const busyPct = ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100;
      // Per class, as the difference of the live processes' cumulative CPU (exact when the set did not change).
      const byClass: Record<string, { count: string; cpuPct: number }> = {};
      for (const [cls, c] of Object.entries(b.byClass)) {
        const before = a.byClass[cls] ?? { count: 0, cpuSec: 0 };
        byClass[cls] = { count: before.count === c.count ? String(c.count) : `${before.count}→${c.count}`, cpuPct: ((c.cpuSec - before.cpuSec) / sec) * 100 };
      }
      if (process.env.BENCH_DEBUG) log(`span ${a.t}..${b.t}: ${JSON.stringify(a.byClass)} -> ${JSON.stringify(b.byClass)}`);
      const d = (k: string) => (b.extras[k] ?? 0) - (a.extras[k] ?? 0);
      // Everything else the machine ran meanwhile (other jobs on the host), in % of one core.
      const othersPct = (busyPct / 100) * os.availableParallelism() * 100 - ((b.cpuSec - a.cpuSec + d('encoderCpuSec') + d('benchCpuSec')) / sec) * 100;
      return {
        sec,
        cpu: b.cpuSec - a.cpuSec,
        busyPct,
        byClass,
        othersPct,
        encoderPct: (d('encoderCpuSec') / sec) * 100,
        benchPct: (d('benchCpuSec') / sec) * 100,
      };
    };
    const startup = span(tCreate0, tCreate1 + 10_000);
    const whole = span(tCreate0, tEnd);
    const windowSec = whole.sec;
    const cpuSec = whole.cpu;
    // Steady state: every recording running, from 2 s after the last segmenter started (or 10 s after the
    // last create) to 3 s before the source's end (recordings that read the ENDLIST close their segmenter).
    const steadyTo = tEnc - 3000;
    const steadyFrom = Math.min(allUp ? Math.max(allUp.t + 2000, tCreate1 + 5000) : tCreate1 + 10_000, steadyTo - 5000);
    const steadySpan = span(steadyFrom, steadyTo);
    const steadySec = steadySpan.sec;
    const steadyCpu = steadySpan.cpu;
    const inWindow = sampler.between(tCreate0, tEnd);
    const steady = sampler.between(steadyFrom, steadyTo);
    const pssWindow = inWindow.filter((x) => x.pssBytes !== undefined).map((x) => x.pssBytes!);
    const pssSteady = steady.filter((x) => x.pssBytes !== undefined).map((x) => x.pssBytes!);
    const peakSample = inWindow.reduce((a, b) => (b.rssBytes > a.rssBytes ? b : a), inWindow[0]);
    const byClassPeak: TrialResult['byClassPeak'] = {};
    for (const [cls, c] of Object.entries(peakSample.byClass)) byClassPeak[cls] = { count: c.count, rssMB: c.rssBytes / MB };
    const seenByClass: Record<string, number> = {};
    for (const [cls, set] of sampler.seen) if (cls !== 'child (before exec)') seenByClass[cls] = set.size;

    const lostAll = events.map((e) => e.lostSec);
    const over = events.filter((e) => e.status !== 'ended' || e.gaps > 0 || Math.abs(e.lostSec) > TOLERANCE_SEC);
    const endLags = events.map((e) => e.endLagSec).filter((x): x is number => x !== null);
    const out = s.output();
    const warnLines = out.split('\n').filter((l) => / (WARN|ERROR) /.test(l));
    const distinct = [
      ...new Set(
        warnLines.map((l) =>
          l
            .replace(/^\S+ /, '')
            .replace(/ev_[0-9a-f]{16}/g, 'ev_…')
            .replace(/\d+(\.\d+)?/g, '#')
            .slice(0, 200),
        ),
      ),
    ];
    const st = o.stats;
    const pass = createFailures === 0 && over.length === 0 && events.length === n && concurrent;
    const result: TrialResult = {
      n,
      seconds,
      mode: args.pipeline ? 'whole pipeline' : 'capture only',
      pass,
      verdict:
        `${pass ? 'PASS' : 'FAIL'}: ${n} concurrent recordings of ${seconds} s, zero lost seconds (|expected − captured| ≤ ${TOLERANCE_SEC} s, no gap, every event ended by the source) — ` +
        `${n - over.length}/${n} events within tolerance; ` +
        `each capturing ${f1(startLag.mean)} s after its POST on average, at most ${f1(startLag.max)} s` +
        (startLag.overLimit ? ` (${startLag.overLimit} later than ${MAX_START_SEC} s)` : '') +
        '; ' +
        (concurrent || (allUp && allUp.t < tEnc)
          ? `all ${n} capturing at once from ${f1((allUp.t - tCreate0) / 1000)} s`
          : allUp
            ? `never all ${n} capturing at once while the source was live (the last started ${f1((allUp.t - tEnc) / 1000)} s after it ended)`
            : `never all ${n} capturing (${startLag.never} never fetched a segment)`),
      expectedSec,
      segments: files.length,
      events,
      createFailures,
      createSec: (tCreate1 - tCreate0) / 1000,
      createMaxMs: max(createMs),
      createRetries,
      concurrent,
      peakSegmenters,
      createMeanMs: mean(createMs),
      startLag,
      windowSec,
      steadySec,
      cpuSec,
      cpuPctPerRec: (cpuSec / windowSec / n) * 100,
      steadyCpuPctPerRec: (steadyCpu / steadySec / n) * 100,
      steadyCpuPctTotal: (steadyCpu / steadySec) * 100,
      machineBusyPct: steadySpan.busyPct,
      othersPct: steadySpan.othersPct,
      encoderPct: steadySpan.encoderPct,
      benchPct: steadySpan.benchPct,
      steadyByClass: steadySpan.byClass,
      exampleCmd: Object.fromEntries(
        [...sampler.exampleCmd].filter(([c]) => !['node (replay)', 'redis-server', 'ffmpeg segmenter', 'child (before exec)'].includes(c)),
      ),
      startupCpuSec: startup.cpu,
      startupSec: startup.sec,
      baselineRssMB: baselineRss / MB,
      peakRssMB: peakSample.rssBytes / MB,
      meanRssMB: mean(steady.map((x) => x.rssBytes)) / MB,
      peakPssMB: max(pssWindow) / MB,
      meanPssMB: mean(pssSteady) / MB,
      baselinePssMB: baselinePss / MB,
      byClassPeak,
      seenByClass,
      encoderCpuSec: encoderCpu,
      benchCpuSec: (benchCpu.user + benchCpu.system) / 1e6,
      lost: { min: Math.min(...lostAll), max: Math.max(...lostAll), sum: lostAll.reduce((a, b) => a + b, 0), overTolerance: over.length },
      gapsEvents: events.filter((e) => e.gaps > 0).length,
      notSourceEnded: events.filter((e) => e.endReason !== 'source ended').length,
      endLag: { max: max(endLags), mean: mean(endLags) },
      origin: {
        playlistGetsMin: Math.min(...st.map((x) => x.playlistGets)),
        playlistGetsMax: Math.max(...st.map((x) => x.playlistGets)),
        segmentGetsMin: Math.min(...st.map((x) => x.segmentGets)),
        segmentGetsMax: Math.max(...st.map((x) => x.segmentGets)),
        notFound: st.reduce((a, x) => a + x.notFound, 0),
      },
      serviceWarnings: { count: warnLines.length, samples: distinct.slice(0, 8) },
      startup: {
        allSegmentersSec: allUp ? (allUp.t - tCreate0) / 1000 : null,
        segmentersAt: [1, 2, 3, 5, 8, 12, 20, 30].map((sec) => [sec, segAt(sec)] as [number, number]),
        peakCapabilityProbes: max(cl.map((c) => c.counts['ffmpeg capability probe'] ?? 0)),
      },
    };
    log(result.verdict);
    for (const e of over.slice(0, 10))
      log(
        `  event ${e.i} ${e.id}: ${e.status} (${e.endReason}) captured ${e.capturedSec} s of ${expectedSec.toFixed(3)} s, ${e.gaps} gap(s)${e.error ? `, ${e.error}` : ''}`,
      );
    return result;
  } finally {
    await close();
    cleanup = undefined;
  }
}

// ---- report

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => (Math.abs(x) < 0.0005 ? 0 : x).toFixed(3);

function report(m: ReturnType<typeof machine>, results: TrialResult[]): string {
  const cols = results.map((r) => `N = ${r.n}`);
  const row = (label: string, f: (r: TrialResult) => string) => `| ${label} | ${results.map(f).join(' | ')} |`;
  const lines = [
    `### Capture benchmark: concurrent live HLS recordings`,
    ``,
    `Machine: ${m.nproc} cores, ${m.cpuModel}, ${f1(m.ramGiB)} GiB RAM; Linux ${m.kernel}; Node ${m.node}; ${m.ffmpeg}.`,
    `Source: one real-time ffmpeg encoder (AAC 64 kb/s mono, 2 s MPEG-TS segments, EVENT playlist + ENDLIST), served by one HTTP server under N URLs (one independent HLS pull per recording). ` +
      `Measured: the \`replay start\` process tree (node + its ffmpeg children + embedded redis-server) from /proc every second; the encoder, the origin and the benchmark are not counted.`,
    ``,
    `| | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    row('Result', (r) => `**${r.pass ? 'PASS' : 'FAIL'}**`),
    row('Stages running', (r) => (r.mode === 'capture only' ? 'capture (downstream queues paused)' : 'whole pipeline')),
    row('Source duration (ffprobe, s)', (r) => f3(r.expectedSec)),
    row('Wall time, first create → last end (s)', (r) => f1(r.windowSec)),
    row('Steady-state window (s)', (r) => f1(r.steadySec)),
    row('CPU, whole run (CPU-s)', (r) => f1(r.cpuSec)),
    row('CPU per recording, whole run (% of one core)', (r) => f2(r.cpuPctPerRec)),
    row('CPU per recording, steady state (% of one core)', (r) => f2(r.steadyCpuPctPerRec)),
    row('Service CPU, steady state (% of one core)', (r) => f1(r.steadyCpuPctTotal)),
    row('CPU, startup burst: first create → 10 s after the last (CPU-s)', (r) => `${f1(r.startupCpuSec)} in ${f1(r.startupSec)} s`),
    row('Creating N events: total s, POST latency mean / max (ms)', (r) => `${f1(r.createSec)} s, ${Math.round(r.createMeanMs)} / ${r.createMaxMs}`),
    row('API errors while creating (retried after checking)', (r) => `${r.createRetries}${r.createFailures ? `, ${r.createFailures} not created` : ''}`),
    row('Time until all N recordings capture (s after first create)', (r) =>
      r.startup.allSegmentersSec === null ? `never (${r.peakSegmenters} did)` : f1(r.startup.allSegmentersSec),
    ),
    row(
      `Capture start after the event's POST, mean / p95 / max (s; limit ${MAX_START_SEC})`,
      (r) => `${f1(r.startLag.mean)} / ${f1(r.startLag.p95)} / ${f1(r.startLag.max)}`,
    ),
    row(`Machine busy, all ${m.nproc} cores, steady state (%)`, (r) => f1(r.machineBusyPct)),
    row('…of which not this benchmark (other jobs, % of one core)', (r) => f1(Math.max(0, r.othersPct))),
    row('RSS total, idle service (MB)', (r) => f1(r.baselineRssMB)),
    row('RSS total, peak / mean (MB)', (r) => `${f1(r.peakRssMB)} / ${f1(r.meanRssMB)}`),
    row('RSS per recording, peak / mean (MB)', (r) => `${f2(r.peakRssMB / r.n)} / ${f2(r.meanRssMB / r.n)}`),
    row('PSS total, peak / mean (MB)', (r) => `${f1(r.peakPssMB)} / ${f1(r.meanPssMB)}`),
    row('PSS per recording above idle, peak (MB)', (r) => f2((r.peakPssMB - r.baselinePssMB) / r.n)),
    row('Lost s per event, min / max', (r) => `${f3(r.lost.min)} / ${f3(r.lost.max)}`),
    row('Lost s, sum over events', (r) => f3(r.lost.sum)),
    row(`Events beyond ±${TOLERANCE_SEC} s`, (r) => String(r.lost.overTolerance)),
    row('Events with gaps', (r) => String(r.gapsEvents)),
    row('Events not ended by the source', (r) => String(r.notSourceEnded)),
    row('End lag after ENDLIST, mean / max (s)', (r) => `${f1(r.endLag.mean)} / ${f1(r.endLag.max)}`),
  ];
  lines.push('', '```');
  for (const r of results) lines.push(r.verdict);
  lines.push('```', '', '<details><summary>Details</summary>', '');
  for (const r of results) {
    lines.push(`N = ${r.n}:`);
    lines.push(
      `- ${r.n - r.createFailures} events created in ${f1(r.createSec)} s; source ${r.segments} segments; origin served ${r.origin.playlistGetsMin}–${r.origin.playlistGetsMax} playlist and ${r.origin.segmentGetsMin}–${r.origin.segmentGetsMax} segment GETs per URL (${r.origin.notFound} 404s)`,
    );
    lines.push(
      `- steady-state CPU by process (% of one core): ${Object.entries(r.steadyByClass)
        .map(([c, v]) => `${v.count} × ${c} ${f1(v.cpuPct)}`)
        .join(', ')}; source encoder ${f1(r.encoderPct)}, benchmark + origin ${f1(r.benchPct)}`,
    );
    lines.push(
      `- at peak RSS: ${Object.entries(r.byClassPeak)
        .map(([c, v]) => `${v.count} × ${c} ${f1(v.rssMB)} MB`)
        .join(', ')}`,
    );
    lines.push(
      `- recordings capturing t s after the first create: ${r.startup.segmentersAt.map(([t, k]) => `${t} s: ${k}`).join(', ')}; at most ${r.startup.peakCapabilityProbes} fluent-ffmpeg capability probes (\`ffmpeg -formats\` / \`-encoders\`) at once`,
    );
    lines.push(
      `- distinct processes seen in the tree: ${Object.entries(r.seenByClass)
        .map(([c, k]) => `${c} ${k}`)
        .join(', ')}`,
    );
    for (const [c, cmd] of Object.entries(r.exampleCmd)) lines.push(`- e.g. ${c}: \`${cmd}\``);
    lines.push(`- not measured: source encoder ${f1(r.encoderCpuSec)} CPU-s, benchmark + origin ${f1(r.benchCpuSec)} CPU-s`);
    lines.push(
      `- service warnings/errors: ${r.serviceWarnings.count}${r.serviceWarnings.samples.length ? ` (e.g. ${r.serviceWarnings.samples.map((x) => '`' + x + '`').join('; ')})` : ''}`,
    );
  }
  lines.push('', '</details>');
  return lines.join('\n');
}

// ---- main

async function main() {
  const m = machine();
  log(`machine: ${m.nproc} cores, ${m.cpuModel}, ${f1(m.ramGiB)} GiB`);
  const results: TrialResult[] = [];
  const first = await trial(N, SECONDS);
  results.push(first);
  if (args.search && !first.pass) {
    // Largest passing N in steps of STEP: lo passes (or is 0), hi fails.
    let lo = 0;
    let hi = N;
    while (hi - lo > STEP) {
      const mid = Math.max(STEP, Math.round((lo + hi) / 2 / STEP) * STEP);
      if (mid <= lo || mid >= hi) break;
      const r = await trial(mid, SECONDS);
      results.push(r);
      if (r.pass) lo = mid;
      else hi = mid;
    }
    log(lo ? `largest passing N (step ${STEP}): ${lo}` : 'no N passed');
  }
  results.sort((a, b) => b.n - a.n);
  const md = report(m, results);
  process.stdout.write(md + '\n');
  if (args['cpu-prof']) {
    const dir = path.resolve(args['cpu-prof']);
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
      process.stdout.write(`\nCPU profile ${path.join(dir, f)}: self time, top functions\n`);
      for (const [label, pct] of topSelf(path.join(dir, f), 25)) process.stdout.write(`  ${pct.toFixed(1).padStart(5)} %  ${label}\n`);
    }
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ machine: m, results }, null, 2));
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: cleaning up`);
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (err) => {
    await cleanup?.().catch(() => {});
    if (interrupted) return; // the signal handler exits once the clean-up is done
    log(`error: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
