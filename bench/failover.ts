// Failover benchmark: how long a recorder's death interrupts capture, and
// what audio it costs.
//
//   npm run bench:failover -- [--kills 20] [--lease 10] [--json FILE]
//
// Two `replay start --role api,recorder` processes, each with its own data
// dir, share one Redis, one PostgreSQL database and s3rver, as two machines
// would. One live HLS event (an origin whose playlist keeps a minute of 2 s
// segments) and one pushed event (a real-time encoder that reconnects to the
// other process when its connection breaks, as a pusher behind a load
// balancer does) are recorded. Round after round, the process holding the
// HLS event is killed with SIGKILL; the clock runs from the kill until the
// event's JSON names the other process as its holder. The pushed event counts
// when it was on the killed process too. The killed process is started again
// on its data dir before the next round. Reported for each kind of source:
// takeover time (p50, max) and the gap each kill added to the event's
// timeline (wall-clock time from the last audio kept to the next: an upper
// bound of the audio lost, since what a pusher sent while the other process
// took over waited in its connection and is archived after the gap), and for
// HLS whether every media sequence was archived exactly once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { holderId } from '../shared/holder-id.ts';
import { freshPostgres } from '../test/helpers/db.ts';
import { liveHls } from '../test/helpers/live-source.ts';
import { reconnectingPusher } from '../test/helpers/reconnecting-pusher.ts';
import { tcpRedis } from '../test/helpers/redis.ts';
import { s3rverProcess } from '../test/helpers/s3rver.ts';
import { freePort, startService, type RunningService } from '../test/helpers/service.ts';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    lease: { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const KILLS = Number(args.kills);
const LEASE_SEC = Number(args.lease);
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface EventJson {
  status: string;
  capturedSec: number;
  timelineSec: number;
  gaps: { startSec: number; endSec: number }[];
  capture: { holder: string | null; takeovers: number };
}

interface Kill {
  kind: 'hls' | 'push';
  takeoverSec: number;
  /** Seconds of gap the kill added to the event's timeline. */
  gapSec: number;
}

const gapSec = (e: EventJson) => e.gaps.reduce((s, g) => s + g.endSec - g.startSec, 0);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}

/** A recorder process that can be killed and started again on the same data dir and port. */
class Node {
  svc!: RunningService;
  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}
  async start(): Promise<void> {
    this.svc = await startService({ dataDir: this.dataDir, port: this.port, env: { ...this.env, REPLAY_ROLES: 'api,recorder' } });
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async event(id: string): Promise<EventJson> {
    return (await this.svc.api('GET', `/api/events/${id}`)).body as EventJson;
  }
}

/** Polls the survivor until it names a holder other than `was`; the seconds since `from`. */
async function takeover(node: Node, id: string, was: string, from: number): Promise<{ sec: number; ev: EventJson }> {
  for (;;) {
    const ev = await node.event(id);
    if (ev.capture.holder && ev.capture.holder !== was) return { sec: (Date.now() - from) / 1000, ev };
    if (Date.now() - from > 10 * LEASE_SEC * 1000) throw new Error(`nobody took ${id} over in ${10 * LEASE_SEC} s`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-failover-'));
  const [redis, s3, pg] = await Promise.all([tcpRedis(), s3rverProcess('bench-failover'), freshPostgres()]);
  const env = {
    ...s3.env,
    S3_PUBLIC_BASE_URL: `${s3.endpoint}/${s3.bucket}`,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    REPLAY_LEASE_SEC: String(LEASE_SEC),
    LOG_LEVEL: 'warn',
  };
  const nodes = [new Node(path.join(tmp, 'a'), await freePort(), env), new Node(path.join(tmp, 'b'), await freePort(), env)];
  for (const n of nodes) fs.mkdirSync(n.dataDir);
  await Promise.all(nodes.map((n) => n.start()));
  // Long enough for every round: a takeover, a restart and a settling time each.
  const src = await liveHls({ durationSec: KILLS * (LEASE_SEC + 12) + 60, listSize: 30 });
  const stopAll = async () => {
    for (const n of nodes) await n.svc.stop().catch(() => {});
    await src.close();
    await Promise.all([redis.close(), s3.close(), pg.drop()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));

  const api = (n: Node, method: string, p: string, body?: unknown) => n.svc.api(method, p, body);
  const hls = (await api(nodes[0], 'POST', '/api/events', { title: 'bench failover HLS', source: { url: src.url } })).body as { id: string };
  const push = (await api(nodes[0], 'POST', '/api/events', { title: 'bench failover push', source: { type: 'push' }, reconnectWindowSec: 120 })).body as {
    id: string;
    ingest: { key: string };
  };
  const pusher = reconnectingPusher(
    nodes.map((n) => `${n.url}/ingest/${push.id}`),
    push.ingest.key,
    KILLS * (LEASE_SEC + 12) + 60,
  );
  const kills: Kill[] = [];
  try {
    await sleep(15_000);
    for (let round = 0; kills.filter((k) => k.kind === 'hls').length < KILLS; round++) {
      const before = { hls: await nodes[0].event(hls.id), push: await nodes[0].event(push.id) };
      const victim = nodes.find((n) => before.hls.capture.holder === holderId(n.dataDir));
      if (!victim) throw new Error(`cannot tell which process holds the HLS event (${before.hls.capture.holder})`);
      const survivor = nodes.find((n) => n !== victim)!;
      const pushToo = before.push.capture.holder === before.hls.capture.holder;
      const t0 = Date.now();
      await victim.svc.kill9();
      const waits: Promise<void>[] = [];
      for (const kind of pushToo ? (['hls', 'push'] as const) : (['hls'] as const)) {
        const id = kind === 'hls' ? hls.id : push.id;
        waits.push(
          takeover(survivor, id, before[kind].capture.holder!, t0).then(async ({ sec }) => {
            // The gap shows once the new holder has archived past the takeover.
            const settled = await waitTimeline(survivor, id, before[kind].timelineSec + (Date.now() - t0) / 1000 + 8);
            kills.push({ kind, takeoverSec: +sec.toFixed(2), gapSec: +(gapSec(settled) - gapSec(before[kind])).toFixed(2) });
          }),
        );
      }
      await Promise.all(waits);
      log(
        `round ${round + 1}: ${kills
          .slice(-waits.length)
          .map((k) => `${k.kind} taken over in ${k.takeoverSec} s, ${k.gapSec} s of gap`)
          .join('; ')}`,
      );
      await victim.start();
      await sleep(3000);
    }
    pusher.stop();
    const chunks = (await api(nodes[0], 'GET', `/api/events/${hls.id}/chunks`)).body.chunks as { media: { epoch: number; mediaSeq: number } | null }[];
    const seqs = chunks.map((c) => c.media?.mediaSeq ?? -1);
    const onceEach = seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1);
    report(kills, { hlsSegments: seqs.length, hlsEachSequenceOnce: onceEach });
  } finally {
    pusher.stop();
    await stopAll();
  }
}

async function waitTimeline(node: Node, id: string, sec: number): Promise<EventJson> {
  for (const t0 = Date.now(); ;) {
    const ev = await node.event(id);
    if (ev.timelineSec >= sec || Date.now() - t0 > 60_000) return ev;
    await sleep(500);
  }
}

function report(kills: Kill[], hlsCheck: { hlsSegments: number; hlsEachSequenceOnce: boolean }): void {
  const rows = (['hls', 'push'] as const).map((kind) => {
    const k = kills.filter((x) => x.kind === kind);
    const t = k.map((x) => x.takeoverSec);
    const g = k.map((x) => x.gapSec);
    return { kind, kills: k.length, takeoverP50: pct(t, 50), takeoverMax: Math.max(...t), gapP50: pct(g, 50), gapMax: Math.max(...g) };
  });
  process.stdout.write(
    `\nREPLAY_LEASE_SEC=${LEASE_SEC}\n| source | kills | takeover p50 s | takeover max s | gap p50 s | gap max s |\n| --- | ---: | ---: | ---: | ---: | ---: |\n`,
  );
  for (const r of rows) process.stdout.write(`| ${r.kind} | ${r.kills} | ${r.takeoverP50} | ${r.takeoverMax} | ${r.gapP50} | ${r.gapMax} |\n`);
  process.stdout.write(`HLS: ${hlsCheck.hlsSegments} segments archived, each media sequence once: ${hlsCheck.hlsEachSequenceOnce}\n`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ leaseSec: LEASE_SEC, rows, kills, ...hlsCheck }, null, 2));
}

await main();
