// The queues the stages meet through, and the typed messages on them.
// This file is the map of the pipeline: read it to see where a chunk goes next.
//
//   api         --record------------>   recorder     a pull event to record (the job lasts as long as the recording)
//   recorder    --chunk-archived-->     transcoder   one job per sealed, archived chunk
//   recorder    --event-ended------->   transcoder   capture stopped: finish the rendition
//   transcoder  --pcm-ready--------->   transcriber  16 kHz PCM of a rendition segment (final: the last one)
//   transcoder  --rendition-measured-> publisher  its length and waveform are final: draw the card
//   transcoder  --rendition-ready--->   publisher    the rendition is complete: publish
//   transcriber --transcript-ready-->   publisher    the transcript is complete (or changed late): (re)publish it
//   transcriber --transcript-segments-> publisher    a window was stitched: the search index takes its segments
//   any stage   --webhook----------->   publisher    one delivery attempt per endpoint
//   api         --event-deleted----->   every stage  a deleted event: each stage forgets its rows and objects
//   api/recorder --event-page-------->  publisher    an event started or ended: store its (live) page beside the media, draw its artwork
//   api         --clip-requested---->   transcoder   a clip was asked for: cut its clip.m4a from the rendition
//   transcoder  --clip-cut---------->   publisher    a clip's audio is stored: draw its card, mark it ready
//   publisher   --audiogram-requested-> publisher    a ready clip: render its audiogram video in one size
//
// Job ids are derived from the subject (event id + sequence number), so a
// retried or repeated enqueue is a no-op in BullMQ rather than a duplicate.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

export const QUEUE = {
  record: 'record',
  chunkArchived: 'chunk-archived',
  pcmReady: 'pcm-ready',
  eventEnded: 'event-ended',
  renditionMeasured: 'rendition-measured',
  renditionReady: 'rendition-ready',
  transcriptReady: 'transcript-ready',
  transcriptSegments: 'transcript-segments',
  webhook: 'webhook',
  eventDeleted: 'event-deleted',
  eventPage: 'event-page',
  clipRequested: 'clip-requested',
  clipCut: 'clip-cut',
  audiogramRequested: 'audiogram-requested',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/** A pull event to record: the job runs as long as the recording; a process that dies leaves it to another. */
export interface RecordJob {
  eventId: string;
  /** A replica place of a redundant HLS capture (1, 2, ...); absent: the event's primary recording. */
  slot?: number;
}

/** A sealed chunk of unedited source audio, archived in storage and recorded in the catalog. */
export interface ChunkArchivedJob {
  eventId: string;
  /** 0, 1, 2, ... per event: a missing number is a chunk whose message has not arrived yet. */
  seq: number;
  /** The capture session (one per connection): chunks of one session are contiguous on the timeline. */
  sessionNo: number;
  /** Storage key of the archived chunk (MPEG-TS, source codec). */
  key: string;
  /** Position of the chunk's first sample on the event timeline, in seconds. */
  startSec: number;
  durationSec: number;
  sha256: string;
}

export interface EventEndedJob {
  eventId: string;
  /** How many chunks were archived: the rendition is final once all of them were transcoded. */
  chunks: number;
}

export interface PcmReadyJob {
  eventId: string;
  /** Storage key of a 16 kHz mono s16le PCM file; empty for a silent piece. */
  key: string;
  startSec: number;
  durationSec: number;
  /** Set on the event's last piece: no audio follows. */
  final?: boolean;
  /** The piece is silence (a gap on the timeline): nothing was stored and nothing needs transcribing. */
  silent?: boolean;
}

/**
 * An ended event's length and waveform are final (peaks and loudness stored) while audio.m4a is still
 * being joined: what is drawn from them alone (the social card) need not wait for the whole rendition.
 */
export interface RenditionMeasuredJob {
  eventId: string;
  /** The rendition's final length, as the rendition-ready one will say. */
  durationSec: number;
}

/** The rendition of an ended event is complete (ENDLIST written, loudness and peaks final). */
export interface RenditionReadyJob {
  eventId: string;
}

export type TranscriptStatus = 'pending' | 'running' | 'complete' | 'unavailable' | 'failed';

/** The event's transcript files in storage changed (complete, or a window finished late), and where the transcript stands. */
export interface TranscriptReadyJob {
  eventId: string;
  /** Bumped each time the files change. */
  revision: number;
  status: TranscriptStatus;
  /** Why it is unavailable or failed. */
  reason: string | null;
  /** The transcript will not change any more (complete, unavailable or failed). */
  final: boolean;
}

/** One segment of a transcript on the event's timeline, its text cleaned (never empty). */
export interface TranscriptSegmentMessage {
  startSec: number;
  endSec: number;
  text: string;
  speaker?: string;
  /** Word timings, when the transcript has them. */
  words?: { startSec: number; endSec: number; text: string }[];
}

/**
 * The transcript changed: a window was stitched onto it (the segments that
 * start within [fromSec, toSec) are now exactly `segments`), or it is
 * complete (`final`: it has `total` segments, as many as the stored JSON).
 */
export interface TranscriptSegmentsJob {
  eventId: string;
  /** Windows stitched so far: one message per change. */
  version: number;
  fromSec: number;
  toSec: number;
  segments: TranscriptSegmentMessage[];
  final?: { total: number };
}

export interface WebhookJob {
  deliveryId: string;
}

/** An event was deleted (its status says so): every stage forgets it. */
export interface EventDeletedJob {
  eventId: string;
}

/** An event's stored page should show where the event stands now (it started, or ended). */
export interface EventPageJob {
  eventId: string;
}

/** A clip (shared/catalog/clips.ts) whose audio is to be cut: its span is in the catalog row. */
export interface ClipRequestedJob {
  clipId: string;
}

/** A clip's audio is stored and recorded on its row: the publisher finishes it. */
export interface ClipCutJob {
  clipId: string;
}

export const AUDIOGRAM_SIZES = ['square', 'vertical', 'landscape'] as const;
export type AudiogramSize = (typeof AUDIOGRAM_SIZES)[number];

/** A ready clip's audiogram (a video of its audio, waveform and captions) to render in one size. */
export interface AudiogramRequestedJob {
  clipId: string;
  size: AudiogramSize;
}

/** The message each queue carries. */
export interface JobPayloads {
  record: RecordJob;
  'chunk-archived': ChunkArchivedJob;
  'pcm-ready': PcmReadyJob;
  'event-ended': EventEndedJob;
  'rendition-measured': RenditionMeasuredJob;
  'rendition-ready': RenditionReadyJob;
  'transcript-ready': TranscriptReadyJob;
  'transcript-segments': TranscriptSegmentsJob;
  webhook: WebhookJob;
  'event-deleted': EventDeletedJob;
  'event-page': EventPageJob;
  'clip-requested': ClipRequestedJob;
  'clip-cut': ClipCutJob;
  'audiogram-requested': AudiogramRequestedJob;
}

/** A queue's contract: how often a job is tried, the first retry's delay (doubling), and its job id. */
export interface QueueSpec<Q extends QueueName> {
  attempts: number;
  backoffMs: number;
  /** Derived from the subject, so a repeated enqueue is a no-op rather than a duplicate. */
  jobId: (data: JobPayloads[Q]) => string;
  /** Forget the job as soon as it is done, so the same id can be queued again (default: kept 2 days, 7 if failed). */
  forget?: boolean;
}

export const QUEUE_SPECS: { [Q in QueueName]: QueueSpec<Q> } = {
  // A recording that stops without its event ending is queued again (handover, orphan sweep): nothing is kept.
  record: { attempts: 1000, backoffMs: 1000, jobId: (d) => `${d.eventId}-record${d.slot ? `-${d.slot}` : ''}`, forget: true },
  'chunk-archived': { attempts: 8, backoffMs: 1000, jobId: (d) => `${d.eventId}-chunk-${d.seq}` },
  // The final piece repeats the last segment's PCM with `final` set: its own id.
  'pcm-ready': { attempts: 8, backoffMs: 1000, jobId: (d) => (d.final ? `${d.eventId}-pcm-final` : `${d.eventId}-pcm-${Math.round(d.startSec * 48000)}`) },
  'event-ended': { attempts: 8, backoffMs: 1000, jobId: (d) => `${d.eventId}-ended` },
  // Only a head start: the publication draws the images itself if this never ran. A later finalization (chunks that came late) measures again.
  'rendition-measured': { attempts: 3, backoffMs: 1000, jobId: (d) => `${d.eventId}-measured-${Math.round(d.durationSec * 48000)}` },
  'rendition-ready': { attempts: 8, backoffMs: 1000, jobId: (d) => `${d.eventId}-rendition` },
  'transcript-ready': { attempts: 8, backoffMs: 1000, jobId: (d) => `${d.eventId}-transcript-${d.revision}` },
  'transcript-segments': { attempts: 8, backoffMs: 500, jobId: (d) => (d.final ? `${d.eventId}-segments-final` : `${d.eventId}-segments-${d.version}`) },
  // 10 attempts, 10 s doubling: the last retry comes about 85 minutes after the first try.
  webhook: { attempts: 10, backoffMs: 10_000, jobId: (d) => d.deliveryId },
  // Forgotten once done: a purge that must run again (a sweep at start) can be queued again.
  'event-deleted': { attempts: 8, backoffMs: 2000, jobId: (d) => `${d.eventId}-deleted`, forget: true },
  // Forgotten once done: the end queues it again. The job renders the catalog as it stands when it runs, so a
  // message folded into one already waiting loses nothing.
  'event-page': { attempts: 8, backoffMs: 1000, jobId: (d) => `${d.eventId}-page`, forget: true },
  // A clip is cut and finished once: its id names both jobs. The last attempt marks the clip failed with the reason.
  'clip-requested': { attempts: 5, backoffMs: 1000, jobId: (d) => `${d.clipId}-cut` },
  'clip-cut': { attempts: 5, backoffMs: 1000, jobId: (d) => `${d.clipId}-ready` },
  // One render per clip and size; a retry overwrites its own output. The last attempt marks that size failed with the reason.
  'audiogram-requested': { attempts: 3, backoffMs: 5000, jobId: (d) => `${d.clipId}-audiogram-${d.size}` },
};

/** PeerTube-like defaults: exponential backoff, keep completed 2 days and failed 7 days. */
export function jobOptions<Q extends QueueName>(name: Q): JobsOptions {
  const spec = QUEUE_SPECS[name];
  return {
    attempts: spec.attempts,
    backoff: { type: 'exponential', delay: spec.backoffMs },
    removeOnComplete: spec.forget ? true : { age: 2 * 24 * 3600 },
    removeOnFail: spec.forget ? true : { age: 7 * 24 * 3600 },
  };
}

/** Parses REDIS_URL (redis://, rediss://) or a unix socket path into BullMQ connection options. */
export function redisConnection(urlOrSocket: string): ConnectionOptions {
  if (urlOrSocket.startsWith('/')) return { path: urlOrSocket, maxRetriesPerRequest: null };
  const u = new URL(urlOrSocket);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

export interface Queues {
  /** The queue of one name, typed with its message. */
  get<Q extends QueueName>(name: Q): Queue<JobPayloads[Q]>;
  /**
   * Enqueues a message with its queue's job id (a repeat is a no-op) and options; `delayMs` holds it back
   * (while held, a repeat is still a no-op: the job runs once, on what stands when it runs).
   */
  add<Q extends QueueName>(name: Q, data: JobPayloads[Q], opts?: { delayMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export function openQueues(connection: ConnectionOptions, prefix = 'replay'): Queues {
  const queues = new Map<QueueName, Queue>();
  const get = <Q extends QueueName>(name: Q): Queue<JobPayloads[Q]> => {
    let q = queues.get(name);
    if (!q) queues.set(name, (q = new Queue(name, { connection, prefix, defaultJobOptions: jobOptions(name) })));
    return q as Queue<JobPayloads[Q]>;
  };
  return {
    get,
    async add(name, data, opts) {
      // BullMQ's Queue.add types its name and data through generics a mapped payload type cannot satisfy: go through the plain queue.
      await (get(name) as Queue).add(name, data, { jobId: QUEUE_SPECS[name].jobId(data), delay: opts?.delayMs });
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** Rejects after ms: enqueueing must not hang a caller while Redis is away. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
