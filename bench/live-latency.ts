// Live listening latency: how long after a sample enters the source it is
// playable, i.e. listed in the live HLS playlist a listener polls.
//
//   npm run bench:live-latency -- [--seconds 180] [--poll-ms 100] [--json FILE]
//
// One `replay start` child (fs storage, embedded redis-server); a push event
// fed in real time (ffmpeg's AAC through the same pacer bench:publish uses,
// at 1x, which records when every second of audio went out); the live
// playlist polled every --poll-ms. When a poll first lists a segment or a
// partial segment (LL-HLS #EXT-X-PART) holding a sample, the sample has a
// latency: that moment minus when the sample was sent. The figures are over
// all samples (each second weighs the same), p50/p95/max, and tables per
// segment and per part position show where the time goes (the first sample of
// a unit waits for the whole unit, the last one only for what follows it: the
// source chunk that holds its end and the work).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pusher } from '../test/helpers/hostile.ts';
import { startService } from '../test/helpers/service.ts';
import { AdtsPacer, startToneEncoder } from './lib/publish-feed.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    'poll-ms': { type: 'string', default: '100' },
    json: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const POLL_MS = Number(args['poll-ms']);
if (!(SECONDS >= 30) || !(POLL_MS >= 10)) {
  console.error('usage: npm run bench:live-latency -- [--seconds 180 (at least 30)] [--poll-ms 100] [--json FILE]');
  process.exit(2);
}
/** The first segments are left out: the recorder and the pipeline warm up. */
const WARM_UP_SEC = 15;

const log = (msg: string) => console.error(`[live-latency ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Timeline seconds per rendition frame, and frames per segment and per part (transcoder/grid.ts). */
const FRAME_SEC = 1024 / 48000;
const SEGMENT_FRAMES = 282;
const PART_FRAMES = 94;

/** A span of the timeline a playlist lists: a segment (p = -1) or part p of segment k. */
interface Unit {
  k: number;
  p: number;
  startSec: number;
  endSec: number;
}

/** Segments (in order, by their EXTINF) and parts (by their URI seg-<k>.<p>.m4s) of a media playlist. */
function playlistUnits(text: string): { segments: Unit[]; parts: Unit[] } {
  const segments: Unit[] = [];
  for (const m of text.matchAll(/^#EXTINF:([\d.]+)/gm)) {
    const startSec = segments.length ? segments[segments.length - 1].endSec : 0;
    segments.push({ k: segments.length, p: -1, startSec, endSec: startSec + Number(m[1]) });
  }
  const parts = [...text.matchAll(/^#EXT-X-PART:DURATION=([\d.]+),URI="seg-(\d+)\.(\d+)\.m4s"/gm)].map((m) => {
    const k = Number(m[2]);
    const p = Number(m[3]);
    const startSec = (k * SEGMENT_FRAMES + p * PART_FRAMES) * FRAME_SEC;
    return { k, p, startSec, endSec: startSec + Number(m[1]) };
  });
  return { segments, parts };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-live-latency-'));
  const svc = await startService({ dataDir: path.join(tmp, 'data'), env: { STORAGE: 'fs', LOG_LEVEL: 'warn' } });
  try {
    const created = await svc.api('POST', '/api/events', { title: 'bench:live-latency', source: { type: 'push' } });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const ev = created.body;
    // (wall ms, audio seconds sent) every few ms: when each second of audio went out.
    const sent: [number, number][] = [];
    const pacer = new AdtsPacer(1);
    const push = pusher(ev.ingest.url, ev.ingest.key);
    const enc = startToneEncoder(SECONDS);
    enc.stdout!.pipe(pacer).pipe(push.body);
    const track = setInterval(() => sent.push([performance.now(), pacer.audioSec]), 5);
    // The live playlist as the fs driver serves it (the event's urls.hls once it exists).
    const hlsUrl = `${svc.url}/files/events/${ev.id}/hls/index.m3u8`;
    log(`event ${ev.id}: pushing ${SECONDS} s in real time, polling ${hlsUrl} every ${POLL_MS} ms`);

    // When each segment and each part was first listed.
    const seen = new Map<string, Unit & { at: number }>();
    let segments = 0;
    const deadline = performance.now() + (SECONDS + 60) * 1000;
    while (performance.now() < deadline && (pacer.audioSec < SECONDS - 0.1 || segments < Math.floor(SECONDS / 6.1))) {
      const res = await fetch(hlsUrl).catch(() => undefined);
      const at = performance.now();
      if (res?.ok) {
        const units = playlistUnits(await res.text());
        segments = Math.max(segments, units.segments.length);
        for (const u of [...units.segments, ...units.parts]) if (!seen.has(`${u.k}.${u.p}`)) seen.set(`${u.k}.${u.p}`, { ...u, at });
      } else await res?.arrayBuffer().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (performance.now() - at))));
    }
    clearInterval(track);
    push.abort();
    enc.kill();

    // When audio second s went out: the first tracking sample at or past it.
    const sentAt = (s: number) => sent.find(([, a]) => a >= s)?.[0];
    const units = [...seen.values()];
    const parts = units.filter((u) => u.p >= 0);
    // When the sample at s was first playable: the earliest listing of a segment or part holding it.
    const listedAt = (s: number) => Math.min(...units.filter((u) => u.startSec <= s && s < u.endSec).map((u) => u.at));
    const latencyOf = (s: number) => {
      const w = sentAt(s);
      const at = listedAt(s);
      return w === undefined || !Number.isFinite(at) ? undefined : (at - w) / 1000;
    };
    const lat: number[] = [];
    const rows: string[] = [];
    const EDGE = 0.005; // a unit's first and last sample, just inside it
    for (const seg of units.filter((u) => u.p < 0).sort((a, b) => a.k - b.k)) {
      if (seg.startSec < WARM_UP_SEC) continue;
      const first = latencyOf(seg.startSec + EDGE);
      const last = latencyOf(seg.endSec - EDGE);
      if (first === undefined || last === undefined) continue;
      for (let s = seg.startSec; s < seg.endSec; s += 0.01) {
        const l = latencyOf(s);
        if (l !== undefined) lat.push(l);
      }
      const own = parts.filter((u) => u.k === seg.k).length;
      rows.push(`| ${seg.k} | ${seg.startSec.toFixed(3)}–${seg.endSec.toFixed(3)} | ${own} | ${first.toFixed(2)} | ${last.toFixed(2)} |`);
    }
    // Per part position: the mean latency of its first and last sample, over the segments after the warm-up.
    const partRows: string[] = [];
    for (let p = 0; p < SEGMENT_FRAMES / PART_FRAMES; p++) {
      const at = parts.filter((u) => u.p === p && u.startSec >= WARM_UP_SEC);
      const firsts = at.map((u) => latencyOf(u.startSec + EDGE)).filter((l): l is number => l !== undefined);
      const lasts = at.map((u) => latencyOf(u.endSec - EDGE)).filter((l): l is number => l !== undefined);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      if (firsts.length && lasts.length) partRows.push(`| ${p} | ${at.length} | ${mean(firsts).toFixed(2)} | ${mean(lasts).toFixed(2)} |`);
    }
    if (!lat.length) throw new Error(`no segment listed after the warm-up (${segments} listed in all)`);
    lat.sort((a, b) => a - b);
    const result = {
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
      seconds: SECONDS,
      pollMs: POLL_MS,
      segments: rows.length,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      max: lat[lat.length - 1],
    };
    console.log(
      [
        `## Live listening latency (${result.machine})`,
        '',
        `Source sample → listed in the live playlist, over every sample after the first ${WARM_UP_SEC} s of a ${SECONDS} s push (poll every ${POLL_MS} ms):`,
        `**p50 ${result.p50.toFixed(2)} s, p95 ${result.p95.toFixed(2)} s, max ${result.max.toFixed(2)} s** (${rows.length} segments).`,
        '',
        '| segment | timeline s | parts listed | latency of its first sample s | of its last sample s |',
        '| ---: | --- | ---: | ---: | ---: |',
        ...rows,
        ...(partRows.length
          ? [
              '',
              'By part position (LL-HLS parts of 94 frames, 2.005 s):',
              '',
              '| part | listed | mean latency of its first sample s | of its last sample s |',
              '| ---: | ---: | ---: | ---: |',
              ...partRows,
            ]
          : []),
      ].join('\n'),
    );
    if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2));
  } finally {
    await svc.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
