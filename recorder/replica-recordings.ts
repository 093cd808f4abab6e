// The replica recordings of this process: redundant HLS captures it records
// in a replica place (replica-leases.ts) beside the primary, which is another
// process. A replica archives like the primary (archiver.ts keeps each media
// sequence once) and leaves the event's end to it; when the primary's lease
// lapses, the replica takes the primary place without stopping, and its own
// place goes back to the queue for the next free recorder. The recorder
// (recorder.ts) hands record jobs with a slot here and sweeps through here.
import type { EventRow } from '../shared/catalog/events.ts';
import type { LeaseTimes } from '../shared/lease-times.ts';
import type { Logger } from '../shared/log.ts';
import type { Queues } from '../shared/queues.ts';
import type { ReplicaLeases } from './replica-leases.ts';
import type { Recording } from './recording.ts';
import type { CaptureStore } from './store.ts';

export interface ReplicaHost {
  /** True while this process records the event in its primary place, or is taking it. */
  holdsPrimary(id: string): boolean;
  /** Starts recording the event in a replica place, from after its last archived segment. */
  open(ev: EventRow): Promise<Recording>;
  /** A replica promoted here: the recorder records it as the primary from now on. */
  adoptPromoted(id: string, rec: Recording): void;
}

export interface ReplicaDeps {
  replicas: ReplicaLeases;
  capture: CaptureStore;
  queues: Queues;
  holder: string;
  lease: LeaseTimes;
  log: Logger;
}

/** What a replica's record job learns: done (ended, or promoted), or back to the queue. */
export type ReplicaOutcome = 'ended' | 'suspended' | 'busy';

interface ReplicaHere {
  slot: number;
  rec: Recording;
  /** Resolves when the record job of the place is done here (stopped, or promoted to primary). */
  released: Promise<ReplicaOutcome>;
  release: (how: ReplicaOutcome) => void;
}

export class ReplicaRecordings {
  private here = new Map<string, ReplicaHere>();
  /** Events whose replica place is being taken here (so the primary place is not taken at the same moment). */
  private starting = new Set<string>();

  constructor(
    private readonly deps: ReplicaDeps,
    private readonly host: ReplicaHost,
  ) {}

  /** True while this process records the event in a replica place, or is taking one. */
  has(id: string): boolean {
    return this.here.has(id) || this.starting.has(id);
  }

  all(): Recording[] {
    return [...this.here.values()].map((r) => r.rec);
  }

  /** Records a live HLS event in a replica place until it stops or is promoted; 'busy' when the place or the event is taken here. */
  async record(ev: EventRow, slot: number): Promise<ReplicaOutcome> {
    const running = this.here.get(ev.id);
    if (running) return running.slot === slot ? running.released : 'busy';
    // No process holds two places of one event (the leases refuse it too, but two statements at one moment could both pass).
    if (this.host.holdsPrimary(ev.id) || this.has(ev.id)) return 'busy';
    this.starting.add(ev.id);
    let rec: Recording;
    try {
      if (!(await this.deps.replicas.acquire(ev.id, slot, this.deps.holder, this.deps.lease.validMs))) return 'busy';
      rec = await this.host.open(ev);
    } finally {
      this.starting.delete(ev.id);
    }
    let release!: ReplicaHere['release'];
    const released = new Promise<ReplicaOutcome>((r) => (release = r));
    const entry: ReplicaHere = { slot, rec, released, release };
    this.here.set(ev.id, entry);
    this.deps.log.info('recording as a replica', { event: ev.id, slot });
    void rec.done.finally(async () => {
      if (this.here.get(ev.id) !== entry) return; // promoted
      this.here.delete(ev.id);
      if (rec.outcome === 'not-hls') {
        this.deps.log.info('the source is not HLS: only the primary records it', { event: ev.id, slot });
        await this.deps.replicas.dropSlot(ev.id, slot).catch(() => {});
      } else await this.deps.replicas.release(ev.id, slot, this.deps.holder).catch(() => {});
      release(rec.outcome === 'suspended' ? 'suspended' : 'ended');
    });
    return released;
  }

  /**
   * The primary of an event recorded here as a replica is gone: this
   * recording takes its place, with nothing to catch up (it never stopped),
   * and its replica place is left for another recorder.
   */
  async promote(id: string): Promise<void> {
    const entry = this.here.get(id);
    if (!entry || entry.rec.outcome !== 'running') return;
    const { replicas, capture, holder, lease } = this.deps;
    await replicas.release(id, entry.slot, holder);
    if (!(await capture.acquire(id, holder, lease.validMs))) {
      // Another recorder took the primary place first: stay a replica if the place is still ours to take.
      if (!(await replicas.acquire(id, entry.slot, holder, lease.validMs))) void entry.rec.suspend();
      return;
    }
    this.deps.log.warn('the primary recorder of the event is gone: its replica here takes its place', { event: id, slot: entry.slot });
    this.here.delete(id);
    entry.rec.promote();
    this.host.adoptPromoted(id, entry.rec);
    entry.release('ended');
  }

  /** Renews this process's replica leases; a replica stops (ending nothing) once the event is no longer live or its end was asked for. */
  async keepLeases(): Promise<void> {
    const before = [...this.here];
    const held = new Map((await this.deps.replicas.renewAll(this.deps.holder, this.deps.lease.validMs)).map((h) => [h.eventId, h]));
    for (const [id, entry] of before) {
      const h = held.get(id);
      // (Promoted meanwhile: the primary lease is its own now.)
      if (entry.rec.outcome !== 'running' || this.here.get(id) !== entry) continue;
      if (!h || h.slot !== entry.slot) {
        this.deps.log.warn('lost a replica lease: another process records in this place now', { event: id, slot: entry.slot });
        void entry.rec.suspend();
      } else if (h.endRequested || h.status !== 'live') void entry.rec.end();
    }
  }

  /** Replica places nobody holds get a record job again, for any recorder that does not record the event yet. */
  async sweepOrphans(): Promise<void> {
    for (const { eventId, slot } of await this.deps.replicas.unheld()) {
      await this.deps.queues.add('record', { eventId, slot }).catch(() => {});
    }
  }
}
