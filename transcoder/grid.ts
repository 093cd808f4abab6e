// The rendition grid: every position of the transcoder is a sample index on
// the event timeline at 48 kHz (sample 0 = timeline 0 s). Rendition segments
// are whole numbers of 1024-sample AAC frames, so segment k always starts at
// sample k * SEGMENT_SAMPLES and a player's clock equals the event timeline.

/** Timeline and rendition sample rate. */
export const RATE = 48000;
/** Samples per AAC-LC frame. */
export const FRAME = 1024;
/** AAC frames per rendition segment: 282 frames = 6.016 s. */
export const SEGMENT_FRAMES = 282;
export const SEGMENT_SAMPLES = SEGMENT_FRAMES * FRAME;
/**
 * AAC frames per live partial segment (LL-HLS #EXT-X-PART): 94 frames =
 * 2.005 s, three to a segment, on the same grid, so a listener hears audio
 * about as soon as a 2 s source chunk brings it instead of waiting for the
 * whole segment. Each part costs an encode (an ffmpeg run): parts of a
 * second doubled that cost for half a second less of latency.
 */
export const PART_FRAMES = 94;
export const PARTS_PER_SEGMENT = SEGMENT_FRAMES / PART_FRAMES;
/**
 * A segment is encoded from timeline PCM [start - PRE_ROLL, end + POST_ROLL]
 * and trimmed back to its own frames: with 4 frames before and 2 after, the
 * joins are as clean as one continuous encode (reference.md, measured).
 */
export const PRE_ROLL_FRAMES = 4;
export const POST_ROLL_FRAMES = 2;
export const PRE_ROLL = PRE_ROLL_FRAMES * FRAME;
export const POST_ROLL = POST_ROLL_FRAMES * FRAME;
/** ffmpeg's native aac encoder emits one priming packet before the first real frame. */
export const ENCODER_PRIMING_PACKETS = 1;
/**
 * The last HOLD_BACK samples of a decoded chunk are touched by the resampler's
 * end-of-stream flush. They are kept only when no continuation can come (the
 * run ended); otherwise the next chunk's decode, which has them in its middle,
 * supplies them.
 */
export const HOLD_BACK = 512;
/** Waveform: 20 min/max pairs per second. */
export const PEAKS_SAMPLES_PER_PIXEL = 2400;
/** Loudness: 100 ms cells (a 400 ms block is 4 cells, a 3 s window 30). */
export const LOUDNESS_CELL = 4800;
/** Transcriber PCM: 16 kHz mono, one sample every 3 timeline samples. */
export const ASR_RATE = 16000;
export const ASR_DECIMATION = RATE / ASR_RATE;
/** Bitrate of the listener rendition. */
export const RENDITION_BITRATE = 64000;

/** Frames in the rendition for a timeline of `samples` samples: rounded, so the error is at most half a frame (10.7 ms). */
export const totalFramesFor = (samples: number) => Math.round(samples / FRAME);

export const secToSample = (sec: number) => Math.round(sec * RATE);
