// The `replay` command line.
//   replay start [--role R,...]       run the service (API, workers, embedded Redis), or some of its roles
//   replay record <url> --title T     create an event on the running service
//          [--reconnect-window S] [--wait]
//   replay end <eventId>              end an event
//   replay token                      print the API token kept in the data dir
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, parseRoles } from '../shared/config.ts';
import { loadApiToken } from '../shared/http.ts';
import { log } from '../shared/log.ts';
import { runDemo } from './demo.ts';
import type { ApiErrorJson, EventJson, EventUrlsJson } from './event-json.ts';
import { startService } from './service.ts';

const USAGE = `usage:
  replay start [--demo] [--role api,recorder,transcoder,transcriber,publisher]
  replay record <source-url | push> --title "Title" [--host NAME] [--reconnect-window SEC] [--wait]
  replay end <event-id>
  replay token

environment: see README (PORT, HOST, REPLAY_DATA_DIR, REDIS_URL, STORAGE, S3_*, REPLAY_API_TOKEN, REPLAY_URL ...)`;

function fail(msg: string, code = 2): never {
  process.stderr.write(`replay: ${msg}\n`);
  process.exit(code);
}

async function cmdStart(args: string[]) {
  const { values } = parseArgs({ args, options: { demo: { type: 'boolean' }, role: { type: 'string' } } });
  const config = loadConfig();
  if (values.role !== undefined) config.roles = parseRoles(values.role, '--role');
  const svc = await startService(config, log);
  process.stdout.write(`replay is running at ${svc.url} (${config.roles.length === 5 ? 'all roles' : `roles: ${config.roles.join(', ')}`})\n`);
  if (svc.tokenCreated) {
    process.stdout.write(`API token (shown once; kept in ${config.dataDir}/api-token): ${svc.token}\n`);
  }
  if (values.demo) {
    const print = (s: string) => process.stdout.write(s + '\n');
    runDemo({ url: svc.url, token: svc.token, dataDir: config.dataDir, log, print }).then(
      (ev) => {
        if (ev.status === 'published')
          print(`\ndemo: published.\n${publishedSummary(ev)}\nOpen the replay page: ${ev.urls?.page}\n(the service keeps running; Ctrl-C stops it)`);
        else print(`demo: the event failed: ${ev.error}`);
      },
      (e: Error) => print(`demo failed: ${e.message}`),
    );
  }
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: shutting down (live events resume on the next start)`);
    const force = setTimeout(() => process.exit(1), 20_000);
    await svc.close().catch((e: Error) => log.error('shutdown error', { err: e.message }));
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function serviceUrl(): string {
  return (process.env.REPLAY_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

function apiToken(): string {
  if (process.env.REPLAY_API_TOKEN) return process.env.REPLAY_API_TOKEN;
  const config = loadConfig();
  return loadApiToken(config.dataDir).token;
}

/** Calls the events API; every route the CLI calls answers with an event. */
async function api(method: string, path: string, body?: unknown): Promise<EventJson> {
  let res: Response;
  try {
    res = await fetch(serviceUrl() + path, {
      method,
      headers: { authorization: `Bearer ${apiToken()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    fail(`cannot reach the service at ${serviceUrl()}: start it with \`replay start\` or set REPLAY_URL`, 1);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text };
  }
  if (!res.ok) {
    const err = json as ApiErrorJson;
    fail(`${method} ${path}: HTTP ${res.status}: ${err.error ?? text}${err.field ? ` (field: ${err.field})` : ''}`, 1);
  }
  return json as EventJson;
}

function progressLine(ev: EventJson): string {
  const parts = [`${ev.status}`, `captured ${Number(ev.capturedSec).toFixed(1)} s`, `archived ${Number(ev.archivedSec).toFixed(1)} s`];
  for (const k of ['transcodedSec', 'transcribedSec'] as const) if (ev[k] !== undefined) parts.push(`${k.replace('Sec', '')} ${Number(ev[k]).toFixed(1)} s`);
  if (ev.transcript?.status) parts.push(`transcript ${ev.transcript.status}`);
  if (ev.gaps?.length) parts.push(`gaps ${ev.gaps.length}`);
  return parts.join(' | ');
}

/** The replay page and file URLs of a published event, for people. */
export function publishedSummary(ev: EventJson): string {
  const u: EventUrlsJson = ev.urls ?? {};
  const lines = [
    `published in ${((ev.publishLatencyMs ?? 0) / 1000).toFixed(1)} s after the end`,
    `replay page: ${u.page}`,
    `audio:       ${u.audio}`,
    `hls:         ${u.hls}`,
    `manifest:    ${u.manifest}`,
  ];
  if (u.transcript) for (const [k, v] of Object.entries(u.transcript)) lines.push(`transcript ${k.padEnd(4)} ${v}`);
  return lines.join('\n') + '\n';
}

/** The body of POST /api/events. */
interface NewEventBody {
  title: string;
  host?: string;
  source: { type: 'push' } | { url: string };
  reconnectWindowSec?: number;
}

async function cmdRecord(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { title: { type: 'string' }, host: { type: 'string' }, wait: { type: 'boolean' }, 'reconnect-window': { type: 'string' } },
  });
  const url = positionals[0];
  if (!url) fail('record needs a source URL (or "push"): replay record <url> --title "Title"');
  if (!values.title) fail('record needs --title "Title"');
  const body: NewEventBody = { title: values.title, host: values.host, source: url === 'push' ? { type: 'push' } : { url } };
  if (values['reconnect-window'] !== undefined) {
    const n = Number(values['reconnect-window']);
    if (!Number.isInteger(n)) fail('--reconnect-window takes whole seconds, 0 to 1800');
    body.reconnectWindowSec = n;
  }
  const ev = await api('POST', '/api/events', body);
  process.stderr.write(`event ${ev.id} created (${ev.slug})\n`);
  if (ev.ingest) process.stderr.write(`push to: ${ev.ingest.url}  stream key: ${ev.ingest.key}\n`);
  if (!values.wait) {
    process.stdout.write(JSON.stringify(ev, null, 2) + '\n');
    return;
  }
  const tty = process.stderr.isTTY;
  let last = '';
  for (;;) {
    const cur = await api('GET', `/api/events/${ev.id}`);
    const line = progressLine(cur);
    if (line !== last) {
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (cur.status === 'published' || cur.status === 'failed') {
      if (tty) process.stderr.write('\n');
      process.stdout.write(JSON.stringify(cur, null, 2) + '\n');
      if (cur.status === 'published') process.stderr.write(publishedSummary(cur));
      process.exit(cur.status === 'failed' ? 1 : 0);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    switch (cmd) {
      case 'start':
        return await cmdStart(rest);
      case 'record':
        return await cmdRecord(rest);
      case 'end':
        if (!rest[0]) fail('end needs an event id');
        process.stdout.write(JSON.stringify(await api('POST', `/api/events/${encodeURIComponent(rest[0])}/end`), null, 2) + '\n');
        return;
      case 'token':
        process.stdout.write(apiToken() + '\n');
        return;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return;
      default:
        fail(`unknown command "${cmd}"\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof ConfigError) fail(`configuration: ${e.message}`);
    fail((e as Error).message, 1);
  }
}

await main();
