// The transcoder library: turns archived source chunks, as they arrive, into
// the listener rendition (fMP4 HLS, gapless by construction), 16 kHz PCM for
// the transcriber, and the waveform and loudness measurements.
//
// Flow for one event (all steps idempotent, see state.ts):
//   ingestChunk     decode a chunk seamlessly to its 48 kHz timeline piece
//                   (decode.ts) and store it at private/events/<id>/work/pcm48/<seq>.f32
//   buildReady      make every segment whose timeline is known through its end
//                   + 2 frames (live), or every remaining segment (final):
//                   assemble PCM from the pieces (silence in gaps), encode with
//                   pre/post-roll (encode.ts), measure (analysis.ts), upload the
//                   segment and its 16 kHz PCM, then record it
//   publishPlaylist upload the playlist listing the playable prefix (and,
//                   live, the parts at its edge: live-parts.ts), only after
//                   its segments were uploaded and recorded
//   packM4aParts    upload every full run of segments as a part of
//                   audio.m4a (progressive-m4a.ts)
//   packMeasureRuns merge every full run of segments' waveform and loudness
//                   into one row (measure-runs.ts)
//   finalize        fix the length, make the last segment(s), ENDLIST, join
//                   audio.m4a, merge the runs' and the last segments'
//                   measurements, drop the work PCM
import crypto from 'node:crypto';
import type { EventCatalog } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import type { PcmReadyJob } from '../shared/queues.ts';
import { NotFoundError, type Storage } from '../shared/storage/storage.ts';
import {
  combineLoudness,
  decimateForAsr,
  loudnessOf,
  mergePeaks,
  peaksOf,
  silentLoudness,
  silentPeaks,
  type LoudnessPart,
  type LoudnessSummary,
  type PeaksJson,
  type PeaksPart,
} from './analysis.ts';
import { contiguous, decodePiece, f32, f32Bytes, probeChunk, runPosition, type ChunkRef, type SourceFormat } from './decode.ts';
import { encodeSegment, encodeSilentSegment, renditionInit } from './encode.ts';
import { ASR_DECIMATION, ASR_RATE, FRAME, HOLD_BACK, POST_ROLL, PRE_ROLL, RATE, SEGMENT_FRAMES, secToSample, totalFramesFor } from './grid.ts';
import { renderPlaylist, type PlaylistPart } from './playlist.ts';
import { RUN_SEGMENTS } from './measure-runs.ts';
import { finishM4a, resetM4a, type M4aResult } from './progressive-m4a.ts';
import { writeRenditionFiles } from './rendition-files.ts';
import { TranscoderState, type TranscodedChunk } from './state.ts';
import { stepTimer } from '../shared/step-timer.ts';
import { allOrFirstError } from '../shared/settled.ts';
import { inBatches } from '../shared/batches.ts';

export interface TranscoderDeps {
  catalog: EventCatalog;
  state: TranscoderState;
  storage: Storage;
  config?: Config;
  log: Logger;
  /**
   * Called once per finished segment with its 16 kHz PCM (e.g. to enqueue a
   * pcm-ready job). A segment counts as handed over only when this resolves;
   * one that was not is offered again by the next job of the event.
   */
  onPcmReady?: (job: PcmReadyJob) => Promise<void>;
  /** Segment bytes per part of audio.m4a (progressive-m4a.ts; tests set it small). */
  m4aPartBytes?: number;
}

/** Storage layout of the transcoder's objects (the published ones as in shared/layout.ts). */
export const transcoderKeys = {
  init: keys.hlsInit,
  segment: keys.hlsSegment,
  playlist: keys.hlsPlaylist,
  peaks: keys.peaks,
  loudness: keys.loudness,
  /** 48 kHz mono f32le timeline piece of one source chunk (work data, deleted once no segment needs it). */
  pcm48: (eventId: string, seq: number) => keys.work(eventId, `pcm48/${seq}.f32`),
  /** 16 kHz mono s16le of one rendition segment, for the transcriber. */
  pcm16: (eventId: string, k: number) => keys.work(eventId, `pcm16/seg-${k}.s16le`),
};

export const CACHE = {
  immutable: CACHE_CONTROL.immutable,
  livePlaylist: CACHE_CONTROL.livePlaylist,
  finalPlaylist: CACHE_CONTROL.short,
  final: CACHE_CONTROL.short,
  work: CACHE_CONTROL.private,
};

const TYPES = {
  playlist: 'application/vnd.apple.mpegurl',
  mp4: 'audio/mp4',
  json: 'application/json',
  raw: 'application/octet-stream',
};

// ---- per-event serialization inside one process

const locks = new Map<string, Promise<unknown>>();

/** Runs fn after every earlier fn of the same event in this process has settled. */
export function withEventLock<T>(eventId: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(eventId) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  locks.set(eventId, tail);
  void tail.then(() => {
    if (locks.get(eventId) === tail) locks.delete(eventId);
  });
  return run;
}

// ---- a small cache of decoded pieces (a segment build usually needs the piece just decoded)

const pieceCache = new Map<string, Float32Array>();
const PIECE_CACHE_MAX = 6;
const cacheKey = (c: Pick<TranscodedChunk, 'eventId' | 'seq' | 'start48' | 'end48'>) => `${c.eventId}/${c.seq}/${c.start48}/${c.end48}`;
function cachePut(k: string, pcm: Float32Array) {
  pieceCache.delete(k);
  pieceCache.set(k, pcm);
  while (pieceCache.size > PIECE_CACHE_MAX) pieceCache.delete(pieceCache.keys().next().value!);
}

// ---- chunks

export interface IngestResult {
  chunk: TranscodedChunk;
  /** False when the chunk had been decoded before (nothing done). */
  decoded: boolean;
  pcm?: Float32Array;
}

/**
 * Decodes chunk `seq` to its timeline piece and stores it. Idempotent: a chunk
 * with a row is not decoded again unless `force` (used when a piece that was
 * deleted as no longer needed turns out to be needed after all).
 */
export async function ingestChunk(deps: TranscoderDeps, eventId: string, seq: number, opts: { force?: boolean } = {}): Promise<IngestResult> {
  const st = deps.state;
  const existing = await st.chunk(eventId, seq);
  // A row means the chunk was decoded; a piece deleted since is decoded again only on demand (loadPiece).
  if (existing && !opts.force) return { chunk: existing, decoded: false };

  const chunks = await st.inputs(eventId);
  const run = runPosition(chunks, seq);
  const chunk = chunks.find((c) => c.seq === seq)!;
  const bytes = await Promise.all([...run.prepend, chunk].map((c) => deps.storage.get(c.key)));

  let format: SourceFormat | undefined;
  const before = run.prepend.length ? await st.chunk(eventId, run.prepend[run.prepend.length - 1].seq) : undefined;
  if (before) format = { codec: before.srcCodec, sampleRate: before.srcRate, channels: before.srcChannels, frameSize: before.frameSize };
  else if (existing) format = { codec: existing.srcCodec, sampleRate: existing.srcRate, channels: existing.srcChannels, frameSize: existing.frameSize };
  else format = await probeChunk(run.prepend.length ? bytes[0] : bytes[bytes.length - 1]);

  const piece = await decodePiece({ chunk, run, format, bytes });
  const { layout } = piece;
  const row: Omit<TranscodedChunk, 'pcmDeleted'> = {
    eventId,
    seq,
    runStartSeq: run.first.seq,
    srcCodec: format.codec,
    srcRate: format.sampleRate,
    srcChannels: format.channels,
    frameSize: format.frameSize,
    start48: layout.start48,
    mainEnd48: layout.mainEnd48,
    end48: layout.end48,
    pcmKey: transcoderKeys.pcm48(eventId, seq),
    shortSamples: piece.shortSamples,
  };
  await deps.storage.put(row.pcmKey, f32Bytes(piece.pcm), { contentType: TYPES.raw, cacheControl: CACHE.work });
  await st.putChunk(row);
  cachePut(cacheKey(row), piece.pcm);
  if (piece.shortSamples > HOLD_BACK && !existing) {
    const endSec = chunk.startSec + chunk.durationSec;
    const reason = `chunk ${seq} decoded ${(piece.shortSamples / RATE).toFixed(3)} s short; padded with silence`;
    deps.log.warn(reason, { event: eventId, seq });
    await deps.catalog.addFailure({ eventId, stage: 'transcoder', startSec: endSec - piece.shortSamples / RATE, endSec, reason });
  }
  deps.log.debug('chunk decoded', { event: eventId, seq, run: run.first.seq, start48: row.start48, end48: row.end48 });
  return { chunk: { ...row, pcmDeleted: false }, decoded: true, pcm: piece.pcm };
}

async function loadPiece(deps: TranscoderDeps, row: TranscodedChunk): Promise<Float32Array> {
  const ck = cacheKey(row);
  const hit = pieceCache.get(ck);
  if (hit) return hit;
  if (!row.pcmDeleted) {
    try {
      const pcm = f32(await deps.storage.get(row.pcmKey));
      if (pcm.length === row.end48 - row.start48) {
        cachePut(ck, pcm);
        return pcm;
      }
      deps.log.warn('stored PCM piece has the wrong length; decoding again', { event: row.eventId, seq: row.seq });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const again = await ingestChunk(deps, row.eventId, row.seq, { force: true });
  return again.pcm!;
}

/** Timeline PCM [from, to): the pieces laid down in seq order (a later piece supersedes an earlier one's provisional tail), silence elsewhere. */
export async function assemble(deps: TranscoderDeps, eventId: string, from: number, to: number): Promise<Float32Array> {
  const st = deps.state;
  const out = new Float32Array(to - from);
  for (const row of await st.chunksOverlapping(eventId, from, to)) {
    const pcm = await loadPiece(deps, row);
    const a = Math.max(from, row.start48);
    const b = Math.min(to, row.end48);
    out.set(pcm.subarray(a - row.start48, b - row.start48), a - from);
  }
  return out;
}

/**
 * How far (in timeline samples from 0) the final timeline PCM is known: up to
 * the first chunk not decoded yet; within a run up to the last piece's
 * non-provisional end; silence between runs is known once the next run's
 * first chunk is in the catalog. With `final`, the last run's tail counts too.
 */
export async function knownThrough(state: TranscoderState, eventId: string, final: boolean): Promise<number> {
  const rows = new Map((await state.chunks(eventId)).map((r) => [r.seq, r]));
  let t = 0;
  let prev: ChunkRef | undefined;
  let prevRow: TranscodedChunk | undefined;
  for (const c of await state.inputs(eventId)) {
    const startsRun = !prev || !contiguous(prev, c);
    if (startsRun) {
      if (prevRow) t = Math.max(t, prevRow.end48);
      t = Math.max(t, secToSample(c.startSec));
    }
    const row = rows.get(c.seq);
    if (!row) return t;
    t = Math.max(t, row.mainEnd48);
    prev = c;
    prevRow = row;
  }
  if (final && prevRow) t = Math.max(t, prevRow.end48);
  return t;
}

// ---- segments

export interface BuiltSegment {
  k: number;
  startFrame: number;
  frames: number;
  key: string;
  pcm16Key: string;
  pcmReady: PcmReadyJob;
}

/** The pcm-ready message of a segment; a silent segment has no PCM in storage (empty key, `silent`). */
export function pcmReadyJob(eventId: string, s: { startFrame: number; frames: number; pcm16Key: string }): PcmReadyJob {
  const samples16 = Math.ceil((s.frames * FRAME) / ASR_DECIMATION);
  return { eventId, key: s.pcm16Key, startSec: (s.startFrame * FRAME) / RATE, durationSec: samples16 / ASR_RATE, ...(s.pcm16Key ? {} : { silent: true }) };
}

async function ensureInit(deps: TranscoderDeps, eventId: string): Promise<void> {
  const st = deps.state;
  if ((await st.ensureState(eventId)).initWritten) return;
  await deps.storage.put(transcoderKeys.init(eventId), renditionInit(), { contentType: TYPES.mp4, cacheControl: CACHE.immutable });
  await st.markInitWritten(eventId);
}

/**
 * Makes, uploads and records segment k: frames [startFrame, startFrame + frames).
 * A full segment that no piece of audio reaches (a gap, pre- and post-roll
 * included) is silence: its frames are reused, its measurements written
 * down without reading samples, and it has no 16 kHz PCM. A gap costs the
 * same whatever its length.
 */
export async function buildSegment(deps: TranscoderDeps, eventId: string, k: number, frames: number): Promise<BuiltSegment> {
  const st = deps.state;
  const startFrame = k * SEGMENT_FRAMES;
  const start = startFrame * FRAME;
  const end = start + frames * FRAME;
  const pcmStart = start - PRE_ROLL;
  const key = transcoderKeys.segment(eventId, k);
  const silent = frames === SEGMENT_FRAMES && (await st.chunksOverlapping(eventId, pcmStart, end + POST_ROLL)).length === 0;
  let built: { media: Buffer; peaks: PeaksPart; loudness: LoudnessPart; pcm16Key: string; pcm16?: Buffer };
  if (silent) {
    built = {
      media: await encodeSilentSegment({ startFrame, sequence: k + 1 }),
      peaks: silentPeaks(start, end),
      loudness: silentLoudness(start, end),
      pcm16Key: '',
    };
  } else {
    const pcm = await assemble(deps, eventId, pcmStart, end + POST_ROLL);
    const span = { pcm, pcmStart };
    built = {
      media: await encodeSegment({ pcm, startFrame, frames, sequence: k + 1 }), // mfhd sequence numbers start at 1
      peaks: peaksOf(span, start, end),
      loudness: loudnessOf(span, start, end),
      pcm16Key: transcoderKeys.pcm16(eventId, k),
      pcm16: decimateForAsr(span, start, end),
    };
  }
  const { media, peaks, loudness, pcm16Key, pcm16 } = built;
  await ensureInit(deps, eventId);
  await deps.storage.put(key, media, { contentType: TYPES.mp4, cacheControl: CACHE.immutable });
  if (pcm16) await deps.storage.put(pcm16Key, pcm16, { contentType: TYPES.raw, cacheControl: CACHE.work });
  const sha256 = crypto.createHash('sha256').update(media).digest('hex');
  await st.addSegment({ eventId, k, startFrame, frames, key, bytes: media.length, pcm16Key, peaks, loudness, sha256 });
  deps.log.debug('segment built', { event: eventId, k, frames, bytes: media.length, silent });
  return { k, startFrame, frames, key, pcm16Key, pcmReady: pcmReadyJob(eventId, { startFrame, frames, pcm16Key }) };
}

/**
 * Builds, in order, every segment not made yet that can be made now. Live: a
 * full segment whose timeline is known through its end + POST_ROLL. Final:
 * all segments up to the rendition's total length (the last one shorter).
 */
export async function buildReady(deps: TranscoderDeps, eventId: string, opts: { final: boolean; totalFrames?: number }): Promise<BuiltSegment[]> {
  const st = deps.state;
  await st.ensureState(eventId);
  const known = await knownThrough(st, eventId, opts.final);
  const built: BuiltSegment[] = [];
  for (let k = (await st.playablePrefix(eventId)).segments; ; k++) {
    const startFrame = k * SEGMENT_FRAMES;
    let frames = SEGMENT_FRAMES;
    if (opts.final) {
      const total = opts.totalFrames ?? totalFramesFor(known);
      if (startFrame >= total) break;
      frames = Math.min(SEGMENT_FRAMES, total - startFrame);
    } else if ((startFrame + frames) * FRAME + POST_ROLL > known) break;
    if (await st.segment(eventId, k)) continue;
    built.push(await buildSegment(deps, eventId, k, frames));
  }
  return built;
}

/**
 * Uploads the playlist when what it would list changed (segments and parts
 * are uploaded and recorded before). `liveParts` (live only) gives the
 * partial segments to list for `segments` segments (live-parts.ts).
 */
export async function publishPlaylist(
  deps: TranscoderDeps,
  eventId: string,
  final: boolean,
  liveParts?: (segments: number) => Promise<{ parts: PlaylistPart[]; signature: string }>,
): Promise<{ key: string; segments: number; written: boolean }> {
  const st = deps.state;
  const state = await st.ensureState(eventId);
  // Names and lengths only: the playlist is written after every chunk, and at the end, so it never reads the measurements.
  const segments = await st.segmentFiles(eventId);
  const key = transcoderKeys.playlist(eventId);
  const live = !final && liveParts ? await liveParts(segments.length) : { parts: [], signature: '' };
  const listed = live.signature === (await st.parts.listed(eventId));
  if (state.playlistSegments === segments.length && state.playlistFinal === final && listed) return { key, segments: segments.length, written: false };
  if (!segments.length && !final) return { key, segments: 0, written: false };
  await ensureInit(deps, eventId);
  const text = renderPlaylist({
    initUri: 'init.mp4',
    segments: segments.map((s) => ({ uri: s.key.slice(s.key.lastIndexOf('/') + 1), frames: s.frames })),
    parts: live.parts,
    ended: final,
  });
  await deps.storage.put(key, text, {
    contentType: TYPES.playlist,
    cacheControl: final ? CACHE.finalPlaylist : CACHE.livePlaylist,
  });
  await st.markPlaylist(eventId, segments.length, final);
  if (!listed) await st.parts.markListed(eventId, live.signature);
  return { key, segments: segments.length, written: true };
}

/** Hands finished segments' 16 kHz PCM to deps.onPcmReady (those not handed over yet). */
export async function notifyPcmReady(deps: TranscoderDeps, eventId: string): Promise<PcmReadyJob[]> {
  if (!deps.onPcmReady) return [];
  const st = deps.state;
  const sent: PcmReadyJob[] = [];
  for (const s of await st.unnotifiedSegments(eventId)) {
    const job = pcmReadyJob(eventId, s);
    await deps.onPcmReady(job);
    await st.markNotified(eventId, s.k);
    sent.push(job);
  }
  return sent;
}

/** Deletes work PCM pieces no segment still to be made can need (all of them with `all`). */
export async function dropWorkPcm(deps: TranscoderDeps, eventId: string, opts: { all?: boolean } = {}): Promise<number> {
  const st = deps.state;
  const doneThrough = (await st.playablePrefix(eventId)).frames * FRAME - PRE_ROLL;
  let n = 0;
  for (const row of await st.chunksWithPcm(eventId)) {
    if (!(opts.all || row.end48 <= doneThrough)) continue;
    await deps.storage.delete(row.pcmKey).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    await st.markPcmDeleted(eventId, row.seq);
    pieceCache.delete(cacheKey(row));
    n++;
  }
  return n;
}

// ---- the whole-event results

/** Live: every full run of segments of the playable prefix past the last run becomes a run (measure-runs.ts). Returns the runs made. */
export async function packMeasureRuns(state: TranscoderState, eventId: string, runSegments = RUN_SEGMENTS): Promise<number> {
  let { runNo, fromK } = await state.runs.nextRun(eventId);
  const segs = await state.segmentsFrom(eventId, fromK);
  let made = 0;
  for (; segs.length >= runSegments; made++) {
    await state.runs.addRun(eventId, runNo++, fromK, segs.splice(0, runSegments));
    fromK += runSegments;
  }
  return made;
}

/** The waveform and loudness of the whole rendition: the runs merged while live, and every segment after them. */
export async function eventMeasurements(
  state: TranscoderState,
  eventId: string,
  totalSamples: number,
): Promise<{ peaks: PeaksJson; loudness: LoudnessSummary }> {
  const runs = await state.runs.runs(eventId);
  const segs = [...runs, ...(await state.segmentsFrom(eventId, runs.length ? runs[runs.length - 1].toK : 0))];
  return {
    peaks: mergePeaks(
      segs.map((s) => s.peaks),
      totalSamples,
    ),
    loudness: combineLoudness(
      segs.map((s) => s.loudness),
      totalSamples,
    ),
  };
}

/** Chunks decoded at once at the end (the machine's two cores; more only queue). */
const END_DECODES = 2;

export interface FinalizeResult {
  status: 'done' | 'skipped';
  reason?: 'event-gone';
  segments: number;
  /** Segments made by this call (the last one(s); all of them if nothing was made live). */
  segmentsBuilt: number;
  /** Chunks decoded by this call (those whose jobs had not run). */
  chunksDecoded: number;
  durationSec: number;
  /** Rendition length minus timeline length (s): at most half a frame. */
  lengthErrorSec: number;
  playlistKey: string;
  peaksKey: string;
  loudnessKey: string;
  loudness?: LoudnessSummary;
  /** audio.m4a (absent when skipped). */
  audio?: M4aResult;
  pcmReady: PcmReadyJob[];
}

/** The messages of some archived chunks have not arrived yet: the rendition cannot be closed now (a retry will). */
export class ChunksMissingError extends Error {}

/** What the end's caller is told as soon as it happens, before the whole rendition is closed. */
export interface FinalizeHooks {
  /**
   * Every segment is built and its PCM announced: runs before the playlist,
   * audio.m4a's join and the totals, so the transcriber's last window runs
   * alongside them instead of after them.
   */
  segmentsDone?: () => Promise<void>;
  /** Peaks and loudness of the whole event are stored, with its final length; audio.m4a may still be being joined. */
  measured?: (durationSec: number) => Promise<void>;
}

/**
 * Closes the rendition at the event's end, once all `chunks` archived chunks
 * have been announced: decodes any chunk not decoded yet, fixes the length
 * (timeline end rounded to whole frames), makes the remaining segments, then
 * side by side uploads the ENDLIST playlist, joins audio.m4a and stores the
 * merged waveform and loudness; drops the work PCM. Idempotent.
 */
export async function finalize(deps: TranscoderDeps, eventId: string, chunks: number, hooks: FinalizeHooks = {}): Promise<FinalizeResult> {
  const st = deps.state;
  const log = deps.log;
  await st.ensureState(eventId);
  const ms = stepTimer();
  const inputs = await st.inputs(eventId);
  if (inputs.length < chunks) throw new ChunksMissingError(`waiting for chunk messages: ${inputs.length} of ${chunks} arrived`);
  // The chunks whose jobs had not run (those after the end): two decodes at a time, each its own ffmpeg run
  // (a chunk decodes from the source bytes of its run, not from its predecessor's decode).
  const undecoded = await st.undecodedInputs(eventId);
  const ingested = await inBatches(undecoded, END_DECODES, (c) => ingestChunk(deps, eventId, c.seq));
  const chunksDecoded = ingested.filter((r) => r.decoded).length;
  const timelineEnd = await knownThrough(st, eventId, true);
  const totalFrames = totalFramesFor(timelineEnd);
  const prevTotal = (await st.state(eventId))!.totalFrames;
  if (prevTotal !== null && prevTotal !== totalFrames) {
    // Chunks arrived after an earlier finalization: the old last segment is no longer the last.
    const from = Math.floor(prevTotal / SEGMENT_FRAMES);
    log.warn('rendition length changed since the last finalization; rebuilding its end', { event: eventId, prevTotal, totalFrames });
    await st.deleteSegmentsFrom(eventId, from);
    await resetM4a(deps, eventId);
  }
  await st.setTotalFrames(eventId, totalFrames);
  ms.lap('decodeLast');
  const built = await buildReady(deps, eventId, { final: true, totalFrames });
  const sent = await notifyPcmReady(deps, eventId);
  await hooks.segmentsDone?.();
  ms.lap('lastSegments');
  // The playlist, audio.m4a's join and the merged measurements need only the segments, not each other:
  // done side by side, the file operations of one wait while another computes; and what is drawn from
  // the measurements (the publisher's images) starts while the m4a is still being joined.
  const totalSamples = totalFrames * FRAME;
  const measure = async () => {
    const m = await eventMeasurements(st, eventId, totalSamples);
    await deps.storage.put(transcoderKeys.peaks(eventId), JSON.stringify(m.peaks), { contentType: TYPES.json, cacheControl: CACHE.final });
    await deps.storage.put(transcoderKeys.loudness(eventId), JSON.stringify(m.loudness, null, 2), { contentType: TYPES.json, cacheControl: CACHE.final });
    ms.mark('measure');
    await hooks.measured?.(totalSamples / RATE);
    return m;
  };
  // Settled, all three, before a failure is passed on: a retry must not find one of them still running.
  const [pl, audio, { loudness }] = allOrFirstError(
    await Promise.allSettled([
      publishPlaylist(deps, eventId, true).finally(() => ms.mark('playlist')),
      finishM4a(deps, eventId, totalFrames)
        .then(async (a) => (await writeRenditionFiles(deps, eventId, a), a))
        .finally(() => ms.mark('m4a')),
      measure(),
    ]),
  );
  ms.lap('closed');
  await st.markFinalized(eventId, loudness);
  ms.lap('totals');
  await dropWorkPcm(deps, eventId, { all: true });
  ms.lap('dropWork');
  const result: FinalizeResult = {
    status: 'done',
    segments: pl.segments,
    segmentsBuilt: built.length,
    chunksDecoded,
    durationSec: totalSamples / RATE,
    lengthErrorSec: (totalSamples - timelineEnd) / RATE,
    playlistKey: pl.key,
    peaksKey: transcoderKeys.peaks(eventId),
    loudnessKey: transcoderKeys.loudness(eventId),
    loudness,
    audio,
    pcmReady: deps.onPcmReady ? sent : built.map((b) => b.pcmReady),
  };
  log.info('rendition finalized', {
    event: eventId,
    segments: result.segments,
    durationSec: result.durationSec.toFixed(3),
    integratedLufs: Number.isFinite(loudness.integratedLufs) ? loudness.integratedLufs.toFixed(1) : '-inf',
    lraLu: loudness.lraLu.toFixed(1),
    truePeakDbtp: Number.isFinite(loudness.truePeakDbtp) ? loudness.truePeakDbtp.toFixed(1) : '-inf',
    ms: ms.laps,
  });
  return result;
}
