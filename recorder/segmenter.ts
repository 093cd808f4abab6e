// One capture session: an ffmpeg segment muxer that stream-copies the source
// audio (no re-encode) into sealed MPEG-TS chunks of fixed length in the spool.
// MPEG-TS is chosen because it carries any broadcast audio codec and a file
// torn by a crash stays readable up to its last whole packet.
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { probeAudio, startFfmpeg, type RunningFfmpeg } from '../shared/ffmpeg.ts';
import type { Logger } from '../shared/log.ts';
import { CHUNK_PATTERN, LIST_FILE, chunkFiles, readSealedList, type SealedEntry } from './spool.ts';

export type SegmenterInput = { kind: 'stdin' } | { kind: 'url'; url: string; inputOptions: string[] };

export interface SegmenterOptions {
  dir: string;
  chunkSec: number;
  input: SegmenterInput;
  /** Called once per sealed chunk, in order. */
  onSealed: (entry: SealedEntry) => void;
  log: Logger;
}

const POLL_MS = 300;

export class Segmenter {
  /** Where to write source bytes, for stdin input. */
  readonly stdin?: PassThrough;
  readonly pid: Promise<number>;
  /** Resolves after ffmpeg exited and every chunk it left was delivered; carries ffmpeg's error, if any. */
  readonly done: Promise<{ error?: Error }>;
  /** Resolves as soon as ffmpeg has exited (before its last chunks are delivered). */
  readonly exited: Promise<void>;
  private hasExited = false;
  private delivered = 0;
  private ff: RunningFfmpeg;
  private timer: NodeJS.Timeout;

  constructor(private readonly opts: SegmenterOptions) {
    fs.mkdirSync(opts.dir, { recursive: true });
    const input =
      opts.input.kind === 'stdin'
        ? { src: (this.stdin = new PassThrough({ highWaterMark: 1 << 20 })), options: ['-analyzeduration', '1000000', '-probesize', '262144'] }
        : { src: opts.input.url, options: opts.input.inputOptions };
    this.ff = startFfmpeg({
      globalOptions: ['-loglevel', 'error'],
      inputs: [input],
      output: path.join(opts.dir, CHUNK_PATTERN),
      outputOptions: [
        '-map',
        '0:a:0',
        '-c',
        'copy',
        '-f',
        'segment',
        '-segment_time',
        String(opts.chunkSec),
        '-segment_format',
        'mpegts',
        // Each packet reaches the chunk file as it is muxed (not 32 KB at a time): what a crash leaves in
        // the spool, and what the tail mirror copies, is everything received up to that moment.
        '-segment_format_options',
        'flush_packets=1',
        '-segment_list',
        path.join(opts.dir, LIST_FILE),
        '-segment_list_type',
        'csv',
      ],
    });
    this.pid = this.ff.pid;
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.exited = this.ff.done.then(
      () => {
        this.hasExited = true;
      },
      () => {
        this.hasExited = true;
      },
    );
    this.done = this.ff.done.then(
      () => this.finish(),
      (err: Error) => this.finish(err),
    );
  }

  /** True once ffmpeg has exited: bytes written to stdin now go nowhere. */
  get dead(): boolean {
    return this.hasExited;
  }

  /** Graceful stop: ffmpeg flushes the chunk it is writing and lists it. */
  stop(): void {
    if (this.stdin) this.stdin.end();
    else this.ff.kill('SIGINT');
  }

  kill(): void {
    this.ff.kill('SIGKILL');
  }

  private poll(): void {
    const list = readSealedList(this.opts.dir);
    while (this.delivered < list.length) this.opts.onSealed(list[this.delivered++]);
  }

  private async finish(error?: Error): Promise<{ error?: Error }> {
    clearInterval(this.timer);
    this.poll();
    // A chunk ffmpeg did not get to list (it was killed, or the input broke hard).
    for (const entry of await unlistedChunks(this.opts.dir)) {
      this.opts.onSealed(entry);
      this.delivered++;
    }
    return { error };
  }
}

/**
 * Chunk files in a session dir that list.csv does not name: probed packet by
 * packet for their exact duration. Empty or unreadable leftovers are removed.
 */
export async function unlistedChunks(dir: string): Promise<SealedEntry[]> {
  const listed = new Set(readSealedList(dir).map((e) => e.name));
  const out: SealedEntry[] = [];
  for (const name of chunkFiles(dir)) {
    if (listed.has(name)) continue;
    const file = path.join(dir, name);
    const probe = await probeAudio(file).catch(() => undefined);
    if (!probe || probe.packets === 0 || probe.durationSec <= 0) {
      fs.rmSync(file, { force: true });
      continue;
    }
    out.push({ name, durationSec: probe.durationSec });
  }
  return out;
}
