// Scale-out benchmark: how transcription throughput and cost change with the
// number of worker processes, all sharing one Redis, one PostgreSQL database
// and one S3 (s3rver) as they would across machines.
//
//   npm run bench:cluster -- [--workers 1,2,3] [--events 3] [--seconds 90] [--shape test|tiny.en|base.en] [--json FILE]
//
// For each worker count: a fresh database, Redis and bucket; one `replay
// start --role api,recorder` process; N `--role transcoder,transcriber,publisher`
// processes, each with its own data dir. --events push events are fed the
// same espeak-ng conversation as fast as the service takes it, then ended;
// the clock stops when every transcript is complete. Reported: transcribed
// audio seconds per CPU second of the worker processes (whisper.cpp included)
// and per wall second. whisper.cpp runs a random-weight model of the given
// shape (WHISPER_MODEL, if set, instead): it measures the pipeline's cost and
// how it spreads, not a real model's accuracy.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeTinyModel, type ShapeName } from '../test/fixtures/tiny-model.ts';
import { freshPostgres } from '../test/helpers/db.ts';
import { pusher } from '../test/helpers/hostile.ts';
import { tcpRedis } from '../test/helpers/redis.ts';
import { s3rverProcess } from '../test/helpers/s3rver.ts';
import { wavToAdtsArgs } from '../test/helpers/tone.ts';
import { ROOT, startService, type RunningService } from '../test/helpers/service.ts';
import { processTree } from './lib/proc-sampler.ts';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,3' },
    events: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '90' },
    shape: { type: 'string', default: 'test' },
    json: { type: 'string' },
  },
});
const workerCounts = args.workers.split(',').map(Number);
const EVENTS = Number(args.events);
const SECONDS = Number(args.seconds);
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** The conversation every event is fed: espeak-ng speech as 64 kb/s AAC in ADTS. */
function speech(dir: string): Buffer {
  const text = Array(40)
    .fill('We are recording this conversation live. Every window of it is transcribed while it is still going on, on as many machines as it takes.')
    .join(' ');
  const wav = path.join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-s', '165', '-w', wav, text]);
  const aac = path.join(dir, 'speech.aac');
  execFileSync('ffmpeg', [...wavToAdtsArgs(wav, SECONDS, false), aac]);
  return fs.readFileSync(aac);
}

/** CPU seconds of a process and everything under it: running children, and those it reaped (whisper.cpp, ffmpeg). */
function treeCpu(pid: number): number {
  return processTree(pid).reduce((s, p) => s + p.selfCpuSec + p.childCpuSec, 0);
}

interface Trial {
  workers: number;
  events: number;
  audioSec: number;
  transcribedSec: number;
  wallSec: number;
  workerCpuSec: number;
  apiCpuSec: number;
  transcribedSecPerCpuSec: number;
  transcribedSecPerWallSec: number;
}

/** What an interrupted run (Ctrl-C, a timeout's SIGTERM) must stop: the current trial's processes and servers. */
let stopTrial: (() => Promise<void>) | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the processes`);
    void (stopTrial?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function trial(workers: number, model: string, audio: Buffer, tmp: string): Promise<Trial> {
  const [redis, s3, pg] = await Promise.all([tcpRedis(), s3rverProcess(`bench-cluster-${workers}`), freshPostgres()]);
  const env = {
    ...s3.env,
    S3_PUBLIC_BASE_URL: `${s3.endpoint}/${s3.bucket}`,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    WHISPER_MODEL: model,
    LOG_LEVEL: 'warn',
  };
  const procs: RunningService[] = [];
  stopTrial = async () => {
    for (const p of [...procs].reverse()) await p.stop().catch(() => {});
    await Promise.all([redis.close(), s3.close(), pg.drop()]);
  };
  try {
    const api = await startService({ dataDir: fs.mkdtempSync(path.join(tmp, 'api-')), env: { ...env, REPLAY_ROLES: 'api,recorder' } });
    procs.push(api);
    for (let i = 0; i < workers; i++) {
      procs.push(await startService({ dataDir: fs.mkdtempSync(path.join(tmp, 'worker-')), env: { ...env, REPLAY_ROLES: 'transcoder,transcriber,publisher' } }));
    }
    const workerProcs = procs.slice(1);
    const cpu0 = workerProcs.map((p) => treeCpu(p.proc.pid!));
    const api0 = treeCpu(api.proc.pid!);
    const t0 = Date.now();
    const ids = await Promise.all(
      Array.from({ length: EVENTS }, async (_, i) => {
        const { body } = await api.api('POST', '/api/events', { title: `cluster ${workers}/${i}`, source: { type: 'push' }, reconnectWindowSec: 120 });
        const p = pusher(body.ingest.url, body.ingest.key);
        p.body.end(audio);
        await p.response;
        await api.api('POST', `/api/events/${body.id}/end`);
        return body.id as string;
      }),
    );
    log(`${workers} worker(s): ${EVENTS} events fed and ended; transcribing`);
    const done = await Promise.all(
      ids.map((id) =>
        api.waitFor(
          id,
          (e) => e.status === 'failed' || (e.status === 'published' && ['complete', 'failed', 'unavailable'].includes(e.transcript.status)),
          1_800_000,
        ),
      ),
    );
    const wallSec = (Date.now() - t0) / 1000;
    const workerCpuSec = workerProcs.reduce((s, p, i) => s + treeCpu(p.proc.pid!) - cpu0[i], 0);
    const transcribedSec = done.reduce((s, e) => s + Number(e.transcribedSec), 0);
    const audioSec = done.reduce((s, e) => s + Number(e.capturedSec), 0);
    for (const e of done) if (e.transcript.status !== 'complete') log(`event ${e.id}: transcript ${e.transcript.status} ${e.transcript.reason ?? ''}`);
    return {
      workers,
      events: EVENTS,
      audioSec: +audioSec.toFixed(1),
      transcribedSec: +transcribedSec.toFixed(1),
      wallSec: +wallSec.toFixed(1),
      workerCpuSec: +workerCpuSec.toFixed(1),
      apiCpuSec: +(treeCpu(api.proc.pid!) - api0).toFixed(1),
      transcribedSecPerCpuSec: +(transcribedSec / workerCpuSec).toFixed(2),
      transcribedSecPerWallSec: +(transcribedSec / wallSec).toFixed(2),
    };
  } finally {
    await stopTrial();
    stopTrial = undefined;
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-cluster-'));
try {
  execFileSync('bash', [path.join(ROOT, 'scripts/build-whisper.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  let model = process.env.WHISPER_MODEL;
  if (!model) {
    model = path.join(ROOT, '.cache', 'bench', `ggml-${args.shape}-random.bin`);
    if (!fs.existsSync(model)) {
      fs.mkdirSync(path.dirname(model), { recursive: true });
      makeTinyModel(model, { shape: args.shape as ShapeName, seed: 7 });
    }
  }
  const audio = speech(tmp);
  log(`model ${path.basename(model)}; ${EVENTS} events of ${SECONDS} s; workers ${workerCounts.join(', ')}; ${os.availableParallelism()} cores`);
  const results: Trial[] = [];
  for (const w of workerCounts) results.push(await trial(w, model, audio, tmp));
  console.log(JSON.stringify({ machine: { cores: os.availableParallelism(), node: process.version }, model: path.basename(model), results }, null, 2));
  console.log('\nworkers | transcribed s | wall s | worker CPU s | transcribed s per CPU s | per wall s');
  for (const r of results)
    console.log(`${r.workers} | ${r.transcribedSec} | ${r.wallSec} | ${r.workerCpuSec} | ${r.transcribedSecPerCpuSec} | ${r.transcribedSecPerWallSec}`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
