// One event's capture, from the first connection to the end: reconnects with
// backoff, places every capture session on the event timeline, records the
// spans it could not capture as gaps, and recovers what a crashed predecessor
// left in the spool (or, when it ran on another machine, the copy of its
// unsealed chunk it kept in storage: tail-mirror.ts).
//
// Timeline rule: a session starts where the previous one ended plus the time
// that was lost in between, the wall-clock time between the last byte
// received and the first byte of the new session. HLS is not cut into
// sessions: each media segment is archived under its media sequence and placed
// after the one before it, the loss known in media time (hls-capture.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/log.ts';
import { withTimeout, type Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { spoolName, type Archiver } from './archiver.ts';
import { HlsCapture } from './hls-capture.ts';
import { sleep, type HlsState } from './hls-reader.ts';
import { NoPusherError, type PushSource } from './push-source.ts';
import { Segmenter, unlistedChunks } from './segmenter.ts';
import { describeSourceError } from './source-errors.ts';
import { mediaPositionOf } from './segment-placement.ts';
import { chunkFiles, readSealedList, removeSessionDirIfDone, removeSpooled, sessionDir } from './spool.ts';
import type { Feed, PullSource } from './sources.ts';
import type { CaptureStore } from './store.ts';
import { dropTails, fetchTails, TailMirror } from './tail-mirror.ts';

export interface RecordingDeps {
  onLifecycle?: (type: 'event.ended', eventId: string) => void;
  catalog: EventCatalog;
  capture: CaptureStore;
  archiver: Archiver;
  /** Where the chunk being written is copied every second (tail-mirror.ts). */
  storage: Storage;
  queues: Queues;
  config: Config;
  log: Logger;
  spoolRoot: string;
  /**
   * 'replica': one of the extra recorders of a redundant HLS capture
   * (replica-leases.ts). It archives segments like the primary but leaves the
   * event's end to the primary, until it is promoted to take its place.
   */
  role?: 'primary' | 'replica';
}

interface ActiveSession {
  no: number;
  timelineStartSec: number;
  sealedSec: number;
  dir: string;
  seg: Segmenter;
  mirror: TailMirror;
}

const MIN_GAP_SEC = 0.05;
/**
 * How far behind the live edge a recorder can have been when a source
 * dropped: what a live source says was lost can exceed the wall-clock time
 * that passed by at most this much (a playlist claiming a million lost
 * segments gets the seconds that really passed).
 */
export const MAX_SOURCE_BACKLOG_SEC = 60;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2000;

export class Recording {
  readonly done: Promise<void>;
  private abort = new AbortController();
  private mode: 'run' | 'end' | 'suspend' = 'run';
  private session?: ActiveSession;
  private timelineEnd = 0;
  private hasAudio = false;
  private lastAudioWall = 0;
  /** Media time known to be lost before the next session (HLS); undefined: measure by wall clock. */
  private pendingLostSec?: number;
  private gapReason = 'source dropped';
  /** Why the event ends when it is ended from inside (a limit), instead of 'ended by request'. */
  private endReason?: string;
  /** The HLS segment capture, once the source turned out to be HLS. */
  private hls?: HlsCapture;
  private role: 'primary' | 'replica';
  /** A replica whose source turned out not to be HLS: only the primary can record it. */
  private notHls = false;
  private log: Logger;

  constructor(
    private readonly event: EventRow,
    private readonly source: PullSource | PushSource,
    private readonly deps: RecordingDeps,
  ) {
    this.log = deps.log.child(event.id);
    this.role = deps.role ?? 'primary';
    this.done = this.run().catch(async (err) => {
      const reason = `recorder error: ${describeSourceError(err, this.sourceUrl)}`;
      this.log.error('recording crashed', { err: reason });
      await deps.catalog.transition(event.id, 'failed', { error: reason }).catch(() => {});
    });
  }

  private get sourceUrl(): string | undefined {
    return 'url' in this.event.source ? this.event.source.url : undefined;
  }

  /** Graceful end: the last partial chunk is flushed and archived, then the event is ended. */
  end(): Promise<void> {
    if (this.mode === 'run') this.mode = 'end';
    this.abort.abort();
    return this.done;
  }

  /** How the recording stopped: the event ended, or it was let go while live (shutdown, handover, lost lease). */
  get outcome(): 'ended' | 'suspended' | 'running' | 'not-hls' {
    if (this.notHls) return 'not-hls';
    return this.mode === 'suspend' ? 'suspended' : this.mode === 'end' ? 'ended' : 'running';
  }

  /** A replica takes the primary's place (its process died): from now on this recording ends the event. */
  promote(): void {
    this.role = 'primary';
  }

  /** When the last audio arrived (where a wall-clock gap starts for whoever records next). */
  lastAudioAt(): string | null {
    return this.lastAudioWall ? new Date(this.lastAudioWall).toISOString() : null;
  }

  /** Service shutdown or handover: flush and archive, but leave the event live so another run resumes it. */
  suspend(): Promise<void> {
    if (this.mode === 'run') this.mode = 'suspend';
    this.abort.abort();
    return this.done;
  }

  private get isPush(): boolean {
    return 'offer' in this.source;
  }

  /** Ends the event from inside, with the reason it shows (a limit was reached). */
  private endWith(reason: string): void {
    if (this.mode !== 'run') return;
    this.endReason = reason;
    this.mode = 'end';
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const maxSec = this.deps.config.limits.maxEventSec;
    const lengthTimer = setTimeout(
      () => this.endWith(`reached the maximum event length (${maxSec} s, REPLAY_MAX_EVENT_SEC)`),
      Math.max(0, Date.parse(this.event.createdAt) + maxSec * 1000 - Date.now()),
    );
    try {
      await this.record();
    } finally {
      clearTimeout(lengthTimer);
    }
  }

  private async record(): Promise<void> {
    // A replica records beside the primary: the spool and the sessions are the primary's to recover.
    if (this.role === 'primary') await this.recoverSpool();
    const windowMs = this.event.reconnectWindowSec * 1000;
    let dropAt = Date.now();
    let backoff = FIRST_BACKOFF_MS;
    let lastError = '';
    let finalEnd = false;
    while (this.mode === 'run') {
      const attempt = new AbortController();
      const stop = () => attempt.abort();
      this.abort.signal.addEventListener('abort', stop, { once: true });
      // A pusher may reconnect until the window closes; before any audio it may take its time.
      const remaining = windowMs - (Date.now() - dropAt);
      const timer = this.isPush && this.hasAudio ? setTimeout(stop, Math.max(0, remaining)) : undefined;
      let gotData: boolean;
      try {
        const feed = await this.source.connect(attempt.signal);
        clearTimeout(timer);
        const r = await this.consume(feed);
        gotData = r.gotData;
        finalEnd = r.finalEnd;
      } catch (err) {
        // Waiting in vain for a pusher says less than why the last one was lost: keep that.
        if (this.mode === 'run' && !(err instanceof NoPusherError && lastError))
          lastError = describeSourceError(err instanceof FeedError ? err.inner : err, this.sourceUrl);
        gotData = err instanceof FeedError && err.gotData;
      } finally {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', stop);
      }
      if (this.mode !== 'run' || finalEnd) break;
      if (!this.mediaTimed()) await this.closeSession();
      if (gotData) {
        dropAt = this.lastAudioWall || Date.now();
        backoff = FIRST_BACKOFF_MS;
        this.log.warn('source dropped; reconnecting', { windowSec: this.event.reconnectWindowSec, err: lastError || undefined });
      }
      const waitedOut = Date.now() - dropAt >= windowMs && !(this.isPush && !this.hasAudio);
      if (waitedOut) break;
      if (!this.isPush) {
        await sleep(Math.min(backoff, Math.max(0, windowMs - (Date.now() - dropAt))), this.abort.signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    await this.closeSession();
    await this.deps.archiver.drain(this.event.id);
    fs.rmSync(path.join(this.deps.spoolRoot, this.event.id), { recursive: true, force: true });
    if (this.mode === 'suspend' || this.role === 'replica') return;
    const reason =
      this.mode === 'end'
        ? (this.endReason ?? 'ended by request')
        : finalEnd
          ? 'source ended'
          : `source gone for ${this.event.reconnectWindowSec} s${lastError ? `: ${lastError}` : ''}`;
    await this.finishEvent(reason);
  }

  private async finishEvent(reason: string): Promise<void> {
    const { catalog } = this.deps;
    if (await catalog.transition(this.event.id, 'ended', { reason })) this.deps.onLifecycle?.('event.ended', this.event.id);
    // (Audio archived by another recorder, a replica or a predecessor, counts.)
    if (!this.hasAudio && !(await catalog.getEvent(this.event.id))?.chunkCount) {
      const error = `no audio was captured (${reason})`;
      await catalog.transition(this.event.id, 'failed', { error });
      await catalog.addFailure({ eventId: this.event.id, stage: 'recorder', startSec: null, endSec: null, reason: error });
    }
    this.log.info('event ended', { reason, capturedSec: ((await catalog.getEvent(this.event.id))?.capturedSec ?? 0).toFixed(3) });
    await enqueueEnded(this.deps, this.event.id).catch(() => {});
  }

  /** HLS keeps its media clock across reconnects: its session can stay open while we re-join. */
  private mediaTimed(): boolean {
    return !!(this.source as PullSource).hlsState?.();
  }

  private async consume(feed: Feed): Promise<{ gotData: boolean; finalEnd: boolean }> {
    if (this.role === 'replica' && !(feed.kind === 'bytes' && this.mediaTimed())) {
      // Only HLS says which media sequence a recorder has: two copies of any other stream cannot be told apart.
      if (feed.kind === 'bytes') feed.close();
      this.notHls = true;
      this.mode = 'end';
      return { gotData: false, finalEnd: true };
    }
    if (feed.kind === 'url') {
      const s = await this.openSession({ kind: 'url', url: feed.url, inputOptions: feed.inputOptions });
      const stopOnAbort = () => s.seg.stop();
      this.abort.signal.addEventListener('abort', stopOnAbort, { once: true });
      const r = await s.seg.done;
      this.abort.signal.removeEventListener('abort', stopOnAbort);
      const gotData = s.sealedSec > 0;
      this.lastAudioWall = Date.now();
      await this.closeSession();
      if (r.error && !gotData) throw r.error;
      return { gotData, finalEnd: feed.endsAtEof && !r.error && !this.abort.signal.aborted };
    }
    let gotData = false;
    const onAbort = () => feed.close();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const item of feed.items) {
        if (this.mode !== 'run') break;
        if (this.mediaTimed()) {
          if (await (await this.hlsCapture()).take(item)) {
            gotData = true;
            this.hasAudio = true;
            this.lastAudioWall = Date.now();
          }
          continue;
        }
        if (item.type === 'break') {
          await this.closeSession();
          this.pendingLostSec = (this.pendingLostSec ?? 0) + item.lostSec;
          this.gapReason = item.reason;
          continue;
        }
        const s = this.session ?? (await this.openSession({ kind: 'stdin' }));
        const stdin = s.seg.stdin!;
        if (!s.seg.dead && !stdin.write(item.data)) await waitDrain(stdin, this.abort.signal, s.seg.exited);
        if (s.seg.dead) {
          // ffmpeg quit on what it was given: this connection's bytes cannot be recorded.
          const reason = describeSourceError((await s.seg.done).error ?? new Error('the segmenter stopped'), this.sourceUrl);
          feed.close(reason);
          throw new Error(reason);
        }
        gotData = true;
        this.lastAudioWall = Date.now();
      }
    } catch (err) {
      throw new FeedError(err, gotData);
    } finally {
      this.abort.signal.removeEventListener('abort', onAbort);
    }
    const hls = (this.source as PullSource).hlsState?.();
    return { gotData, finalEnd: !!hls && !this.abort.signal.aborted };
  }

  private async openSession(input: { kind: 'stdin' } | { kind: 'url'; url: string; inputOptions: string[] }): Promise<ActiveSession> {
    const { catalog, capture, config, archiver, storage } = this.deps;
    let gap = 0;
    if (this.hasAudio) {
      const sinceAudio = Math.max(0, (Date.now() - this.lastAudioWall) / 1000);
      // What a source claims was lost is held to the time that really passed (plus how far behind live it could have been).
      if (this.pendingLostSec !== undefined) gap = Math.min(this.pendingLostSec, sinceAudio + MAX_SOURCE_BACKLOG_SEC);
      else gap = this.mediaTimed() ? 0 : sinceAudio;
    }
    const start = this.timelineEnd + gap;
    if (gap >= MIN_GAP_SEC) {
      await catalog.addGap({ eventId: this.event.id, startSec: this.timelineEnd, endSec: start, reason: this.gapReason });
      this.log.warn('gap recorded', { startSec: this.timelineEnd.toFixed(3), endSec: start.toFixed(3), reason: this.gapReason });
    }
    this.pendingLostSec = undefined;
    this.gapReason = 'source dropped';
    const row = await capture.openSession(this.event.id, start);
    const dir = sessionDir(this.deps.spoolRoot, this.event.id, row.no);
    const session: ActiveSession = {
      no: row.no,
      timelineStartSec: start,
      sealedSec: 0,
      dir,
      seg: new Segmenter({
        dir,
        chunkSec: config.chunkSec,
        input,
        log: this.log,
        onSealed: (e) => {
          archiver.submit({ eventId: this.event.id, sessionNo: row.no, dir, name: e.name, startSec: start + session.sealedSec, durationSec: e.durationSec });
          session.sealedSec += e.durationSec;
          this.hasAudio = true;
        },
      }),
      mirror: new TailMirror({ storage, eventId: this.event.id, sessionNo: row.no, dir, log: this.log }),
    };
    session.seg.pid.then((pid) => (pid > 0 ? capture.setSessionPid(this.event.id, row.no, pid) : undefined)).catch(() => {});
    this.session = session;
    return session;
  }

  private async closeSession(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    s.seg.stop();
    await s.seg.done;
    await s.mirror.close();
    this.timelineEnd = s.timelineStartSec + s.sealedSec;
    await this.deps.capture.closeSession(this.event.id, s.no);
  }

  /** The HLS capture, started after the event's last archived segment. */
  private async hlsCapture(): Promise<HlsCapture> {
    if (this.hls) return this.hls;
    const last = await this.deps.capture.lastChunk(this.event.id);
    this.hls = new HlsCapture(
      {
        eventId: this.event.id,
        dir: path.join(this.deps.spoolRoot, this.event.id, 'hls'),
        archiver: this.deps.archiver,
        // What a source claims was lost is held to the time that really passed (plus how far behind live it could have been).
        boundLost: (lostSec) => (this.lastAudioWall ? Math.min(lostSec, (Date.now() - this.lastAudioWall) / 1000 + MAX_SOURCE_BACKLOG_SEC) : lostSec),
        log: this.log,
      },
      last && mediaPositionOf(last.spoolName),
    );
    return this.hls;
  }

  /** Archives a session's chunks left in this machine's spool (sealed and torn), from the session's start. */
  private async archiveSpooled(sessionNo: number, dir: string, startSec: number): Promise<{ off: number; count: number }> {
    const entries = [...readSealedList(dir), ...(await unlistedChunks(dir))];
    let off = 0;
    for (const e of entries) {
      this.deps.archiver.submit({ eventId: this.event.id, sessionNo, dir, name: e.name, startSec: startSec + off, durationSec: e.durationSec });
      off += e.durationSec;
    }
    return { off, count: entries.length };
  }

  /**
   * Archives the copies of another machine's spool: the chunks after the
   * session's last archived one, each as far as it was copied, placed after
   * it (a copy of a chunk that is archived already is dropped).
   */
  private async archiveRestored(
    sessionNo: number,
    dir: string,
    archived: { spoolName: string; startSec: number; durationSec: number }[],
    sessionStartSec: number,
  ): Promise<{ off: number; count: number }> {
    const last = archived[archived.length - 1];
    let at = last ? last.startSec + last.durationSec : sessionStartSec;
    let count = 0;
    for (const e of await unlistedChunks(dir)) {
      const known = archived.find((c) => c.spoolName === spoolName(sessionNo, e.name));
      if (known) {
        removeSpooled(dir, e.name);
        continue;
      }
      this.deps.archiver.submit({ eventId: this.event.id, sessionNo, dir, name: e.name, startSec: at, durationSec: e.durationSec });
      at += e.durationSec;
      count++;
    }
    return { off: at - sessionStartSec, count };
  }

  /**
   * Where an HLS source resumes: after the last media sequence archived (by
   * any recorder), so a takeover loses nothing the playlist still lists.
   * Events recorded by earlier versions resume after the segment they last
   * handed to their segmenter.
   */
  static async savedHlsState(capture: CaptureStore, eventId: string): Promise<HlsState | undefined> {
    const last = await capture.lastChunk(eventId);
    const at = last && mediaPositionOf(last.spoolName);
    if (at) return { lastSeq: at.mediaSeq, deliveredSec: 0 };
    const p = await capture.hlsState(eventId);
    return p ? { lastSeq: p.lastSeq, deliveredSec: p.deliveredSec } : undefined;
  }

  /**
   * Archives what a crashed or stopped predecessor left in the spool (sealed
   * chunks and the torn one), and sets where the timeline continues.
   */
  private async recoverSpool(): Promise<void> {
    const { capture, archiver } = this.deps;
    const hlsSaved = await capture.hlsState(this.event.id);
    for (const s of await capture.sessions(this.event.id)) {
      const dir = sessionDir(this.deps.spoolRoot, this.event.id, s.no);
      if (s.closedAt === null) {
        if (s.pid) await killOrphan(s.pid, dir);
        // Recorded on another machine (a failover): what its spool held is the copy it kept in storage.
        const restored = fs.existsSync(dir) ? undefined : await fetchTails(this.deps.storage, this.event.id, s.no, dir).catch(() => undefined);
        const fromCatalog = await capture.sessionChunks(this.event.id, s.no);
        const mtimes = chunkFiles(dir).map((f) => fs.statSync(path.join(dir, f)).mtimeMs);
        const { off, count } = restored
          ? await this.archiveRestored(s.no, dir, fromCatalog, s.timelineStartSec)
          : await this.archiveSpooled(s.no, dir, s.timelineStartSec);
        await capture.closeSession(this.event.id, s.no);
        const lastChunkAt = fromCatalog.length ? Date.parse(fromCatalog[fromCatalog.length - 1].createdAt) : 0;
        this.lastAudioWall = Math.max(this.lastAudioWall, lastChunkAt, ...(restored ? [restored.copiedAt] : mtimes));
        const end = Math.max(s.timelineStartSec + off, ...fromCatalog.map((c) => c.startSec + c.durationSec));
        this.timelineEnd = Math.max(this.timelineEnd, end);
        if (off > 0 || fromCatalog.length) this.hasAudio = true;
        // HLS: what was handed to the killed ffmpeg but never reached the disk is known in media time.
        if (hlsSaved?.sessionNo === s.no) this.pendingLostSec = Math.max(0, hlsSaved.deliveredSec - hlsSaved.baseSec - (end - s.timelineStartSec));
        this.gapReason = 'recorder restarted';
        if (restored) {
          const sessionNo = s.no;
          void archiver.drain(this.event.id).then(() => dropTails(this.deps.storage, this.event.id, sessionNo));
        }
        this.log.info('recovered spool after restart', { session: s.no, chunks: count, sessionSec: off.toFixed(3), fromStorage: !!restored });
      } else {
        removeSessionDirIfDone(dir);
      }
    }
    const ev = await this.deps.catalog.getEvent(this.event.id);
    this.timelineEnd = Math.max(this.timelineEnd, ev?.timelineSec ?? 0);
    if (ev?.chunkCount) this.hasAudio = true;
    // Recorded before by another process (handover, failover): the wall clock of its last audio.
    const { lastAudioAt } = await capture.lease(this.event.id);
    if (lastAudioAt) this.lastAudioWall = Math.max(this.lastAudioWall, Date.parse(lastAudioAt));
  }
}

/**
 * Enqueues the event's end for the transcoder, once (idempotent job id). The
 * message says how many chunks were archived, so the transcoder knows when it
 * has them all.
 */
export async function enqueueEnded(deps: { catalog: EventCatalog; capture: CaptureStore; queues: Queues }, eventId: string): Promise<void> {
  const ev = await deps.catalog.getEvent(eventId);
  if (!ev) return;
  await withTimeout(deps.queues.add('event-ended', { eventId, chunks: ev.chunkCount }), 3000, 'enqueue');
  await deps.capture.markEndEnqueued(eventId);
}

/** An error while reading a feed, saying whether any of its bytes had been written. */
class FeedError extends Error {
  constructor(
    readonly inner: unknown,
    readonly gotData: boolean,
  ) {
    super((inner as Error)?.message ?? String(inner));
  }
}

/** Waits until the segmenter takes more bytes, stops (exited), or the recording is aborted. */
function waitDrain(stream: NodeJS.WritableStream, signal: AbortSignal, exited: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      stream.off('drain', done);
      stream.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    signal.addEventListener('abort', done, { once: true });
    void exited.then(done);
  });
}

/** Kills an ffmpeg left running by a killed recorder (only if it is ours: ffmpeg writing into that spool dir). */
async function killOrphan(pid: number, dir: string): Promise<void> {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('ffmpeg') || !cmdline.includes(dir)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) await sleep(40);
}
