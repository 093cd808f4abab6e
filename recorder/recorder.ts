// The recorder stage: creates events, runs one Recording per live event it
// records, resumes them after a restart, and takes pushed audio.
//
// Who records an event is decided in the catalog: one process at a time holds
// its capture lease (capture_state), renewed for all its events in one
// statement (shared/lease-times.ts says how often). A process that dies lets
// its leases lapse, and another takes the events over within
// REPLAY_LEASE_SEC. Pull events come to recorder
// processes as `record` jobs; a push is recorded by the API process that
// receives it (a holder elsewhere hands the event over once its pusher is
// gone). A holder is one data dir, so a restarted service takes its own
// events back at once, spool included. An HLS event created with redundancy
// is also recorded in replica places (replica-leases.ts), each by another
// process, through `record` jobs of their own; a replica takes the primary
// place when its holder is gone.
import crypto from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { EventCatalog, EventRow, SourceSpec } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { leaseTimes, type LeaseTimes } from '../shared/lease-times.ts';
import type { Logger } from '../shared/log.ts';
import { metrics } from '../shared/metrics.ts';
import type { AddressPolicy } from '../shared/net-policy.ts';
import type { Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { Archiver } from './archiver.ts';
import { moveChunksToPrivate } from './move-private.ts';
import { sleep } from './hls-reader.ts';
import { PushBusyError, PushSource, type PushOutcome } from './push-source.ts';
import { enqueueEnded, Recording } from './recording.ts';
import type { ReplicaLeases } from './replica-leases.ts';
import { ReplicaRecordings } from './replica-recordings.ts';
import { pullSource, type PullSource } from './sources.ts';
import type { CaptureStore } from './store.ts';

export type LifecycleEvent = 'event.started' | 'event.ended';

export interface RecorderDeps {
  catalog: EventCatalog;
  capture: CaptureStore;
  /** The replica places of redundant HLS captures. */
  replicas: ReplicaLeases;
  storage: Storage;
  queues: Queues;
  config: Config;
  log: Logger;
  /** Decides which addresses sources may connect to. */
  policy: AddressPolicy;
  /** Told when an event starts and when its capture ends (the composition root sends webhooks). */
  onLifecycle?: (type: LifecycleEvent, eventId: string) => void;
  /** This process's identity as a capture holder: stable across restarts of one data dir. */
  holder: string;
  /** What this process records: pushes it receives (api role), pull events from the record queue (recorder role). */
  records: { push: boolean; pull: boolean };
}

/** Why a record job could not record its event here. */
export type RecordOutcome = 'ended' | 'suspended' | 'busy' | 'gone';

export interface NewEvent {
  title: string;
  host?: string;
  source: SourceSpec;
  reconnectWindowSec: number;
  /** How many recorders record it at once (pull sources; an HLS source gets the extra ones). */
  redundancy?: number;
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
  /** Events recorded here in a replica place (one place per event and process). */
  private readonly replicas: ReplicaRecordings;
  /** Events being started here (so two paths cannot both start one). */
  private starting = new Map<string, Promise<Recording | undefined>>();
  private timers: NodeJS.Timeout[] = [];
  private pushSources = new Map<string, PushSource>();
  private readonly spoolRoot: string;
  private readonly lease: LeaseTimes;
  private log: Logger;

  constructor(private readonly deps: RecorderDeps) {
    this.log = deps.log.child('recorder');
    this.spoolRoot = path.join(deps.config.dataDir, 'spool');
    this.lease = leaseTimes(deps.config.leaseSec);
    this.archiver = new Archiver({ ...deps, log: this.log });
    this.replicas = new ReplicaRecordings(
      { ...deps, lease: this.lease, log: this.log },
      {
        holdsPrimary: (id) => this.recordings.has(id) || this.starting.has(id),
        open: async (ev) => this.newRecording(ev, await this.pullSourceOf(ev), 'replica'),
        adoptPromoted: (id, rec) => this.track(id, rec),
      },
    );
  }

  /** Resumes the events this data dir recorded before (spool included), then keeps leases, ends and orphans in hand. */
  async start(): Promise<void> {
    moveChunksToPrivate(this.deps.capture, this.deps.storage, this.log).catch((e) =>
      this.log.warn('could not move source chunks of an earlier layout under private/; retried at the next start', { err: e }),
    );
    this.archiver.startSweep();
    for (const id of await this.deps.capture.heldBy(this.deps.holder)) {
      this.log.info('resuming live event', { event: id });
      await this.adopt(id);
    }
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn().catch((e: Error) => this.log.warn('recorder sweep failed', { err: e.message })), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.lease.renewMs, () => this.keepLeases());
    // Ends that could not reach the queue (Redis away at that moment) are enqueued when it is back;
    // live events nobody records (their process died) are taken over.
    every(5000, () => this.sweepEnded());
    every(Math.min(5000, this.lease.retryMs), () => this.sweepOrphans());
    if (this.deps.records.pull) every(Math.min(5000, this.lease.retryMs), () => this.replicas.sweepOrphans());
    await this.sweepEnded().catch(() => {});
  }

  /** Creates the event row and starts recording it. Returns the one-time stream key for push events. */
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
    metrics.eventsCreated.inc();
    this.deps.onLifecycle?.('event.started', id);
    // A push event waits here for its pusher; a pull event goes to a recorder process.
    if (!('url' in event.source)) await this.adopt(id);
    else {
      const slots = await this.deps.replicas.addSlots(id, (input.redundancy ?? 1) - 1);
      await this.deps.queues.add('record', { eventId: id });
      for (const slot of slots) await this.deps.queues.add('record', { eventId: id, slot });
    }
    return { event, streamKey };
  }

  /** Ends an event gracefully: here if it is recorded here, else its holder ends it at its next lease renewal. */
  async end(id: string): Promise<void> {
    await this.deps.catalog.requestEnd(id);
    const rec = this.recordings.get(id) ?? (await this.starting.get(id));
    if (rec) return rec.end();
    const lease = await this.deps.capture.lease(id);
    if (lease.holder && lease.leaseUntil && Date.parse(lease.leaseUntil) > Date.now()) return;
    // Nobody records it: end it in the catalog.
    if (await this.deps.catalog.transition(id, 'ended', { reason: 'ended by request' })) {
      this.deps.onLifecycle?.('event.ended', id);
      await enqueueEnded(this.deps, id).catch(() => {});
    }
  }

  /**
   * Feeds a PUT body to a push event, recording it here (taking it over from
   * the process that holds it once its pusher is gone); resolves with how the
   * request ends. Rejects with EventNotLiveError or PushBusyError.
   */
  async push(id: string, body: Readable): Promise<PushOutcome> {
    let src = this.pushSources.get(id);
    if (!src) {
      await this.takeOver(id);
      src = this.pushSources.get(id);
    }
    if (!src) throw new EventNotLiveError('event is not live');
    return src.offer(body);
  }

  /** Records a pull event here for a record job (in a replica place when `slot` is given), until it ends or is let go. */
  async record(id: string, slot?: number): Promise<RecordOutcome> {
    const ev = await this.deps.catalog.getEvent(id);
    if (!ev || ev.status !== 'live' || !('url' in ev.source)) return 'gone';
    if (slot) return this.replicas.record(ev, slot);
    const rec = this.recordings.get(id) ?? (await this.adopt(id));
    if (!rec) return 'busy';
    await rec.done;
    return rec.outcome === 'suspended' ? 'suspended' : 'ended';
  }

  isRecording(id: string): boolean {
    return this.recordings.has(id);
  }

  /** Stops capture without ending events: another run (a restart, another process) resumes them, the downtime becoming a gap. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.recordings.values(), ...this.replicas.all()].map((r) => r.suspend()));
    this.archiver.close();
  }

  /**
   * Takes a push event's lease here, asking its holder to hand it over. A
   * live holder lets go at its next renewal once its pusher is quiet; a dead
   * one's lease lapses: either way within a lease and a renewal, which is how
   * long a pusher that reached this process waits.
   */
  private async takeOver(id: string): Promise<void> {
    const { capture, holder } = this.deps;
    if (await this.adopt(id)) return;
    await capture.requestHandover(id, holder);
    for (const until = Date.now() + this.lease.validMs + this.lease.renewMs + PUSH_TAKEOVER_MS; Date.now() < until;) {
      await sleep(200);
      if (await this.adopt(id)) return;
    }
    throw new PushBusyError('another process is recording this event; push again in a few seconds');
  }

  /** Takes the event's lease and starts recording it here; undefined when another process holds it. */
  private adopt(id: string): Promise<Recording | undefined> {
    const running = this.recordings.get(id);
    if (running) return Promise.resolve(running);
    let p = this.starting.get(id);
    if (!p) {
      p = this.startRecording(id).finally(() => this.starting.delete(id));
      this.starting.set(id, p);
    }
    return p;
  }

  private async startRecording(id: string): Promise<Recording | undefined> {
    const { config, capture, catalog, holder } = this.deps;
    // Recorded here in a replica place: the primary place is taken by promotion (replica-recordings.ts).
    if (this.replicas.has(id)) return undefined;
    const event = await catalog.getEvent(id);
    if (!event || event.status !== 'live') return undefined;
    if (!(await capture.acquire(id, holder, this.lease.validMs))) return undefined;
    let source: PullSource | PushSource;
    if ('url' in event.source) source = await this.pullSourceOf(event);
    else {
      const idleMs = config.pushIdleSec * 1000;
      const push = new PushSource({ idleMs, takeoverMs: Math.min(PUSH_TAKEOVER_MS, idleMs) });
      this.pushSources.set(id, push);
      source = push;
    }
    const rec = this.newRecording(event, source, 'primary');
    this.track(id, rec);
    return rec;
  }

  private newRecording(event: EventRow, source: PullSource | PushSource, role: 'primary' | 'replica'): Recording {
    return new Recording(event, source, { ...this.deps, archiver: this.archiver, spoolRoot: this.spoolRoot, log: this.log, role });
  }

  /** A pull event's source, resuming after its last archived HLS segment. */
  private async pullSourceOf(event: EventRow): Promise<PullSource> {
    if (!('url' in event.source)) throw new Error(`event ${event.id} is not a pull event`);
    const { config, capture } = this.deps;
    return pullSource(event.source.url, { policy: this.deps.policy, limits: config.limits }, await Recording.savedHlsState(capture, event.id));
  }

  /** Records the event here in its primary place until the recording stops, then lets its lease go. */
  private track(id: string, rec: Recording): void {
    this.recordings.set(id, rec);
    void rec.done.finally(async () => {
      this.recordings.delete(id);
      this.pushSources.delete(id);
      await this.deps.capture.release(id, this.deps.holder, rec.lastAudioAt()).catch(() => {});
    });
  }

  /** Renews this process's leases; lets go of events another process took or asked for, ends those whose end was requested elsewhere. */
  private async keepLeases(): Promise<void> {
    // Only recordings that were here before the renewal can have lost their lease (one started meanwhile took it after).
    const before = [...this.recordings];
    const held = await this.deps.capture.renewAll(this.deps.holder, this.lease.validMs);
    const ids = new Set(held.map((h) => h.eventId));
    for (const [id, rec] of before) {
      if (!ids.has(id) && rec.outcome === 'running') {
        this.log.warn('lost the capture lease: another process records this event now', { event: id });
        void rec.suspend();
      }
    }
    for (const h of held) {
      const rec = this.recordings.get(h.eventId);
      if (!rec) continue;
      if (h.endRequested) void rec.end();
      else if (h.handoverTo && h.handoverTo !== this.deps.holder && this.pushSources.get(h.eventId)?.quietFor(PUSH_TAKEOVER_MS)) {
        this.log.info('handing the event over to the process its pusher reached', { event: h.eventId });
        void rec.suspend();
      }
    }
    await this.replicas.keepLeases();
  }

  /** Live events nobody records: a push event waits for its pusher here (api role); a pull event gets a record job again. */
  private async sweepOrphans(): Promise<void> {
    for (const id of await this.deps.capture.unheldLive()) {
      if (this.recordings.has(id) || this.starting.has(id)) continue;
      if (this.replicas.has(id)) {
        await this.replicas.promote(id);
        continue;
      }
      const ev = await this.deps.catalog.getEvent(id);
      if (!ev) continue;
      if ('url' in ev.source) {
        if (this.deps.records.pull) await this.deps.queues.add('record', { eventId: id }).catch(() => {});
      } else if (this.deps.records.push) {
        await this.adopt(id);
      }
    }
  }

  /** Ended events whose end never reached the queue (Redis was down) are enqueued now. */
  private async sweepEnded(): Promise<void> {
    for (const id of await this.deps.capture.endsNotEnqueued()) {
      if (this.recordings.has(id)) continue;
      if (
        !(await enqueueEnded(this.deps, id).then(
          () => true,
          () => false,
        ))
      )
        return;
    }
  }
}
