// The source side of bench/publish.ts: an ffmpeg encoder generating AAC (ADTS)
// as fast as it can, and a pacer between it and the ingest request that lets
// whole ADTS frames through at most `speed` times faster than real time while
// counting exactly how much audio went out (frames x 1024 / sample rate: the
// duration a decoder sees, which is what the recorder should capture). The
// caller may also hold the feed (`hold = true`) while the service's pipeline
// is too far behind: it then goes on at real time (a live source never
// stops), the encoder waiting by back-pressure.
import { spawn, type ChildProcess } from 'node:child_process';
import { Transform, type TransformCallback } from 'node:stream';

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Counts ADTS frames as they pass and holds them back, frame by frame, so audio time / wall time stays <= speed. */
export class AdtsPacer extends Transform {
  frames = 0;
  samples = 0;
  bytes = 0;
  sampleRate = 0;
  startedAt = 0;
  finishedAt = 0;
  /** Set by the caller to slow the feed to real time (the pipeline is behind). */
  hold = false;
  /** Wall time spent held (fed at real time only), in ms. */
  heldMs = 0;
  private allowedSec = 0;
  private lastTick = 0;
  private carry = Buffer.alloc(0);

  constructor(private readonly speed: number) {
    super();
  }

  /** Audio seconds let through so far. */
  get audioSec(): number {
    return this.sampleRate ? this.samples / this.sampleRate : 0;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.startedAt) this.startedAt = performance.now();
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    // The whole ADTS frames in this chunk, each with its samples.
    const frames: { data: Buffer; blocks: number }[] = [];
    let off = 0;
    while (buf.length - off >= 7) {
      if (buf[off] !== 0xff || (buf[off + 1] & 0xf6) !== 0xf0) {
        cb(new Error(`ADTS sync lost at byte ${this.bytes + off}`));
        return;
      }
      const len = ((buf[off + 3] & 0x03) << 11) | (buf[off + 4] << 3) | (buf[off + 5] >> 5);
      if (len < 7) {
        cb(new Error(`bad ADTS frame length ${len}`));
        return;
      }
      if (buf.length - off < len) break;
      this.sampleRate ||= ADTS_RATES[(buf[off + 2] >> 2) & 0x0f];
      frames.push({ data: buf.subarray(off, off + len), blocks: (buf[off + 6] & 0x03) + 1 });
      off += len;
    }
    this.carry = Buffer.from(buf.subarray(off));
    // Frame by frame, as a live encoder sends them: each goes out once the pace allows its end (an encoder's
    // pipe delivers seconds of audio at once, which sent whole would reach the ingest late by up to their length).
    let next = 0;
    const gate = () => {
      // Audio allowed out so far: `speed` seconds per wall second, but only 1 while held (a live source slows
      // to real time and never stops: the ingest drops a pusher silent for REPLAY_PUSH_IDLE_SEC).
      const now = performance.now();
      if (!this.lastTick) this.lastTick = now;
      const wallSec = (now - this.lastTick) / 1000;
      if (this.hold) this.heldMs += now - this.lastTick;
      this.allowedSec += wallSec * (this.hold ? 1 : this.speed);
      this.lastTick = now;
      const out: Buffer[] = [];
      while (next < frames.length && (this.samples + frames[next].blocks * 1024) / this.sampleRate - this.allowedSec <= 0.005) {
        const f = frames[next++];
        out.push(f.data);
        this.frames += f.blocks;
        this.samples += f.blocks * 1024;
        this.bytes += f.data.length;
      }
      if (out.length) this.push(Buffer.concat(out));
      if (next === frames.length) return cb();
      const aheadSec = (this.samples + frames[next].blocks * 1024) / this.sampleRate - this.allowedSec;
      setTimeout(gate, Math.min(100, Math.max(1, (aheadSec / (this.hold ? 1 : this.speed)) * 1000)));
    };
    gate();
  }

  override _flush(cb: TransformCallback): void {
    this.finishedAt = performance.now();
    cb(this.carry.length ? new Error(`${this.carry.length} trailing bytes are not a whole ADTS frame`) : null);
  }

  /** Achieved speed-up: audio seconds per wall second. */
  get achievedSpeed(): number {
    const end = this.finishedAt || performance.now();
    return this.startedAt ? this.audioSec / ((end - this.startedAt) / 1000) : 0;
  }
}

/**
 * An encoder like a live mixer's, minus -re: a 220 Hz tone with a quieter
 * 330 Hz one under a slow tremolo that leaves near-quiet dips every 4 s
 * (where the transcriber may cut its windows); AAC 64 kb/s mono 48 kHz in
 * ADTS on stdout. No noise: with the random-weight model, noisy windows more
 * often send whisper.cpp into temperature-fallback decoding (10-75 s for one
 * 30 s window instead of ~2 s), which would make the transcriber's cost, not
 * the publisher's, the thing this benchmark measures.
 */
export function startToneEncoder(durationSec: number): ChildProcess {
  const d = durationSec;
  const graph =
    `sine=frequency=220:sample_rate=48000:duration=${d}[a];` +
    `sine=frequency=330:sample_rate=48000:duration=${d},volume=0.5[b];` +
    `[a][b]amix=inputs=2:duration=shortest:normalize=0,volume=0.4,tremolo=f=0.25:d=0.9[out0]`;
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', graph, '-ac', '1', '-c:a', 'aac', '-b:a', '64k', '-f', 'adts', 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
