// Publish-latency benchmark: does the time from "end" to a published replay
// grow with the event's length? It should not: everything heavy happens while
// the event is live, so what is left at the end should cost seconds whether
// the event lasted ten minutes or two hours.
//
//   npm run bench:publish -- --minutes 10,120,600 [--speed 20] [--poll-ms 100] [--model-shape tiny.en|base.en|test] [--chunk-sec N] [--json FILE] [--keep-data]
//                          [--cpu-prof DIR]  (the service's main thread sampled every 2 ms, written to DIR when it stops: where the end's time goes)
//
// --chunk-sec sets the service's REPLAY_CHUNK_SEC (default: the service's, 2 s).
// Longer chunks cost the live listening latency, not the end (whose last chunk
// is then up to that long), and make the transcoder about twice as fast per
// audio second: what lets a 600-minute event be fed in under two hours here.
//
// One `replay start` child (fs storage, embedded redis-server, its own data
// dir; WHISPER_MODEL = a random-weight model of tiny.en's shape (--model-shape)
// made to say one word, so the transcript path really runs and each window
// costs what a tiny.en encode costs: a random model left to decode freely
// falls back through every temperature, 1 to 10 s a window that no trained
// model spends on speech), a webhook receiver on loopback, and for each length, one
// after the other:
//   1. a push event; ffmpeg (no -re) generates tones under a tremolo as AAC
//      64k mono ADTS, the body of PUT ingest.url, FASTER than real time: at
//      most --speed x, and held back while the service's pipeline is far
//      behind (so the backlog at the end stays small: the reconnect window
//      runs from the push's end and would end the event by itself);
//   2. after the push ends, wait until the pipeline has caught up (capturedSec
//      stable and equal to the fed duration, transcodedSec >= captured - 7,
//      transcribedSec >= captured - 35, both unchanged for 3 s: drained, as a
//      real-time event's pipeline is at its end), then POST /api/events/:id/end;
//   3. from that moment (client clock), poll until: status published, the
//      page renders as a replay, audio.m4a answers 200 (HEAD), /feed.xml lists
//      the event, the receiver has event.published; and the transcript is complete.
import { execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { probeAudio } from '../shared/ffmpeg.ts';
import { openSqlite } from '../shared/db/sqlite.ts';
import { keys } from '../shared/layout.ts';
import { makeTinyModel, SHAPES, type ShapeName } from '../test/fixtures/tiny-model.ts';
import { audioPlaysAndSeeks, launchChromium, type PlaybackCheck } from '../test/helpers/browser.ts';
import { ROOT, startService, type RunningService } from '../test/helpers/service.ts';
import { AdtsPacer, startToneEncoder } from './lib/publish-feed.ts';
import { machineTicks, processTree, readStat } from './lib/proc-sampler.ts';

const TARGET_MS = 2_000;
const CAPTURE_TOLERANCE_SEC = 0.1;
const TRANSCODE_LAG_SEC = 7;
const TRANSCRIBE_LAG_SEC = 35;
const RECONNECT_WINDOW_SEC = 30;
/**
 * The pipeline has drained what it can while live once transcodedSec and
 * transcribedSec stop moving for this long: what is left is what a real-time
 * event leaves at its end (the held last chunk, the last segment and window),
 * not the backlog of a feed faster than real time.
 */
const DRAINED_MS = 3000;
/** After the push ends the reconnect window runs: signal the end by then even if the pipeline is still behind. */
const CATCH_UP_DEADLINE_SEC = RECONNECT_WINDOW_SEC - 5;
/** While feeding, hold the source when the pipeline is this far behind what was captured. */
const HOLD_TRANSCODE_LAG_SEC = 24;
const HOLD_TRANSCRIBE_LAG_SEC = 75;
/**
 * Before the last TAIL_SEC of audio goes out, the feed waits until the pipeline
 * is level with the capture (lags below these), so what is left to do after the
 * push ends (inside the reconnect window) is the tail only.
 */
const TAIL_SEC = 20;
const TAIL_TRANSCODE_LAG_SEC = 12;
const TAIL_TRANSCRIBE_LAG_SEC = 50;
const TAIL_HOLD_MAX_SEC = 240;
/** How long after the end each check may take before it counts as never. */
const AFTER_END_TIMEOUT_MS = 180_000;

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10,120' },
    speed: { type: 'string', default: '20' },
    json: { type: 'string' },
    'poll-ms': { type: 'string', default: '100' },
    'keep-data': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'model-shape': { type: 'string', default: 'tiny.en' },
    'chunk-sec': { type: 'string' },
  },
  allowPositionals: false,
});
const POLL_MS = Math.max(10, Number(args['poll-ms']) || 100);
const MINUTES = String(args.minutes).split(',').map(Number);
const SPEED = Number(args.speed);
const MODEL_SHAPE = String(args['model-shape']);
const CHUNK_SEC = args['chunk-sec'] === undefined ? undefined : Number(args['chunk-sec']);
if (CHUNK_SEC !== undefined && !(CHUNK_SEC >= 1 && CHUNK_SEC <= 30)) {
  console.error('--chunk-sec: seconds of source per archived chunk, 1 to 30');
  process.exit(2);
}
if (!(MODEL_SHAPE in SHAPES)) {
  console.error(`--model-shape: one of ${Object.keys(SHAPES).join(', ')}`);
  process.exit(2);
}
if (!MINUTES.length || MINUTES.some((m) => !(m > 0)) || !(SPEED > 0)) {
  console.error('usage: npm run bench:publish -- --minutes 10,120 [--speed 20] [--poll-ms 100] [--json FILE] [--keep-data] [--cpu-prof DIR]');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - t0) / 1000)}s] ${msg}\n`);
const sec = (ms: number | null | undefined, digits = 2) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(digits)} s`);

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const version = (cmd: string) => {
    try {
      return execFileSync(cmd, ['-version'], { encoding: 'utf8' })
        .split('\n')[0]
        .replace(/ Copyright.*/, '');
    } catch {
      return `${cmd} ?`;
    }
  };
  return {
    nproc: os.availableParallelism(),
    cpuModel: model,
    ramGiB: os.totalmem() / 1024 ** 3,
    kernel: os.release(),
    node: process.version,
    ffmpeg: version('ffmpeg'),
  };
}

/** The commit the service runs from, and whether its source files differ from it (other work in the tree). */
function codeState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'cli', 'recorder', 'transcoder', 'transcriber', 'publisher', 'shared', 'bin'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return `${head}${dirty.length ? ` + uncommitted changes in ${dirty.join(', ')}` : ''}`;
  } catch {
    return 'unknown';
  }
}

// ---- CPU: the whole machine vs the service's process tree (others share this machine)

interface CpuSnap {
  wall: number;
  busy: number;
  total: number;
  svcSec: number;
}
let serviceRoot = 0;
function cpuSnap(): CpuSnap {
  const t = machineTicks();
  const svcSec = serviceRoot ? processTree(serviceRoot).reduce((a, p) => a + p.selfCpuSec + p.childCpuSec, 0) : 0;
  return { wall: performance.now(), busy: t.busy, total: t.total, svcSec };
}
/** Cores in use over an interval: the machine's, the service tree's, and everything else's. */
function cores(a: CpuSnap, b: CpuSnap) {
  const n = os.availableParallelism();
  const machine = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * n : 0;
  const service = (b.svcSec - a.svcSec) / ((b.wall - a.wall) / 1000);
  return { machine, service, other: Math.max(0, machine - service) };
}
const fmtCores = (c: ReturnType<typeof cores>) =>
  `machine ${c.machine.toFixed(2)}, service ${c.service.toFixed(2)}, rest ${c.other.toFixed(2)} of ${os.availableParallelism()} cores`;

// ---- webhook receiver

interface Hook {
  at: number;
  type: string;
  id?: string;
  data: any;
}
const hooks: Hook[] = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const at = performance.now();
    try {
      const j = JSON.parse(body);
      hooks.push({ at, type: j.type, id: j.data?.id, data: j.data });
    } catch {
      hooks.push({ at, type: '(unparseable)', data: body });
    }
    res.end('ok');
  });
});

// ---- one event

interface EventResult {
  minutes: number;
  id: string;
  fedSec: number;
  fedBytes: number;
  speed: number;
  feedWallSec: number;
  heldSec: number;
  cpuFeed: ReturnType<typeof cores>;
  cpuAfterEnd: ReturnType<typeof cores>;
  maxLagDuringFeed: { transcodeSec: number; transcribeSec: number };
  catchUpMs: number | null;
  atEnd?: { capturedSec: number; transcodedSec: number; transcribedSec: number; status: string };
  endRequestMs: number | null;
  publishedMs: number | null;
  publishLatencyMs: number | null;
  pageMs: number | null;
  /** End → audio.m4a answers 200 (HEAD) with its length. */
  audioMs: number | null;
  /** The whole file fetched after the timed window (loopback; not part of the latency). */
  audioDownloadMs: number | null;
  audioBytes: number | null;
  feedMs: number | null;
  webhookMs: number | null;
  transcriptAtPublication: string | null;
  transcriptMs: number | null;
  transcriptFinal: string | null;
  updatedWebhookMs: number | null;
  capturedSec: number | null;
  m4aSec: number | null;
  manifestAudioMatches: boolean | null;
  manifestDurationSec: number | null;
  playback: PlaybackCheck | null;
  status: string;
  endReason: string | null;
  endedAt: string | null;
  problems: string[];
}

/** Polls `probe` every POLL_MS until it returns a value; the time is taken when the value is in hand. */
async function until<T>(from: number, probe: () => Promise<T | undefined>, deadline: number): Promise<{ ms: number; value: T } | null> {
  while (performance.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return { ms: performance.now() - from, value: v };
    } catch (e) {
      if ((e as any)?.fatal) return null; // e.g. the event failed: it will not get there
    }
    await sleep(POLL_MS);
  }
  return null;
}

async function runEvent(svc: RunningService, minutes: number, tmp: string): Promise<EventResult> {
  const durationSec = Math.round(minutes * 60);
  const problems: string[] = [];
  const created = await svc.api('POST', '/api/events', {
    title: `bench:publish ${minutes} min`,
    source: { type: 'push' },
    reconnectWindowSec: RECONNECT_WINDOW_SEC,
  });
  if (created.status !== 201) throw new Error(`POST /api/events: ${created.status} ${JSON.stringify(created.body)}`);
  const ev = created.body;
  const id: string = ev.id;
  const get = async () => (await svc.api('GET', `/api/events/${id}`)).body;
  log(`${minutes} min: event ${id}; pushing ${durationSec} s of audio at up to ${SPEED}x real time`);

  // ---- feed (faster than real time)
  const cpu0 = cpuSnap();
  const enc = startToneEncoder(durationSec);
  encoder = enc;
  let encErr = '';
  enc.stderr!.on('data', (d) => (encErr += d));
  const pacer = new AdtsPacer(SPEED);
  enc.stdout!.pipe(pacer);
  const pushed = fetch(ev.ingest.url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ev.ingest.key}` },
    body: pacer as any,
    duplex: 'half',
  } as RequestInit);
  const lag = { transcodeSec: 0, transcribeSec: 0 };
  let feeding = true;
  let tailHeldSince = 0;
  let tailReleased = false;
  const progress = (async () => {
    let last = 0;
    while (feeding) {
      await sleep(500);
      const cur = await get().catch(() => undefined);
      if (!cur || !feeding) continue;
      // While live the last partial segment / window waits for more audio: lag is measured against what was captured.
      const tc = cur.capturedSec - (cur.transcodedSec ?? 0);
      const tr = cur.capturedSec - (cur.transcribedSec ?? 0);
      lag.transcodeSec = Math.max(lag.transcodeSec, tc);
      lag.transcribeSec = Math.max(lag.transcribeSec, tr);
      // Faster than real time, but no faster than the pipeline keeps up: hold the feed while it is far behind,
      // and before the tail until it is level.
      if (!tailReleased && durationSec - pacer.audioSec <= TAIL_SEC) {
        tailHeldSince ||= Date.now();
        const level = tc <= TAIL_TRANSCODE_LAG_SEC && tr <= TAIL_TRANSCRIBE_LAG_SEC;
        if (level || Date.now() - tailHeldSince > TAIL_HOLD_MAX_SEC * 1000) {
          tailReleased = true;
          log(
            `${minutes} min: ${level ? 'pipeline level with the capture' : `tail hold gave up after ${TAIL_HOLD_MAX_SEC} s`} (transcode lag ${tc.toFixed(1)} s, transcribe lag ${tr.toFixed(1)} s): sending the last ${(durationSec - pacer.audioSec).toFixed(1)} s`,
          );
        }
        pacer.hold = !tailReleased;
      } else pacer.hold = !tailReleased && (tc > HOLD_TRANSCODE_LAG_SEC || tr > HOLD_TRANSCRIBE_LAG_SEC);
      if (Date.now() - last >= 15_000) {
        last = Date.now();
        log(
          `${minutes} min: fed ${pacer.audioSec.toFixed(0)}/${durationSec} s (${pacer.achievedSpeed.toFixed(1)}x, held ${(pacer.heldMs / 1000).toFixed(0)} s) | captured ${cur.capturedSec.toFixed(1)} | transcoded ${(cur.transcodedSec ?? 0).toFixed(1)} | transcribed ${(cur.transcribedSec ?? 0).toFixed(1)} | ${cur.status}`,
        );
      }
    }
  })();
  const encExit = new Promise<number | null>((r) => enc.once('exit', (code) => r(code)));
  const res = await pushed;
  const pushBody = await res.text();
  const pushEnd = performance.now();
  feeding = false;
  await progress;
  const encCode = await encExit;
  if (!res.ok) throw new Error(`push failed: HTTP ${res.status} ${pushBody}`);
  if (encCode !== 0) throw new Error(`encoder exited ${encCode}: ${encErr}`);
  const cpuFeed = cores(cpu0, cpuSnap());
  const fedSec = pacer.audioSec;
  const speed = pacer.achievedSpeed;
  const feedWallSec = (pacer.finishedAt - pacer.startedAt) / 1000;
  const heldSec = pacer.heldMs / 1000;
  log(
    `${minutes} min: pushed ${fedSec.toFixed(3)} s (${pacer.frames} ADTS frames, ${(pacer.bytes / 1e6).toFixed(1)} MB) in ${feedWallSec.toFixed(1)} s = ${speed.toFixed(1)}x real time (held ${heldSec.toFixed(0)} s for the pipeline); max lag while fed: transcode ${lag.transcodeSec.toFixed(1)} s, transcribe ${lag.transcribeSec.toFixed(1)} s`,
  );

  // ---- wait for the pipeline to catch up. The push has ended, so the reconnect
  // window is running: past CATCH_UP_DEADLINE_SEC the end is signalled anyway (and the shortfall reported).
  let stableSince = 0;
  let lastCaptured = -1;
  let drainedSince = 0;
  let lastProgress = '';
  let catchUpMs: number | null = null;
  let atEnd: EventResult['atEnd'];
  let lastLogged = 0;
  for (;;) {
    const cur = await get();
    const now = performance.now();
    atEnd = { capturedSec: cur.capturedSec, transcodedSec: cur.transcodedSec, transcribedSec: cur.transcribedSec, status: cur.status };
    if (cur.status !== 'live') {
      problems.push(`event left 'live' on its own before the end was signalled (status ${cur.status}, endReason ${cur.endReason})`);
      break;
    }
    if (cur.capturedSec !== lastCaptured) {
      lastCaptured = cur.capturedSec;
      stableSince = now;
    }
    const progress = `${cur.transcodedSec}/${cur.transcribedSec}`;
    if (progress !== lastProgress) {
      lastProgress = progress;
      drainedSince = now;
    }
    const captured = cur.capturedSec;
    const ok =
      now - stableSince >= 1000 &&
      now - drainedSince >= DRAINED_MS &&
      Math.abs(captured - fedSec) <= CAPTURE_TOLERANCE_SEC &&
      (cur.transcodedSec ?? 0) >= captured - TRANSCODE_LAG_SEC &&
      (cur.transcribedSec ?? 0) >= captured - TRANSCRIBE_LAG_SEC;
    if (ok) {
      catchUpMs = now - pushEnd;
      break;
    }
    if (now - pushEnd > CATCH_UP_DEADLINE_SEC * 1000) {
      problems.push(
        `pipeline not caught up ${CATCH_UP_DEADLINE_SEC} s after the push ended (captured ${captured} of ${fedSec.toFixed(3)} s fed, transcoded ${cur.transcodedSec}, transcribed ${cur.transcribedSec}); end signalled anyway before the ${RECONNECT_WINDOW_SEC} s reconnect window ends the event`,
      );
      break;
    }
    if (now - lastLogged > 5000) {
      lastLogged = now;
      log(
        `${minutes} min: catching up: captured ${captured.toFixed(3)} (fed ${fedSec.toFixed(3)}) | transcoded ${(cur.transcodedSec ?? 0).toFixed(1)} | transcribed ${(cur.transcribedSec ?? 0).toFixed(1)}`,
      );
    }
    await sleep(250);
  }
  if (catchUpMs !== null)
    log(
      `${minutes} min: caught up ${sec(catchUpMs, 1)} after the push ended: captured ${atEnd.capturedSec} s, transcoded ${atEnd.transcodedSec} s, transcribed ${atEnd.transcribedSec} s`,
    );

  // ---- the end, and everything that should follow it
  const audioUrl = `${svc.url}/files/${keys.audio(id)}`; // checked against urls.audio below
  const pageUrl: string = ev.urls.page;
  const cpuEnd0 = cpuSnap();
  const endAt = performance.now();
  const deadline = endAt + AFTER_END_TIMEOUT_MS;
  const endReq = (async () => {
    const r = await svc.api('POST', `/api/events/${id}/end`);
    if (r.status !== 202) problems.push(`POST /end answered ${r.status}: ${JSON.stringify(r.body)}`);
    return performance.now() - endAt;
  })();
  const [endRequestMs, published, page, audio, feed, webhook] = await Promise.all([
    endReq,
    until(
      endAt,
      async () => {
        const cur = await get();
        if (cur.status === 'failed') throw Object.assign(new Error('failed'), { fatal: cur });
        return cur.status === 'published' ? cur : undefined;
      },
      deadline,
    ),
    // The page answers 200 while live too; published means the replay rendering (cacheable, not `no-cache`).
    until(
      endAt,
      async () => {
        const r = await fetch(pageUrl);
        const html = await r.text();
        return r.status === 200 && r.headers.get('cache-control') !== 'no-cache' && html.includes(audioUrl) ? html.length : undefined;
      },
      deadline,
    ),
    // Available = answers 200 with its length (HEAD). Downloading it whole here, while the end runs, would time
    // this machine's loopback bandwidth (290 MB at 10 hours) and load its 2 cores with the bench's own reading:
    // the whole file is fetched and checked after the timed window instead.
    until(
      endAt,
      async () => {
        const r = await fetch(audioUrl, { method: 'HEAD' });
        const len = Number(r.headers.get('content-length'));
        return r.status === 200 && len > 0 ? len : undefined;
      },
      deadline,
    ),
    until(
      endAt,
      async () => {
        const r = await fetch(`${svc.url}/feed.xml`);
        const xml = await r.text();
        return r.status === 200 && xml.includes(`>${id}</guid>`) ? true : undefined;
      },
      deadline,
    ),
    until(
      endAt,
      () => {
        const h = hooks.find((x) => x.type === 'event.published' && x.id === id);
        return Promise.resolve(h ? h : undefined);
      },
      deadline,
    ),
  ]);
  const cpuAfterEnd = cores(cpuEnd0, cpuSnap());
  const pub = published?.value;
  if (!published) problems.push(`not published within ${AFTER_END_TIMEOUT_MS / 1000} s of the end`);
  if (pub && pub.urls?.audio !== audioUrl) problems.push(`urls.audio is ${pub.urls?.audio}, polled ${audioUrl}`);
  const webhookMs = webhook ? webhook.value.at - endAt : null;
  const transcriptAtPublication: string | null = webhook?.value.data?.transcript?.status ?? pub?.transcript?.status ?? null;

  // ---- the transcript, if it was still finishing at publication
  let transcriptMs: number | null = null;
  let transcriptFinal: string | null = null;
  const done = (s: string | undefined) => s === 'complete' || s === 'failed' || s === 'unavailable';
  const tr = await until(
    endAt,
    async () => {
      const cur = await get();
      return done(cur.transcript?.status) && cur.publishedAt ? cur : undefined;
    },
    deadline,
  );
  if (tr) {
    transcriptFinal = tr.value.transcript.status;
    transcriptMs = tr.ms;
  } else problems.push('transcript not finished within the timeout');
  let updatedWebhookMs: number | null = null;
  if (transcriptAtPublication !== 'complete' && transcriptFinal === 'complete') {
    const u = await until(endAt, () => Promise.resolve(hooks.find((x) => x.type === 'event.updated' && x.id === id)), performance.now() + 30_000);
    updatedWebhookMs = u ? u.value.at - endAt : null;
  }
  if (transcriptFinal && transcriptFinal !== 'complete') problems.push(`transcript ended ${transcriptFinal}: ${tr?.value.transcript.reason ?? ''}`);

  // ---- what was published, checked (not timed)
  const final = await get();
  const fetchedAt = performance.now();
  const whole = await fetch(audioUrl);
  const audioBody = whole.status === 200 ? Buffer.from(await whole.arrayBuffer()) : undefined;
  const audioDownloadMs = performance.now() - fetchedAt;
  if (!audioBody) problems.push(`the m4a answered ${whole.status} after publication`);
  else if (audio && audio.value !== audioBody.length) problems.push(`the m4a first answered with ${audio.value} bytes, in full it is ${audioBody.length}`);
  let m4aSec: number | null = null;
  let manifestAudioMatches: boolean | null = null;
  let manifestDurationSec: number | null = null;
  let playback: PlaybackCheck | null = null;
  if (audioBody) {
    const file = path.join(tmp, `${id}.m4a`);
    fs.writeFileSync(file, audioBody);
    m4aSec = (await probeAudio(file)).durationSec;
    fs.rmSync(file, { force: true });
    try {
      const manifest = await (await fetch(final.urls.manifest)).json();
      const entry = manifest.files.find((f: any) => f.role === 'audio');
      manifestAudioMatches = !!entry && entry.size === audioBody.length && entry.sha256 === crypto.createHash('sha256').update(audioBody).digest('hex');
      if (!manifestAudioMatches) problems.push('the m4a served does not match the manifest (size/sha256)');
      // "Exactly": ffprobe prints microseconds; the manifest's figure is frames x 1024 / 48000.
      if (!entry || Math.abs(entry.durationSec - m4aSec) > 1e-5) problems.push(`ffprobe reads ${m4aSec} s, the manifest says ${entry?.durationSec} s`);
      manifestDurationSec = entry?.durationSec ?? null;
    } catch (e) {
      problems.push(`manifest unreadable: ${(e as Error).message}`);
    }
    if (Math.abs(m4aSec - final.capturedSec) > 0.05) problems.push(`m4a lasts ${m4aSec.toFixed(3)} s, captured ${final.capturedSec} s`);
    // A podcast app's view: the file plays from the start and from a point near its end.
    const seekTo = Math.max(0, m4aSec - 5);
    const browser = await launchChromium();
    try {
      playback = await audioPlaysAndSeeks(await browser.newPage(), final.urls.audio, seekTo);
      if (playback.error !== null || playback.paused || playback.fromStart < 0.2 || playback.afterSeek < seekTo + 0.2) {
        problems.push(`Chromium did not play and seek the m4a: ${JSON.stringify(playback)}`);
      }
    } catch (e) {
      problems.push(`Chromium could not play the m4a: ${(e as Error).message}`);
    } finally {
      await browser.close();
    }
  }
  if (Math.abs(final.capturedSec - fedSec) > CAPTURE_TOLERANCE_SEC) problems.push(`captured ${final.capturedSec} s of ${fedSec.toFixed(3)} s fed`);
  if (final.gaps?.length) problems.push(`gaps: ${JSON.stringify(final.gaps)}`);
  if (final.failures?.length) problems.push(`failures: ${JSON.stringify(final.failures)}`);
  const pubHooks = hooks.filter((x) => x.type === 'event.published' && x.id === id).length;
  if (pubHooks !== 1) problems.push(`event.published received ${pubHooks} times`);

  const r: EventResult = {
    minutes,
    id,
    fedSec,
    fedBytes: pacer.bytes,
    speed,
    feedWallSec,
    heldSec,
    cpuFeed,
    cpuAfterEnd,
    maxLagDuringFeed: lag,
    catchUpMs,
    atEnd,
    endRequestMs,
    publishedMs: published?.ms ?? null,
    publishLatencyMs: final.publishLatencyMs ?? null,
    pageMs: page?.ms ?? null,
    audioMs: audio?.ms ?? null,
    audioDownloadMs: audioBody ? audioDownloadMs : null,
    audioBytes: audioBody?.length ?? null,
    feedMs: feed?.ms ?? null,
    webhookMs,
    transcriptAtPublication,
    transcriptMs,
    transcriptFinal,
    updatedWebhookMs,
    capturedSec: final.capturedSec,
    m4aSec,
    manifestAudioMatches,
    manifestDurationSec,
    playback,
    status: final.status,
    endReason: final.endReason,
    endedAt: final.endedAt ?? null,
    problems,
  };
  log(
    `${minutes} min: end→published ${sec(r.publishedMs)} (server ${sec(r.publishLatencyMs)}), page ${sec(r.pageMs)}, audio ${sec(r.audioMs)}, feed ${sec(r.feedMs)}, webhook ${sec(r.webhookMs)}; transcript ${transcriptAtPublication} at publication${problems.length ? `; PROBLEMS: ${problems.join(' | ')}` : ''}`,
  );
  return r;
}

/** From the service's log: seconds from "event ended" to "rendition finalized" and to "event published", and each one's steps (ms). */
function endPhases(out: string, id: string): { finalizedSec?: number; publishedSec?: number; finalizeSteps?: string; publishSteps?: string } {
  const line = (re: RegExp) => out.split('\n').find((l) => l.includes(id) && re.test(l));
  const at = (l: string | undefined) => (l ? Date.parse(l.slice(0, 24)) : undefined);
  const steps = (l: string | undefined) => /ms=(\{[^}]*\})/.exec(l ?? '')?.[1];
  const ended = at(line(/event ended/));
  const finLine = line(/rendition finalized/);
  const pubLine = line(/event published/);
  const fin = at(finLine);
  const pub = at(pubLine);
  if (ended === undefined) return {};
  return {
    finalizedSec: fin !== undefined ? (fin - ended) / 1000 : undefined,
    publishedSec: pub !== undefined ? (pub - ended) / 1000 : undefined,
    finalizeSteps: steps(finLine),
    publishSteps: steps(pubLine),
  };
}

/**
 * The end phase as the fs storage saw it: when each object the publication
 * depends on was last written, in seconds after the event's endedAt.
 */
function storageTimeline(dataDir: string, r: EventResult): string | undefined {
  if (!r.endedAt) return undefined;
  const ended = Date.parse(r.endedAt);
  const root = path.join(dataDir, 'storage');
  const steps: [string, string][] = [
    ['final playlist', keys.hlsPlaylist(r.id)],
    ['last transcript write', keys.transcript(r.id, 'json')],
    ['audio.m4a', keys.audio(r.id)],
    ['card.png', keys.card(r.id)],
    ['manifest.json', keys.manifest(r.id)],
  ];
  const parts = steps.flatMap(([label, key]) => {
    try {
      return [`${label} +${((fs.statSync(path.join(root, ...key.split('/'))).mtimeMs - ended) / 1000).toFixed(2)} s`];
    } catch {
      return [];
    }
  });
  return parts.length ? parts.join(', ') : undefined;
}

/** The transcriber's windows of one event (from the service's catalog, read-only): how long apart they finished. */
function windowTimes(dataDir: string, id: string): { windows: number; p50: number; p90: number; max: number; over20: number } | undefined {
  try {
    const db = openSqlite(path.join(dataDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT created_at AS at FROM asr_windows WHERE event_id = ? ORDER BY created_at').all(id) as { at: string }[];
    db.close();
    const gaps = rows
      .slice(1)
      .map((r, i) => (Date.parse(r.at) - Date.parse(rows[i].at)) / 1000)
      .sort((a, b) => a - b);
    if (!gaps.length) return { windows: rows.length, p50: 0, p90: 0, max: 0, over20: 0 };
    const q = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
    return { windows: rows.length, p50: q(0.5), p90: q(0.9), max: gaps[gaps.length - 1], over20: gaps.filter((g) => g > 20).length };
  } catch {
    return undefined;
  }
}

/** The service's log lines about one event (its id, or its stage jobs), for evidence. */
function eventLog(out: string, id: string): string[] {
  return out.split('\n').filter((l) => l.includes(id) && /(ended|published|finaliz|WARN|ERROR|transcript)/i.test(l));
}

// ---- main

const m = machine();
const code = codeState();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-publish-'));
let svc: RunningService | undefined;
let encoder: ChildProcess | undefined;
const results: EventResult[] = [];
let exitCode = 0;

/** Stops the service, then ends whatever of its process tree outlived it (e.g. a whisper.cpp run, redis-server). */
async function stopService(s: RunningService): Promise<void> {
  const tree = processTree(s.proc.pid!).filter((p) => p.pid !== s.proc.pid);
  await s.stop().catch(() => {});
  await sleep(2000); // children of an exited parent (e.g. tsx's esbuild) end by themselves shortly
  for (const p of tree) {
    const now = readStat(p.pid);
    if (now && now.startTicks === p.startTicks) {
      log(`ending ${p.comm} (pid ${p.pid}) left running by the service`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: stopping the encoder, the service and the receiver`);
    if (encoder && encoder.exitCode === null) encoder.kill('SIGKILL');
    void (svc ? stopService(svc) : Promise.resolve())
      .finally(() => {
        receiver.closeAllConnections?.();
        receiver.close();
        if (!args['keep-data']) fs.rmSync(tmp, { recursive: true, force: true });
        else log(`data kept in ${tmp}`);
      })
      .finally(() => process.exit(130));
  });
}

try {
  log('building whisper.cpp if needed (scripts/build-whisper.sh) ...');
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
  const model = path.join(tmp, 'tiny-model.bin');
  // One decode pass per window (segments of 30 s), as a trained model on speech makes; the encoder's cost is the shape's.
  makeTinyModel(model, { seed: 4, shape: MODEL_SHAPE as ShapeName, alwaysSay: 'replay', alwaysSaySegmentSec: 30 });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  svc = await startService({
    dataDir: path.join(tmp, 'data'),
    env: { WHISPER_MODEL: model, STORAGE: 'fs', LOG_LEVEL: 'info', ...(CHUNK_SEC ? { REPLAY_CHUNK_SEC: String(CHUNK_SEC) } : {}) },
    nodeArgs: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`, '--cpu-prof-interval', '2000'] : [],
  });
  serviceRoot = svc.proc.pid!;
  log(`service up at ${svc.url} (data dir ${svc.dataDir}); code ${code}`);
  const hook = await svc.api('POST', '/api/webhooks', { url: receiverUrl, events: ['event.published', 'event.updated'] });
  if (hook.status !== 201) throw new Error(`POST /api/webhooks: ${hook.status} ${JSON.stringify(hook.body)}`);

  for (const minutes of MINUTES) results.push(await runEvent(svc, minutes, tmp));
} catch (e) {
  exitCode = 1;
  console.error(`bench:publish aborted: ${(e as Error).stack}`);
  if (svc) console.error(`--- service log (tail) ---\n${svc.output().slice(-4000)}`);
} finally {
  const out = svc?.output() ?? '';
  const windows = new Map<string, Awaited<ReturnType<typeof windowTimes>>>();
  const timelines = new Map<string, string | undefined>();
  if (svc) for (const r of results) windows.set(r.id, windowTimes(svc.dataDir, r.id));
  if (svc) for (const r of results) timelines.set(r.id, storageTimeline(svc.dataDir, r));
  if (svc) await stopService(svc);
  receiver.closeAllConnections?.();
  await new Promise((r) => receiver.close(() => r(undefined)));
  if (out) fs.writeFileSync(path.join(tmp, 'service.log'), out);

  if (results.length) {
    const fmtDur = (mins: number) => (mins >= 60 && mins % 60 === 0 ? `${mins} min (${mins / 60} h)` : `${mins} min`);
    const lines = [
      '',
      `## bench:publish — end → published, by event length`,
      '',
      `Machine: ${m.nproc} CPUs (nproc), ${m.cpuModel}, ${m.ramGiB.toFixed(1)} GiB RAM; Linux ${m.kernel}; Node ${m.node}; ${m.ffmpeg}.`,
      `Service: one \`replay start\` child (code ${code}), fs storage, embedded redis-server, events run one after the other. ` +
        `The machine is shared: the CPU line per event splits its use between the service's process tree and everything else.`,
      `Source: a push event per length; ffmpeg without -re generates two tones under a tremolo (AAC 64 kb/s mono 48 kHz ADTS) piped into PUT ingest.url, ` +
        `fed FASTER than real time, not in real time as a live event would be: capped at ${SPEED}x, and held back whenever the pipeline lagged the capture by more than ` +
        `${HOLD_TRANSCODE_LAG_SEC} s (transcode) or ${HOLD_TRANSCRIBE_LAG_SEC} s (transcribe), and before the last ${TAIL_SEC} s until it was level; so the speed-up in the table is what the service's pipeline sustained on this machine.`,
      `Chunks: REPLAY_CHUNK_SEC ${CHUNK_SEC ?? 'not set: the service default (2 s)'}.`,
      `Transcription: WHISPER_MODEL is a random-weight model of ${MODEL_SHAPE}'s shape made to say one word (makeTinyModel, seed 4, alwaysSay, one 30 s segment a window), so the whole transcript path runs for real and each window costs one ${MODEL_SHAPE} encode (WHISPER_THREADS ${process.env.WHISPER_THREADS ?? 'not set: the service default'}); ` +
        `a trained model's decoding of speech adds its tokens (about 2.4 ms each for base.en here, see \`npm run bench:transcribe\`).`,
      `Before the end: the push has ended and the pipeline caught up (capturedSec stable and = fed ±${CAPTURE_TOLERANCE_SEC} s, transcodedSec ≥ captured − ${TRANSCODE_LAG_SEC}, transcribedSec ≥ captured − ${TRANSCRIBE_LAG_SEC}, both unchanged for ${DRAINED_MS / 1000} s); ` +
        `then POST /api/events/:id/end; all times below are from sending that request (client wall clock), polled every ${POLL_MS} ms, except publishLatencyMs (server, from endedAt).`,
      `"page" = GET urls.page answers 200 with the replay (not the live) rendering, linking the m4a; "audio" = urls.audio answers 200 to HEAD with its length (fetched whole after the timed window, checked against the manifest and the length first answered; the download time is listed per event); "feed" = /feed.xml lists the event's guid; "webhook" = the loopback receiver got event.published.`,
      '',
      '| event length | fed speed-up | catch-up wait | end→published (client) | publishLatencyMs (server) | end→page | end→audio | end→feed | end→webhook | transcript at publication | end→transcript complete | m4a duration vs captured |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...results.map((r) => {
        const dur =
          r.m4aSec !== null && r.capturedSec !== null
            ? `${r.m4aSec.toFixed(3)} s vs ${r.capturedSec.toFixed(3)} s (${((r.m4aSec - r.capturedSec) * 1000).toFixed(0)} ms)`
            : '—';
        const tr =
          r.transcriptAtPublication === 'complete'
            ? 'complete at publication'
            : r.transcriptFinal
              ? `${r.transcriptFinal} at ${sec(r.transcriptMs)}${r.updatedWebhookMs !== null ? ` (event.updated ${sec(r.updatedWebhookMs)})` : ''}`
              : '—';
        return `| ${fmtDur(r.minutes)} | ${r.speed.toFixed(1)}x (${r.fedSec.toFixed(1)} s in ${r.feedWallSec.toFixed(0)} s, ${r.heldSec.toFixed(0)} s held) | ${sec(r.catchUpMs, 1)} | ${sec(r.publishedMs)} | ${r.publishLatencyMs ?? '—'} ms | ${sec(r.pageMs)} | ${sec(r.audioMs)} | ${sec(r.feedMs)} | ${sec(r.webhookMs)} | ${r.transcriptAtPublication ?? '—'} | ${tr} | ${dur} |`;
      }),
      '',
    ];
    for (const r of results) {
      lines.push(
        `- ${r.minutes} min (${r.id}): m4a ${r.audioBytes !== null ? (r.audioBytes / 1e6).toFixed(1) + ' MB' : '—'}${r.manifestAudioMatches ? ', size+sha256 = manifest' : ''}${r.audioDownloadMs !== null ? `, downloaded whole in ${sec(r.audioDownloadMs)} after publication` : ''}; ` +
          `POST /end answered in ${sec(r.endRequestMs)}; max lag while fed: transcode ${r.maxLagDuringFeed.transcodeSec.toFixed(1)} s, transcribe ${r.maxLagDuringFeed.transcribeSec.toFixed(1)} s; ` +
          `at end: captured ${r.atEnd?.capturedSec} s, transcoded ${r.atEnd?.transcodedSec} s, transcribed ${r.atEnd?.transcribedSec} s; final status ${r.status} (${r.endReason})` +
          (() => {
            const ph = endPhases(out, r.id);
            const w = windows.get(r.id);
            return (
              `; CPU while fed: ${fmtCores(r.cpuFeed)}; CPU from end to all checks done: ${fmtCores(r.cpuAfterEnd)}` +
              `; server log: ended → rendition finalized ${ph.finalizedSec?.toFixed(2) ?? '?'} s → published ${ph.publishedSec?.toFixed(2) ?? '?'} s` +
              (ph.finalizeSteps ? ` (finalize steps, ms: ${ph.finalizeSteps}; publish steps, ms: ${ph.publishSteps ?? '?'})` : '') +
              (timelines.get(r.id) ? `; storage writes after endedAt: ${timelines.get(r.id)}` : '') +
              (w
                ? `; transcriber: ${w.windows} windows, time between finished windows p50 ${w.p50.toFixed(1)} s, p90 ${w.p90.toFixed(1)} s, max ${w.max.toFixed(1)} s (${w.over20} over 20 s)`
                : '')
            );
          })() +
          (r.problems.length ? `; PROBLEMS: ${r.problems.join(' | ')}` : ''),
      );
    }
    if (results.length >= 2) {
      const [a, b] = [results[0], results[results.length - 1]];
      const d = (x: number | null, y: number | null) => (x === null || y === null ? '—' : `${(y - x) / 1000 >= 0 ? '+' : ''}${((y - x) / 1000).toFixed(2)} s`);
      lines.push(
        `- Growth ${a.minutes} → ${b.minutes} min (${(b.minutes / a.minutes).toFixed(0)}x longer): end→published ${d(a.publishedMs, b.publishedMs)}, publishLatencyMs ${d(a.publishLatencyMs, b.publishLatencyMs)}, page ${d(a.pageMs, b.pageMs)}, audio ${d(a.audioMs, b.audioMs)}, feed ${d(a.feedMs, b.feedMs)}, webhook ${d(a.webhookMs, b.webhookMs)}.`,
      );
    }
    const checks = results.flatMap((r) => [
      { what: `${r.minutes} min page`, ms: r.pageMs },
      { what: `${r.minutes} min audio`, ms: r.audioMs },
      { what: `${r.minutes} min feed`, ms: r.feedMs },
      { what: `${r.minutes} min webhook`, ms: r.webhookMs },
      { what: `${r.minutes} min transcript`, ms: r.transcriptMs },
    ]);
    const over = checks.filter((c) => c.ms === null || c.ms > TARGET_MS);
    const problems = results.flatMap((r) => r.problems.map((p) => `${r.minutes} min: ${p}`));
    const pass = over.length === 0 && problems.length === 0 && results.length === MINUTES.length;
    lines.push('');
    lines.push(
      `${pass ? 'PASS' : 'FAIL'}: target "${TARGET_MS / 1000} s or less from end to page, audio, feed, webhook and complete transcript" — ` +
        (pass
          ? `worst ${sec(Math.max(...checks.map((c) => c.ms!)))} (${checks.reduce((w, c) => (c.ms! > w.ms! ? c : w)).what})`
          : `over target: ${over.map((c) => `${c.what} ${sec(c.ms)}`).join(', ') || `only ${results.length} of ${MINUTES.length} events ran`}`) +
        (problems.length ? ` (other problems: ${problems.length}, listed above)` : ''),
    );
    console.log(lines.join('\n'));
    if (!pass) exitCode = 1;
    if (args.json) fs.writeFileSync(args.json, JSON.stringify({ machine: m, speed: SPEED, results }, null, 2));
    for (const r of results) {
      const ev = eventLog(out, r.id);
      if (r.problems.length && ev.length) console.log(`\n--- service log for ${r.id} ---\n${ev.slice(-30).join('\n')}`);
    }
  }
  if (args['cpu-prof']) console.log(`the service's CPU profiles are in ${path.resolve(args['cpu-prof'])} (open in Chrome DevTools)`);
  if (args['keep-data']) console.log(`\ndata and service log kept in ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
