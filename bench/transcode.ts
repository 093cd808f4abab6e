// Transcoder throughput: an N-minute 1 kHz sine (AAC 44.1 kHz mono in
// MPEG-TS, cut into chunks exactly as the recorder cuts them: 2 s by default,
// REPLAY_CHUNK_SEC's default; 6 s was the default before) goes
// through processChunkArchived chunk by chunk, then finalizeRendition. Prints
// the CPU cost (this process plus its ffmpeg/ffprobe children) as audio
// seconds per CPU second, the per-chunk job latency, and a gapless check of
// the decoded playlist.
//
//   node bin/run-ts.js bench/transcode.ts [minutes=10] [chunk seconds=2]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../cli/migrations.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { openDatabase } from '../shared/db/database.ts';
import { migrate } from '../shared/db/migrate.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { decodeToPcm, probeAudio } from '../shared/ffmpeg.ts';
import { createLogger } from '../shared/log.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import { f32 } from '../transcoder/decode.ts';
import { FRAME, RATE, SEGMENT_SAMPLES } from '../transcoder/grid.ts';
import { finalizeRendition, processChunkArchived } from '../transcoder/process-chunk.ts';
import { transcoderKeys } from '../transcoder/rendition.ts';
import { residualsAt, scanTone } from '../transcoder/verify.ts';
import { cutIntoChunks, encodeToneTs } from '../test/helpers/tone.ts';

const minutes = Number(process.argv[2] ?? 10);
const chunkSec = Number(process.argv[3] ?? 2);
if (!(minutes > 0) || !(chunkSec >= 1)) {
  console.error('usage: node bin/run-ts.js bench/transcode.ts [minutes] [chunk seconds]');
  process.exit(2);
}
const seconds = Math.round(minutes * 60);
const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds of this process and of its reaped children (ffmpeg, ffprobe), from /proc. */
function cpu(): { self: number; children: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm)": state=0 ... utime=11 stime=12 cutime=13 cstime=14
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-transcode-'));
const log = createLogger('bench');
process.env.LOG_LEVEL ??= 'warn';

try {
  // ---- setup (not measured)
  console.log(`making a ${minutes}-minute source...`);
  const src = path.join(tmp, 'src.ts');
  await encodeToneTs(src, { seconds, sampleRate: 44100 });
  const files = await cutIntoChunks(src, path.join(tmp, 'chunks'), chunkSec);
  const db = openDatabase({ sqliteFile: path.join(tmp, 'catalog.db') });
  await migrate(db, MIGRATIONS);
  const catalog = new EventCatalog(db);
  const state = new TranscoderState(db);
  const storage = new FsStorage(path.join(tmp, 'storage'), 'http://127.0.0.1/files');
  const eventId = 'ev_bench';
  await catalog.createEvent({ id: eventId, slug: 'bench', title: 'bench', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 60 });
  let t = 0;
  const chunks: { eventId: string; seq: number; sessionNo: number; key: string; startSec: number; durationSec: number; sha256: string }[] = [];
  const bounds: number[] = [];
  for (const file of files) {
    const name = path.basename(file);
    const d = (await probeAudio(file)).durationSec;
    if (!d) continue;
    const bytes = fs.readFileSync(file);
    const key = `private/events/${eventId}/source/s1-${name}`;
    await storage.put(key, bytes);
    chunks.push({
      eventId,
      seq: chunks.length,
      sessionNo: 1,
      key,
      startSec: t,
      durationSec: d,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    });
    bounds.push(t);
    t += d;
  }
  const timelineSec = t;
  let pcmJobs = 0;
  const deps = {
    catalog,
    state,
    storage,
    log,
    onPcmReady: () => {
      pcmJobs++;
      return Promise.resolve();
    },
  };

  // ---- measured: the live path, chunk by chunk, then the end
  console.log(`transcoding ${chunks.length} chunks (${timelineSec.toFixed(1)} s of audio)...`);
  const c0 = cpu();
  const w0 = performance.now();
  const latencies: number[] = [];
  for (const c of chunks) {
    const s = performance.now();
    await processChunkArchived({ data: c }, deps);
    latencies.push(performance.now() - s);
  }
  const w1 = performance.now();
  const fin = await finalizeRendition(eventId, chunks.length, deps);
  const w2 = performance.now();
  const c1 = cpu();

  const self = c1.self - c0.self;
  const children = c1.children - c0.children;
  const total = self + children;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];

  // ---- gapless check (not measured)
  const pcm = f32(await decodeToPcm(path.join(storage.root, ...transcoderKeys.playlist(eventId).split('/')), { format: 'f32le' }));
  // The source tone stops abruptly at its very end: the AAC pre-echo of that stop
  // reaches ~40 ms back, so the scan stops 0.1 s before the end.
  const inside = (x: number) => x > 0.06 && x < timelineSec - 0.1;
  const segBounds = Array.from({ length: fin.segments }, (_, k) => (k * SEGMENT_SAMPLES) / RATE).filter(inside);
  const worstSeg = Math.max(...residualsAt(pcm, segBounds, { freq: 1000 }).map((r) => r.residualDb));
  const worstChunk = Math.max(...residualsAt(pcm, bounds.filter(inside), { freq: 1000 }).map((r) => r.residualDb));
  const scan = scanTone(pcm, { freq: 1000, fromSec: 0.06, toSec: timelineSec - 0.1 });
  const durErrMs = (pcm.length / RATE - timelineSec) * 1000;

  const out = {
    audioSec: Number(timelineSec.toFixed(3)),
    chunkSec,
    chunks: chunks.length,
    segments: fin.segments,
    wallSec: Number(((w2 - w0) / 1000).toFixed(2)),
    liveWallSec: Number(((w1 - w0) / 1000).toFixed(2)),
    finalizeWallSec: Number(((w2 - w1) / 1000).toFixed(2)),
    cpuSec: { node: Number(self.toFixed(2)), ffmpeg: Number(children.toFixed(2)), total: Number(total.toFixed(2)) },
    audioSecPerCpuSec: Number((timelineSec / total).toFixed(1)),
    audioSecPerWallSec: Number((timelineSec / ((w2 - w0) / 1000)).toFixed(1)),
    chunkJobMs: { p50: Math.round(pct(0.5)), p95: Math.round(pct(0.95)), max: Math.round(latencies[latencies.length - 1]) },
    pcmReadyJobs: pcmJobs,
    gapless: {
      segmentBoundaryWorstDb: Number(worstSeg.toFixed(1)),
      chunkBoundaryWorstDb: Number(worstChunk.toFixed(1)),
      scanWorstDb: Number(scan.worstDb.toFixed(1)),
      scanWorstAtSec: Number(scan.worstAtSec.toFixed(3)),
      scanMedianDb: Number(scan.medianDb.toFixed(1)),
      durationErrorMs: Number(durErrMs.toFixed(2)),
      ok: worstSeg < -30 && worstChunk < -30 && Math.abs(durErrMs) < 20,
    },
    loudness: { I: fin.loudness?.integratedLufs.toFixed(2), LRA: fin.loudness?.lraLu.toFixed(2), TP: fin.loudness?.truePeakDbtp.toFixed(2) },
    frameSamples: FRAME,
  };
  console.log(JSON.stringify(out, null, 2));
  console.log(
    `\n${timelineSec.toFixed(0)} s of audio in ${total.toFixed(1)} CPU s (node ${self.toFixed(1)} + ffmpeg ${children.toFixed(1)}): ` +
      `${out.audioSecPerCpuSec} audio s per CPU s; chunk job p50 ${out.chunkJobMs.p50} ms, max ${out.chunkJobMs.max} ms; ` +
      `gapless ${out.gapless.ok ? 'OK' : 'FAILED'} (worst boundary ${Math.max(worstSeg, worstChunk).toFixed(1)} dB, duration error ${durErrMs.toFixed(1)} ms)`,
  );
  await db.close();
  if (!out.gapless.ok) process.exitCode = 1;
} finally {
  if (process.env.KEEP_BENCH_DIR) console.log('kept', tmp);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
