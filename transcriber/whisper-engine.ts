// Picks how the transcriber's windows are run (WHISPER_ENGINE): on
// long-lived whisper.cpp 1.9.1 servers that keep the model loaded (`server`,
// the default: about a third less CPU per audio second here, see README,
// Benchmarks), or a new whisper-node `main` process per window (`cli`, the
// early-2024 source). While the server binary is not built, `server` falls
// back to the CLI, saying so once. Either way a failed window throws.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/log.ts';
import { WhisperServerPool } from './whisper-server-pool.ts';
import { runWhisper, type WhisperRunOptions, type WhisperSegment } from './whisper.ts';

export interface WindowTranscriber {
  /** Transcribes one window; throws on every failure. */
  transcribe(opts: WhisperRunOptions): Promise<WhisperSegment[]>;
  /** Stops whatever it keeps running (the servers). */
  close(): Promise<void>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where scripts/build-whisper-server.sh puts whisper-server, unless WHISPER_SERVER_BIN says otherwise. */
export function whisperServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.WHISPER_SERVER_BIN || path.join(env.WHISPER_SERVER_BUILD_DIR || path.join(repoRoot, '.cache', 'whisper.cpp-1.9'), 'bin', 'whisper-server');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A new process per window: today's way before the server, and the fallback. */
export const cliTranscriber: WindowTranscriber = {
  transcribe: (opts) => runWhisper(opts),
  close: () => Promise.resolve(),
};

/** The transcriber the configuration asks for. `size`: windows at once (the transcriber's job concurrency). */
export function createWindowTranscriber(
  config: Pick<Config, 'whisperEngine' | 'whisperThreads'> & { concurrency: Pick<Config['concurrency'], 'transcriber'> },
  log?: Pick<Logger, 'warn'>,
  env: NodeJS.ProcessEnv = process.env,
): WindowTranscriber {
  if (config.whisperEngine === 'cli') return cliTranscriber;
  const binary = whisperServerBinary(env);
  let pool: WhisperServerPool | undefined;
  let warned = false;
  return {
    transcribe(opts) {
      if (!isExecutable(binary)) {
        if (!warned) log?.warn('whisper-server not built: transcribing with a process per window', { binary, fix: 'bash scripts/build-whisper-server.sh' });
        warned = true;
        return runWhisper(opts);
      }
      pool ??= new WhisperServerPool({ binary, size: config.concurrency.transcriber, threads: config.whisperThreads });
      return pool.transcribe(opts);
    },
    close: async () => {
      await pool?.close();
    },
  };
}
