// The transcriber's library: turns the 16 kHz PCM pieces that have arrived
// into windows of at most 30 s (ending at quiet points), runs whisper.cpp on
// each with the previous text as prompt, and rewrites the event's transcript
// files. Called on every new piece, so the transcript keeps pace with the
// live event; at the end only the last window remains.
import type { EventCatalog } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { keys } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import { metrics } from '../shared/metrics.ts';
import type { TranscriptSegmentMessage, TranscriptSegmentsJob } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { toPlainText, toPodcastJson, toSrt, toWebVtt, TRANSCRIPT_TYPES } from './formats.ts';
import { appendWindow, changedSpan, promptFrom, type TimelineSegment } from './stitch.ts';
import { asWindow, eventStitch, forgetStitch } from './event-stitch.ts';
import type { PcmPiece, TranscriberState } from './state.ts';
import { inBatches } from '../shared/batches.ts';
import { allOrFirstError } from '../shared/settled.ts';
import { cliTranscriber, type WindowTranscriber } from './whisper-engine.ts';
import { whisperModelPath, WhisperModelMissingError } from './whisper.ts';
import { fittedAudioCtx, isSilent, planWindows, SAMPLE_RATE, slicePcm } from './windows.ts';

export interface TranscriberDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  log: Logger;
  state: TranscriberState;
  /** Aborted at shutdown: a running whisper.cpp is stopped rather than left behind. */
  signal?: AbortSignal;
  /** Runs one window (WHISPER_ENGINE: long-lived servers, or a process per window). Default: a process per window. */
  whisper?: WindowTranscriber;
  /** Told each change of the transcript as it is stitched (the search index follows it). */
  announce?: (change: Omit<TranscriptSegmentsJob, 'eventId'>) => Promise<void>;
}

export const TRANSCRIPT_FORMATS = ['json', 'vtt', 'srt', 'txt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

const EDGE_EPS = 0.002;

export interface AdvanceResult {
  windowsAdded: number;
  complete: boolean;
  /** Set when the transcript files changed: their new revision. */
  revision?: number;
}

/** The timeline segments of every finished window, stitched. */
export async function eventSegments(state: TranscriberState, eventId: string): Promise<TimelineSegment[]> {
  return (await eventStitch(state, eventId)).stitched?.segments ?? [];
}

const cleanText = (t: string) => t.replace(/\s+/g, ' ').trim();

/** Segments as the messages carry them: text cleaned as the transcript files have it, empty ones left out (as there). */
export function segmentMessages(segments: TimelineSegment[]): TranscriptSegmentMessage[] {
  return segments.flatMap((s) => {
    const text = cleanText(s.text);
    if (!text) return [];
    const words = s.words?.map((w) => ({ startSec: w.startSec, endSec: w.endSec, text: cleanText(w.text) })).filter((w) => w.text);
    return [{ startSec: s.startSec, endSec: s.endSec, text, ...(s.speaker ? { speaker: s.speaker } : {}), ...(words?.length ? { words } : {}) }];
  });
}

/** Tells the search index what a stitch changed. Never fails the transcription: a lost message is repaired when the transcript completes. */
async function announce(deps: TranscriberDeps, eventId: string, change: Omit<TranscriptSegmentsJob, 'eventId'>): Promise<void> {
  if (!deps.announce) return;
  try {
    await deps.announce(change);
  } catch (e) {
    deps.log.warn('could not announce transcript segments', { event: eventId, err: (e as Error).message });
  }
}

/** Renders one transcript format from segments (also used for the partial transcript served while live). */
export function renderTranscript(fmt: TranscriptFormat, segments: TimelineSegment[]): string {
  switch (fmt) {
    case 'json':
      return toPodcastJson(segments);
    case 'vtt':
      return toWebVtt(segments);
    case 'srt':
      return toSrt(segments);
    case 'txt':
      return toPlainText(segments);
  }
}

export const transcriptContentType = (fmt: TranscriptFormat) => `${TRANSCRIPT_TYPES[fmt]}; charset=utf-8`;

async function writeTranscriptFiles(eventId: string, segments: TimelineSegment[], deps: TranscriberDeps): Promise<number> {
  // Four independent objects, written side by side; each settles before a failure is passed on.
  // Short cache: a window finishing late rewrites these files.
  const puts = TRANSCRIPT_FORMATS.map((fmt) =>
    deps.storage.put(keys.transcript(eventId, fmt), renderTranscript(fmt, segments), {
      contentType: transcriptContentType(fmt),
      cacheControl: 'public, max-age=30',
    }),
  );
  allOrFirstError(await Promise.allSettled(puts));
  return await deps.state.bumpRevision(eventId);
}

/**
 * Loads the PCM from `fromSec` on, as far as the pieces are contiguous and
 * carry audio. A silent piece (a gap: nothing stored) ends the load:
 * `endsAtSilence` says the audio stops at a true silence, so its last
 * window can be cut there.
 */
async function contiguousPcm(
  eventId: string,
  fromSec: number,
  deps: TranscriberDeps,
): Promise<{ pcm: Buffer; startSec: number; reachesFinal: boolean; endsAtSilence: boolean; nextPieceSec?: number }> {
  const pieces = await deps.state.pieces(eventId, fromSec + EDGE_EPS);
  const parts: Buffer[] = [];
  let at = fromSec;
  let reachesFinal = false;
  let endsAtSilence = false;
  for (const p of pieces) {
    if (p.startSec > at + EDGE_EPS) break; // a hole: wait for the missing piece
    if (!p.key) {
      endsAtSilence = parts.length > 0;
      break;
    }
    const buf = await deps.storage.get(p.key);
    const skip = Math.max(0, Math.round((at - p.startSec) * SAMPLE_RATE)) * 2;
    parts.push(buf.subarray(skip));
    at = p.startSec + buf.length / 2 / SAMPLE_RATE;
    if (p.final) reachesFinal = true;
  }
  const next = pieces.find((p) => p.startSec > at + EDGE_EPS);
  return { pcm: Buffer.concat(parts), startSec: fromSec, reachesFinal, endsAtSilence, nextPieceSec: next?.startSec };
}

/** A run of silent pieces starting at `fromSec`: where it ends, and whether it is the event's end. */
function silentRun(pieces: PcmPiece[], fromSec: number): { endSec: number; final: boolean } | undefined {
  let at = fromSec;
  let final = false;
  for (const p of pieces) {
    if (p.startSec + p.durationSec <= at + EDGE_EPS) continue;
    if (p.startSec > at + EDGE_EPS || p.key) break;
    at = p.startSec + p.durationSec;
    final ||= p.final;
  }
  return at > fromSec ? { endSec: at, final } : undefined;
}

/**
 * Transcribes every window that can be cut now. `giveUp`: a window that
 * fails is recorded as failed (a visible range on the event) instead of
 * throwing for a retry.
 */
export async function advanceTranscript(eventId: string, deps: TranscriberDeps, opts: { giveUp?: boolean } = {}): Promise<AdvanceResult> {
  const { state, config, log } = deps;
  const st = await state.status(eventId);
  if (st.status === 'unavailable' || st.status === 'complete' || st.status === 'failed') return { windowsAdded: 0, complete: st.status !== 'unavailable' };

  let model: string;
  try {
    model = whisperModelPath(config.whisperModel);
  } catch (e) {
    if (!(e instanceof WhisperModelMissingError)) throw e;
    await state.setStatus(eventId, { status: 'unavailable', reason: e.message });
    log.warn('transcript unavailable', { event: eventId, reason: e.message });
    return { windowsAdded: 0, complete: false };
  }

  const final = (await state.status(eventId)).finalReceived;
  let added = 0;
  let complete = false;
  // New windows come after every stored one, so appending each to the stitched transcript equals stitching all again.
  let { stitched, windows } = await eventStitch(state, eventId);
  const segments = () => stitched?.segments ?? [];
  // Pass after pass: silence is stepped over in one window, audio is cut into windows up to the next silence or hole.
  for (let progressed = true; progressed && !complete;) {
    progressed = false;
    let covered = await state.coveredSec(eventId);
    const silence = silentRun(await state.pieces(eventId, covered + EDGE_EPS), covered);
    if (silence) {
      await state.saveWindow(eventId, { startSec: covered, endSec: silence.endSec, status: 'silent', segments: [], error: null });
      added++;
      progressed = true;
      complete = final && silence.final;
      continue;
    }
    const contiguous = await contiguousPcm(eventId, covered, deps);
    let { pcm, reachesFinal, endsAtSilence } = contiguous;
    // At the end, a hole nobody will fill (a transcoder failure, already on the event) is stepped over.
    if (final && !reachesFinal && contiguous.nextPieceSec !== undefined && pcm.length === 0) {
      covered = contiguous.nextPieceSec;
      ({ pcm, reachesFinal, endsAtSilence } = await contiguousPcm(eventId, covered, deps));
    }
    const atEnd = final && reachesFinal; // no more audio will come after this PCM
    const plan = planWindows(pcm, { final: atEnd || endsAtSilence });
    if (plan.windows.length) await state.setStatus(eventId, { status: 'running' });
    for (const w of plan.windows) {
      const startSec = covered + w.start / SAMPLE_RATE;
      const endSec = covered + w.end / SAMPLE_RATE;
      const audio = slicePcm(pcm, w);
      if (isSilent(audio)) {
        await state.saveWindow(eventId, { startSec, endSec, status: 'silent', segments: [], error: null });
      } else {
        try {
          const began = performance.now();
          const heard = await (deps.whisper ?? cliTranscriber).transcribe({
            pcm: audio,
            model,
            language: config.whisperLanguage,
            threads: config.whisperThreads,
            wordTimestamps: config.whisperWordTimestamps,
            signal: deps.signal,
            prompt: promptFrom(segments()),
            durationSec: (w.end - w.start) / SAMPLE_RATE,
            // The event's last window: what the published transcript waits for (see fittedAudioCtx).
            audioCtx: atEnd && 2 * w.end === pcm.length && config.whisperFitLastWindow ? fittedAudioCtx((w.end - w.start) / SAMPLE_RATE) : undefined,
            timeoutMs: 10 * 60_000,
          });
          metrics.whisperRtf.observe((performance.now() - began) / 1000 / (endSec - startSec));
          await state.saveWindow(eventId, { startSec, endSec, status: 'done', segments: heard, error: null });
          const before = segments();
          stitched = appendWindow(stitched, asWindow({ startSec, endSec, segments: heard }));
          windows++;
          const change = changedSpan(before, segments(), endSec);
          if (change)
            await announce(deps, eventId, { version: windows, fromSec: change.fromSec, toSec: change.toSec, segments: segmentMessages(change.segments) });
        } catch (e) {
          if (!opts.giveUp) {
            if (added) await writeTranscriptFiles(eventId, segments(), deps);
            throw e;
          }
          const reason = `transcription failed: ${(e as Error).message}`;
          await state.saveWindow(eventId, { startSec, endSec, status: 'failed', segments: [], error: reason });
          await deps.catalog.addFailure({ eventId, stage: 'transcriber', startSec, endSec, reason });
          log.error('window failed for good', { event: eventId, startSec, endSec, err: (e as Error).message });
        }
      }
      added++;
      progressed = true;
    }
    complete = final && reachesFinal && plan.pendingFrom * 2 >= pcm.length && (await state.coveredSec(eventId)) > 0;
  }

  // The final status is set before the files are written, so the revision that
  // announces the last files also says the transcript is complete.
  if (complete) {
    const failed = await state.anyFailedWindow(eventId);
    await state.setStatus(eventId, { status: failed ? 'failed' : 'complete', reason: failed ? 'some windows could not be transcribed (see failures)' : null });
  }
  let revision: number | undefined;
  if (added || complete) revision = await writeTranscriptFiles(eventId, segments(), deps);
  if (complete) {
    forgetStitch(state, eventId);
    // The files are written: the index checks it holds every segment, and rebuilds from them if not.
    await announce(deps, eventId, { version: windows, fromSec: 0, toSec: 0, segments: [], final: { total: segmentMessages(segments()).length } });
  }
  return { windowsAdded: added, complete, revision };
}

/** Work files deleted at once: one per segment, 6,000 for a 10-hour event. */
const DELETE_BATCH = 32;

/**
 * Deletes the 16 kHz work audio of a complete transcript (the rendition keeps
 * the listener audio). After the publisher has been told: it is one object
 * per segment, and the replay must not wait for them.
 */
export async function dropWorkAudio(eventId: string, deps: Pick<TranscriberDeps, 'state' | 'storage'>): Promise<void> {
  const keys = (await deps.state.pieces(eventId)).flatMap((p) => (p.key ? [p.key] : []));
  await inBatches(keys, DELETE_BATCH, (k) => deps.storage.delete(k).catch(() => {}));
}
