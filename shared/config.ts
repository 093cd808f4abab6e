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
}

export interface Config {
  host: string;
  port: number;
  /** Base URL the service is reached at, used for ingest and public URLs. */
  publicUrl: string;
  dataDir: string;
  /** Unset: an embedded redis-server child is started under dataDir. */
  redisUrl?: string;
  apiToken?: string;
  storage: 'fs' | 's3';
  s3: S3Config;
  chunkSec: number;
  defaultReconnectWindowSec: number;
  allowPrivateSources: boolean;
  whisperModel?: string;
  whisperLanguage: string;
  /**
   * whisper.cpp threads. Its threads spin while waiting, so more threads than
   * free cores slows it down badly: default one core less than the machine has.
   */
  whisperThreads: number;
  /** Word-level timings (whisper.cpp token timestamps): finer cue splitting, a little slower. */
  whisperWordTimestamps: boolean;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${raw} is not a number from ${min} to ${max}`);
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env[name] ?? '').toLowerCase());
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
  };
  if (storage === 's3' && !s3.bucket) throw new ConfigError('STORAGE=s3 needs S3_BUCKET');
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    host,
    port,
    publicUrl: (env.REPLAY_PUBLIC_URL || `http://${shownHost}:${port}`).replace(/\/+$/, ''),
    dataDir: path.resolve(env.REPLAY_DATA_DIR || './data'),
    redisUrl: env.REDIS_URL || undefined,
    apiToken: env.REPLAY_API_TOKEN || undefined,
    storage,
    s3,
    chunkSec: int(env, 'REPLAY_CHUNK_SEC', 6, 1, 60),
    defaultReconnectWindowSec: int(env, 'REPLAY_RECONNECT_WINDOW_SEC', 60, 0, 1800),
    allowPrivateSources: bool(env, 'REPLAY_ALLOW_PRIVATE_SOURCES'),
    whisperModel: env.WHISPER_MODEL || undefined,
    whisperLanguage: env.WHISPER_LANGUAGE || 'en',
    whisperWordTimestamps: bool(env, 'WHISPER_WORD_TIMESTAMPS'),
    whisperThreads: int(env, 'WHISPER_THREADS', Math.max(1, Math.min(4, os.availableParallelism() - 1)), 1, 64),
  };
}
