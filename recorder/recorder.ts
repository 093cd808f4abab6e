// The recorder stage: creates events, runs one Recording per live event,
// resumes live events after a restart, and takes pushed audio.
import crypto from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { EventCatalog, EventRow, SourceSpec } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/log.ts';
import type { AddressPolicy } from '../shared/net-policy.ts';
import type { Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { Archiver } from './archiver.ts';
import { moveChunksToPrivate } from './move-private.ts';
import { PushSource, type PushOutcome } from './push-source.ts';
import { enqueueEnded, Recording } from './recording.ts';
import { pullSource } from './sources.ts';
import type { CaptureStore } from './store.ts';

export type LifecycleEvent = 'event.started' | 'event.ended';

export interface RecorderDeps {
  catalog: EventCatalog;
  capture: CaptureStore;
  storage: Storage;
  queues: Queues;
  config: Config;
  log: Logger;
  /** Decides which addresses sources may connect to. */
  policy: AddressPolicy;
  /** Told when an event starts and when its capture ends (the composition root sends webhooks). */
  onLifecycle?: (type: LifecycleEvent, eventId: string) => void;
}

export interface NewEvent {
  title: string;
  host?: string;
  source: SourceSpec;
  reconnectWindowSec: number;
  /** Fingerprint of the API token that creates it. */
  owner: string;
}

export class EventNotLiveError extends Error {}

/** A token already has as many live events as REPLAY_MAX_LIVE_EVENTS_PER_TOKEN allows. */
export class TooManyLiveEventsError extends Error {}

/** A quiet pusher gives way to a new one after this long (or the idle time, when shorter). */
const PUSH_TAKEOVER_MS = 2000;

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** Lower-case words of the title plus a random suffix: readable, unique, and safe in a URL path. */
export function makeSlug(title: string): string {
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  const suffix = crypto.randomBytes(4).toString('hex');
  return words ? `${words}-${suffix}` : suffix;
}

export class Recorder {
  readonly archiver: Archiver;
  private recordings = new Map<string, Recording>();
  /** Pull events whose saved progress is being read (so a resume and a create cannot both start one). */
  private starting = new Set<string>();
  private sweepTimer?: NodeJS.Timeout;
  private pushSources = new Map<string, PushSource>();
  private readonly spoolRoot: string;
  private log: Logger;

  constructor(private readonly deps: RecorderDeps) {
    this.log = deps.log.child('recorder');
    this.spoolRoot = path.join(deps.config.dataDir, 'spool');
    this.archiver = new Archiver({ ...deps, log: this.log });
  }

  /** Resumes every live event (after a restart or crash) and starts the catch-up sweeps. */
  async start(): Promise<void> {
    moveChunksToPrivate(this.deps.capture, this.deps.storage, this.log).catch((e) =>
      this.log.warn('could not move source chunks of an earlier layout under private/; retried at the next start', { err: e }),
    );
    this.archiver.startSweep();
    for (const ev of await this.deps.catalog.liveEvents()) {
      this.log.info('resuming live event', { event: ev.id });
      await this.run(ev);
    }
    // Ends that could not reach the queue (Redis away at that moment) are enqueued when it is back.
    const sweep = () => this.sweepEnded().catch(() => {});
    void sweep();
    this.sweepTimer = setInterval(sweep, 5000);
    this.sweepTimer.unref();
  }

  /** Creates the event row and starts recording. Returns the one-time stream key for push events. */
  async create(input: NewEvent): Promise<{ event: EventRow; streamKey?: string }> {
    const max = this.deps.config.limits.liveEventsPerToken;
    if ((await this.deps.catalog.liveCount(input.owner)) >= max) {
      throw new TooManyLiveEventsError(`this token already has ${max} live events (REPLAY_MAX_LIVE_EVENTS_PER_TOKEN); end one first`);
    }
    const id = 'ev_' + crypto.randomBytes(8).toString('hex');
    const streamKey = 'type' in input.source ? 'sk_' + crypto.randomBytes(24).toString('base64url') : undefined;
    const event = await this.deps.catalog.createEvent({
      id,
      slug: makeSlug(input.title),
      title: input.title,
      host: input.host ?? null,
      owner: input.owner,
      source: input.source,
      streamKeyHash: streamKey ? hashKey(streamKey) : null,
      reconnectWindowSec: input.reconnectWindowSec,
    });
    this.log.info('event created', { event: id, source: 'url' in input.source ? 'pull' : 'push' });
    this.deps.onLifecycle?.('event.started', id);
    await this.run(event);
    return { event, streamKey };
  }

  /** Ends an event gracefully; a repeated call waits for the same end. */
  async end(id: string): Promise<void> {
    const rec = this.recordings.get(id);
    await this.deps.catalog.requestEnd(id);
    if (rec) return rec.end();
    // Live in the catalog but not running here (e.g. another node): end it in the catalog.
    if (await this.deps.catalog.transition(id, 'ended', { reason: 'ended by request' })) {
      this.deps.onLifecycle?.('event.ended', id);
      await enqueueEnded(this.deps, id).catch(() => {});
    }
  }

  /** Feeds a PUT body to a push event; resolves with how the request ends. Throws EventNotLiveError or PushBusyError. */
  push(id: string, body: Readable): Promise<PushOutcome> {
    const src = this.pushSources.get(id);
    if (!src || !this.recordings.has(id)) throw new EventNotLiveError('event is not live');
    return src.offer(body);
  }

  isRecording(id: string): boolean {
    return this.recordings.has(id);
  }

  /** Stops capture without ending events: a restart resumes them, the downtime becoming a gap. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all([...this.recordings.values()].map((r) => r.suspend()));
    await this.archiver.close();
  }

  private async run(event: EventRow): Promise<void> {
    if (this.recordings.has(event.id) || this.starting.has(event.id)) return;
    const { config } = this.deps;
    let source;
    if ('url' in event.source) {
      this.starting.add(event.id);
      try {
        source = pullSource(event.source.url, { policy: this.deps.policy, limits: config.limits }, await Recording.savedHlsState(this.deps.capture, event.id));
      } finally {
        this.starting.delete(event.id);
      }
    } else {
      const idleMs = config.pushIdleSec * 1000;
      source = new PushSource({ idleMs, takeoverMs: Math.min(PUSH_TAKEOVER_MS, idleMs) });
      this.pushSources.set(event.id, source);
    }
    const rec = new Recording(event, source, { ...this.deps, archiver: this.archiver, spoolRoot: this.spoolRoot, log: this.log });
    this.recordings.set(event.id, rec);
    void rec.done.finally(() => {
      this.recordings.delete(event.id);
      this.pushSources.delete(event.id);
    });
  }

  /** Ended events whose end never reached the queue (Redis was down) are enqueued now. */
  private async sweepEnded(): Promise<void> {
    for (const id of await this.deps.capture.endsNotEnqueued()) {
      if (this.recordings.has(id)) continue;
      if (!(await enqueueEnded(this.deps, id).then(() => true, () => false))) return;
    }
  }
}
