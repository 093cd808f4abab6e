// The queues the stages meet through, and the typed messages on them.
// This file is the map of the pipeline: read it to see where a chunk goes next.
//
//   recorder    --chunk-archived-->     transcoder   one job per sealed, archived chunk
//   recorder    --event-ended------->   transcoder   capture stopped: finish the rendition
//   transcoder  --pcm-ready--------->   transcriber  16 kHz PCM of a rendition segment (final: the last one)
//   transcoder  --rendition-ready--->   publisher    the rendition is complete: publish
//   transcriber --transcript-ready-->   publisher    the transcript is complete (or changed late): (re)publish it
//   any stage   --webhook----------->   publisher    one delivery attempt per endpoint
//
// Job ids are derived from the subject (event id + sequence number), so a
// retried or repeated enqueue is a no-op in BullMQ rather than a duplicate.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

export const QUEUE = {
  chunkArchived: 'chunk-archived',
  pcmReady: 'pcm-ready',
  eventEnded: 'event-ended',
  renditionReady: 'rendition-ready',
  transcriptReady: 'transcript-ready',
  webhook: 'webhook',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/** A sealed chunk of unedited source audio, archived in storage and recorded in the catalog. */
export interface ChunkArchivedJob {
  eventId: string;
  seq: number;
  /** Storage key of the archived chunk (MPEG-TS, source codec). */
  key: string;
  /** Position of the chunk's first sample on the event timeline, in seconds. */
  startSec: number;
  durationSec: number;
  sha256: string;
}

export interface EventEndedJob {
  eventId: string;
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

/** The rendition of an ended event is complete (ENDLIST written, loudness and peaks final). */
export interface RenditionReadyJob {
  eventId: string;
}

/** The event's transcript files in storage changed (complete, or a window finished late). */
export interface TranscriptReadyJob {
  eventId: string;
  revision: number;
}

export interface WebhookJob {
  deliveryId: string;
}

export const jobId = {
  chunk: (eventId: string, seq: number) => `${eventId}-chunk-${seq}`,
  ended: (eventId: string) => `${eventId}-ended`,
  rendition: (eventId: string) => `${eventId}-rendition`,
  transcript: (eventId: string, revision: number) => `${eventId}-transcript-${revision}`,
};

/** PeerTube-like defaults: exponential backoff, keep completed 2 days and failed 7 days. */
export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 2 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

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
  chunkArchived: Queue<ChunkArchivedJob>;
  pcmReady: Queue<PcmReadyJob>;
  eventEnded: Queue<EventEndedJob>;
  renditionReady: Queue<RenditionReadyJob>;
  transcriptReady: Queue<TranscriptReadyJob>;
  webhook: Queue<WebhookJob>;
  close(): Promise<void>;
}

export function openQueues(connection: ConnectionOptions, prefix = 'replay'): Queues {
  const mk = <T>(name: QueueName) =>
    new Queue<T>(name, { connection, prefix, defaultJobOptions });
  const q = {
    chunkArchived: mk<ChunkArchivedJob>(QUEUE.chunkArchived),
    pcmReady: mk<PcmReadyJob>(QUEUE.pcmReady),
    eventEnded: mk<EventEndedJob>(QUEUE.eventEnded),
    renditionReady: mk<RenditionReadyJob>(QUEUE.renditionReady),
    transcriptReady: mk<TranscriptReadyJob>(QUEUE.transcriptReady),
    webhook: mk<WebhookJob>(QUEUE.webhook),
  };
  return {
    ...q,
    async close() {
      await Promise.all(Object.values(q).map((x) => x.close()));
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
