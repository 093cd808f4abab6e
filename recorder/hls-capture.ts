// Captures an HLS source segment by segment: each media segment the reader
// hands on is rewritten on its own as MPEG-TS carrying its audio alone (the
// source's frames and timestamps kept, so neighbouring segments still decode
// as one stream) and archived under its media sequence. AAC in MPEG-TS, what
// live HLS nearly always is, is read and written in-process (ts-audio.ts,
// ts-mux.ts): no process per segment, which is what lets one machine record
// a thousand sources. Anything else (fMP4, packed audio, other codecs, a
// segment that reader refuses) is remuxed by ffmpeg as a stream copy. Nothing depends on how this process cut
// the stream, so whoever records the event next (after a restart, a
// failover, or beside us) continues at the next media sequence, and a
// sequence fetched twice is archived once.
import fs from 'node:fs';
import path from 'node:path';
import { ffmpegBuffers, probeAudio } from '../shared/ffmpeg.ts';
import type { Logger } from '../shared/log.ts';
import type { Archiver } from './archiver.ts';
import type { FeedItem } from './hls-reader.ts';
import type { MediaPosition } from './segment-placement.ts';
import { looksLikeTs, readTsAudio, TsAudioUnsupported } from './ts-audio.ts';
import { muxAdtsToTs } from './ts-mux.ts';

export interface HlsCaptureDeps {
  eventId: string;
  /** Spool directory for segments on their way to the archive. */
  dir: string;
  archiver: Archiver;
  /** Holds what a source says it lost to the time that can really have passed. */
  boundLost: (lostSec: number) => number;
  log: Logger;
}

/** A remux that takes longer than this is a stuck ffmpeg, not a segment. */
const REMUX_TIMEOUT_MS = 60_000;

export class HlsCapture {
  private init?: Buffer;
  private epoch: number;
  private lostSec = 0;
  private discontinuity = false;
  private gapReason = 'source dropped';
  /** Why the last segment went to ffmpeg (logged when it changes, not once per segment). */
  private ffmpegReason?: string;

  /** `from`: the event's last archived segment, to carry on in its epoch. */
  constructor(
    private readonly deps: HlsCaptureDeps,
    from?: MediaPosition,
  ) {
    this.epoch = from?.epoch ?? 0;
    fs.mkdirSync(deps.dir, { recursive: true });
  }

  /** Takes one item of the reader's feed. Resolves true when it was audio handed to the archive. */
  async take(item: FeedItem): Promise<boolean> {
    if (item.type === 'break') {
      if (item.restart) this.epoch++;
      this.lostSec += item.lostSec;
      this.discontinuity = true;
      this.gapReason = item.reason;
      return false;
    }
    // An init section (fMP4): it goes in front of every segment that follows.
    if (item.seq === undefined) {
      this.init = item.data;
      return false;
    }
    const at = { epoch: this.epoch, mediaSeq: item.seq };
    const name = `${at.epoch ? `e${at.epoch}-` : ''}m${at.mediaSeq}.ts`;
    const durationSec = await this.rewrite(item.data, name).catch((err: Error) => {
      this.deps.log.warn('an HLS segment is not audio ffmpeg can read; it counts as lost', { seq: item.seq, err: err.message });
      return 0;
    });
    if (!durationSec) {
      fs.rmSync(path.join(this.deps.dir, name), { force: true });
      this.lostSec += item.durationSec ?? 0;
      this.discontinuity = true;
      this.gapReason = `segment ${item.seq} could not be read`;
      return false;
    }
    this.deps.archiver.submit({
      kind: 'segment',
      eventId: this.deps.eventId,
      dir: this.deps.dir,
      name,
      durationSec,
      ...at,
      lostSec: this.lostSec > 0 ? this.deps.boundLost(this.lostSec) : 0,
      discontinuity: this.discontinuity,
      gapReason: this.gapReason,
    });
    this.lostSec = 0;
    this.discontinuity = false;
    return true;
  }

  /** Writes a segment's audio as MPEG-TS in the spool, in-process when it can; returns its exact duration. */
  private async rewrite(data: Buffer, name: string): Promise<number> {
    if (!this.init && looksLikeTs(data)) {
      try {
        const audio = readTsAudio(data);
        await fs.promises.writeFile(path.join(this.deps.dir, name), muxAdtsToTs(audio.frames));
        this.ffmpegReason = undefined;
        return audio.durationSec;
      } catch (err) {
        if (!(err instanceof TsAudioUnsupported)) throw err;
        if (err.message !== this.ffmpegReason) this.deps.log.info('an HLS segment is remuxed by ffmpeg', { reason: err.message });
        this.ffmpegReason = err.message;
      }
    }
    return this.remux(data, name);
  }

  /** Remuxes a segment (behind its init section) to MPEG-TS in the spool with ffmpeg; returns its exact duration. */
  private async remux(data: Buffer, name: string): Promise<number> {
    const out = path.join(this.deps.dir, name);
    await ffmpegBuffers(['-loglevel', 'error', '-i', 'pipe:0', '-map', '0:a:0', '-c', 'copy', '-copyts', '-f', 'mpegts', '-y', out], {
      stdin: this.init ? [this.init, data] : [data],
      timeoutMs: REMUX_TIMEOUT_MS,
    });
    const probe = await probeAudio(out);
    return probe.packets > 0 ? probe.durationSec : 0;
  }
}
