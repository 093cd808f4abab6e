// What whisper-server (whisper.cpp 1.9.1, examples/server/server.cpp) is
// sent for one window and how its answer becomes segments, so that a window
// transcribed through the server comes out as the CLI path makes it. Pure.
//
// The server's per-request fields differ from the CLI's flags in ways that
// would silently change the transcript, so every field is sent explicitly:
//  - best_of defaults to 2 there (5 in the CLI) and beam_size to -1;
//  - `no_fallback` is a start-up flag only: per request, fallback is off when
//    temperature_inc is 0 (what the CLI's -nf does);
//  - token_timestamps defaults to on, and max_len 0 means 60 there (a
//    60-character split the CLI never makes): token timestamps are on exactly
//    when the CLI turns them on (-ojf or -ml), and without -ml the split is
//    pushed out of reach;
//  - verbose_json runs a language detection (a second encoder pass) unless
//    no_language_probabilities is set.
// The answer's times are seconds (centiseconds, as the CLI's milliseconds);
// they are turned into the CLI's JSON shape and go through the same parser:
// the same clamping to the input's duration, the same word building.
import { segmentsFromWhisperJson, trimPrompt, WhisperOutputError, type WhisperRunOptions, type WhisperSegment } from './whisper.ts';

/** max_len that no segment reaches: the server's 0 would mean 60. */
const NO_SPLIT = 1_000_000;

/** The multipart fields (besides the file) of one /inference request. */
export function serverRequestFields(
  o: Pick<WhisperRunOptions, 'language' | 'prompt' | 'beamSize' | 'bestOf' | 'noFallback' | 'wordTimestamps' | 'maxLen' | 'audioCtx'>,
): Record<string, string> {
  const beam = Math.max(1, Math.floor(o.beamSize ?? 1));
  const bestOf = Math.max(1, Math.floor(o.bestOf ?? 5));
  const maxLen = o.maxLen && o.maxLen > 0 ? Math.floor(o.maxLen) : 0;
  const tokenTimestamps = !!o.wordTimestamps || maxLen > 0;
  const fields: Record<string, string> = {
    response_format: 'verbose_json',
    language: o.language,
    beam_size: String(beam),
    best_of: String(bestOf),
    temperature: '0',
    temperature_inc: o.noFallback ? '0' : '0.2',
    token_timestamps: String(tokenTimestamps),
    max_len: String(maxLen || NO_SPLIT),
    split_on_word: String(maxLen > 0),
    no_language_probabilities: 'true',
    translate: 'false',
    prompt: o.prompt ? trimPrompt(o.prompt) : '',
  };
  if (o.audioCtx && o.audioCtx > 0) fields.audio_ctx = String(Math.floor(o.audioCtx));
  return fields;
}

/** verbose_json as read here: nothing in it is trusted, every field is checked by the CLI parser after conversion. */
interface VerboseJson {
  segments?: (VerboseSegment | null)[];
}

interface VerboseSegment {
  text?: unknown;
  start?: unknown;
  end?: unknown;
  words?: ({ word?: unknown; start?: unknown; end?: unknown } | null)[];
}

const ms = (sec: unknown): unknown => (typeof sec === 'number' ? Math.round(sec * 1000) : sec);

/**
 * Segments from the server's verbose_json: converted to the CLI's JSON shape
 * (offsets in ms, tokens with text and offsets; the server already leaves out
 * special tokens, so each gets a text-token id) and parsed as the CLI's.
 */
export function segmentsFromServerJson(json: unknown, durationSec: number, opts: { words?: boolean } = {}): WhisperSegment[] {
  const doc = json as VerboseJson | null | undefined;
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.segments)) {
    throw new WhisperOutputError(`whisper-server answered without a "segments" array: ${JSON.stringify(json).slice(0, 200)}`);
  }
  const transcription = doc.segments.map((s) => ({
    text: s?.text,
    offsets: { from: ms(s?.start), to: ms(s?.end) },
    tokens: (Array.isArray(s?.words) ? s.words : []).map((w) => ({ id: 0, text: w?.word, offsets: { from: ms(w?.start), to: ms(w?.end) } })),
  }));
  return segmentsFromWhisperJson({ transcription }, durationSec, opts);
}
