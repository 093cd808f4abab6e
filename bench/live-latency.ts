// Live listening latency: how long after a sample enters the source it is
// playable, i.e. listed in the live HLS playlist a listener polls.
//
//   npm run bench:live-latency -- [--seconds 180] [--poll-ms 100] [--json FILE]
//
// One `replay start` child (fs storage, embedded redis-server); a push event
// fed in real time (ffmpeg's AAC through the same pacer bench:publish uses,
// at 1x, which records when every second of audio went out); the live
// playlist polled every --poll-ms. When a poll first lists a segment, every
// sample in it has a latency: that moment minus when the sample was sent. The
// figures are over all samples (each segment weighs its length), p50/p95/max,
// and a table per segment position shows where the time goes (the first
// sample of a segment waits for the whole segment, the last one only for
// what follows it: the chunk after it and the work).
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

/** Segment durations of a media playlist, in order. */
function segmentDurations(text: string): number[] {
  return [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].map((m) => Number(m[1]));
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

    // When each segment was first listed.
    const listed: { k: number; startSec: number; endSec: number; at: number }[] = [];
    let ends: number[] = [];
    const deadline = performance.now() + (SECONDS + 60) * 1000;
    while (performance.now() < deadline && (pacer.audioSec < SECONDS - 0.1 || listed.length < Math.floor(SECONDS / 6.1))) {
      const res = await fetch(hlsUrl).catch(() => undefined);
      const at = performance.now();
      if (res?.ok) {
        const durs = segmentDurations(await res.text());
        if (durs.length > listed.length) {
          ends = durs.reduce<number[]>((acc, d) => [...acc, (acc[acc.length - 1] ?? 0) + d], []);
          for (let k = listed.length; k < durs.length; k++) listed.push({ k, startSec: k ? ends[k - 1] : 0, endSec: ends[k], at });
        }
      } else await res?.arrayBuffer().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (performance.now() - at))));
    }
    clearInterval(track);
    push.abort();
    enc.kill();

    // When audio second s went out: the first tracking sample at or past it.
    const sentAt = (s: number) => sent.find(([, a]) => a >= s)?.[0];
    const lat: number[] = [];
    const rows: string[] = [];
    for (const seg of listed) {
      if (seg.startSec < WARM_UP_SEC) continue;
      const first = sentAt(seg.startSec);
      const last = sentAt(seg.endSec);
      if (first === undefined || last === undefined) continue;
      for (let s = seg.startSec; s < seg.endSec; s += 0.01) {
        const w = sentAt(s);
        if (w !== undefined) lat.push((seg.at - w) / 1000);
      }
      rows.push(
        `| ${seg.k} | ${seg.startSec.toFixed(3)}–${seg.endSec.toFixed(3)} | ${((seg.at - first) / 1000).toFixed(2)} | ${((seg.at - last) / 1000).toFixed(2)} |`,
      );
    }
    if (!lat.length) throw new Error(`no segment listed after the warm-up (${listed.length} listed in all)`);
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
        '| segment | timeline s | latency of its first sample s | of its last sample s |',
        '| ---: | --- | ---: | ---: |',
        ...rows,
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
