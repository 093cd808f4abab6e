// Prometheus metrics of this process (prom-client), served at /metrics:
// jobs per queue and outcome with their durations, events created and
// published, live events, captured seconds, publish latency, whisper.cpp's
// real-time factor, how soon new words are searchable, alert matches, the process's own CPU and memory, and the depth of every
// queue as BullMQ exports it. Each process exposes what it does; Prometheus
// sums them.
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'replay_' });

export const metrics = {
  jobs: new client.Counter({
    name: 'replay_jobs_total',
    help: 'Jobs run, by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  }),
  jobSeconds: new client.Histogram({
    name: 'replay_job_duration_seconds',
    help: 'How long a job ran, by queue',
    labelNames: ['queue'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  }),
  eventsCreated: new client.Counter({ name: 'replay_events_created_total', help: 'Events created', registers: [registry] }),
  eventsPublished: new client.Counter({ name: 'replay_events_published_total', help: 'Events published', registers: [registry] }),
  capturedSeconds: new client.Counter({ name: 'replay_captured_seconds_total', help: 'Seconds of source audio archived', registers: [registry] }),
  publishLatency: new client.Histogram({
    name: 'replay_publish_latency_seconds',
    help: 'From an event’s end to its publication',
    buckets: [0.5, 1, 2, 3, 5, 10, 20, 60],
    registers: [registry],
  }),
  searchLag: new client.Histogram({
    name: 'replay_search_index_lag_seconds',
    help: 'From a window stitched onto a transcript to its words being searchable',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  }),
  alertMatches: new client.Counter({ name: 'replay_alert_matches_total', help: 'New matches of saved searches', registers: [registry] }),
  whisperRtf: new client.Histogram({
    name: 'replay_whisper_real_time_factor',
    help: 'whisper.cpp run time divided by the audio it transcribed, per window',
    buckets: [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
    registers: [registry],
  }),
};

/** A gauge read when scraped (e.g. live events, from the catalog). */
export function gaugeFrom(name: string, help: string, read: () => Promise<number>): void {
  new client.Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });
}

/** A sample line with its labels written as the text format's grammar has them (BullMQ puts a space after each comma). */
function normalizeSample(line: string): string {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(.*)$/.exec(line);
  if (!m) return line;
  const labels = [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`);
  return `${m[1]}{${labels.join(',')}} ${m[3]}`;
}

/**
 * Joins Prometheus expositions (BullMQ exports one per queue, each with its
 * own HELP and TYPE lines) so that every metric family appears once, its
 * samples together, as the text format requires.
 */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      const name = meta ? meta[2] : /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
      if (!name) continue;
      let f = families.get(name);
      if (!f) families.set(name, (f = { head: [], samples: [] }));
      if (meta) {
        if (!f.head.some((h) => h.startsWith(`# ${meta[1]} `))) f.head.push(line);
      } else {
        f.samples.push(normalizeSample(line));
      }
    }
  }
  return [...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n') + '\n';
}

/** Everything this process measures, and the queues' depths, as Prometheus text. */
export async function exposition(queueTexts: () => Promise<string[]>): Promise<string> {
  const own = await registry.metrics();
  return own.trimEnd() + '\n' + mergeExpositions(await queueTexts());
}
