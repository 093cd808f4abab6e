// A push source: the event's audio arrives as the body of `PUT /ingest/:id`
// (e.g. `ffmpeg ... -f adts - | curl -T - URL`). One pusher at a time; when
// its request ends the source counts as dropped and a new PUT within the
// reconnect window continues the same event.
//
// A pusher cannot wedge the event: one that sends nothing for the idle time
// is cut off (408) and counts as a drop; a new pusher with the right key takes
// over from one that has gone quiet (the old one gets 409); and when the
// segmenter cannot read what is pushed, the recording ends the request with
// the reason (422). Every offer is settled exactly once with what the route
// answers.
import type { Readable } from 'node:stream';
import type { FeedItem } from './hls-reader.ts';
import type { Feed } from './sources.ts';

export class PushBusyError extends Error {}

/** Nobody pushed within the time the recording waited. */
export class NoPusherError extends Error {}

/** How a push request ends: 200 when its stream was taken to its end, otherwise why it was cut off. */
export type PushOutcome = { status: 200 } | { status: 408 | 409 | 422; reason: string };

export interface PushTimings {
  /** A pusher that sends nothing for this long is cut off. */
  idleMs: number;
  /** A pusher quiet for this long gives way to a new one. */
  takeoverMs: number;
}

class Pusher {
  lastDataAt = Date.now();
  readonly outcome: Promise<PushOutcome>;
  private resolve!: (o: PushOutcome) => void;
  private stop!: () => void;
  /** Resolves when the pusher was settled from outside (idle, takeover, rejected, closed). */
  readonly stopped = new Promise<'stopped'>((r) => (this.stop = () => r('stopped')));
  settled = false;

  constructor(readonly body: Readable) {
    this.outcome = new Promise((r) => (this.resolve = r));
  }

  settle(o: PushOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(o);
    this.stop();
  }
}

export class PushSource {
  private waiter?: { resolve: (f: Feed) => void };
  private queued?: Feed;
  private current?: Pusher;

  constructor(private readonly timings: PushTimings) {}

  /** True when no pusher is sending, or the current one has been quiet for `ms` (it may give way). */
  quietFor(ms: number): boolean {
    const cur = this.current;
    return !cur || cur.settled || Date.now() - cur.lastDataAt >= ms;
  }

  /** Hands a request body to the recording; resolves with how the request ends. Throws PushBusyError. */
  offer(body: Readable): Promise<PushOutcome> {
    const cur = this.current;
    if (cur && !cur.settled) {
      if (Date.now() - cur.lastDataAt < this.timings.takeoverMs) throw new PushBusyError('another client is pushing to this event');
      cur.settle({ status: 409, reason: 'a new pusher took over this event' });
    }
    const pusher = new Pusher(body);
    this.current = pusher;
    const feed: Feed = { kind: 'bytes', items: this.items(pusher), close: (reason) => pusher.settle(reason ? { status: 422, reason } : { status: 200 }) };
    body.once('close', () => pusher.settle({ status: 200 }));
    if (this.waiter) {
      this.waiter.resolve(feed);
      this.waiter = undefined;
    } else {
      this.queued = feed;
    }
    return pusher.outcome;
  }

  private async *items(pusher: Pusher): AsyncGenerator<FeedItem> {
    const it = pusher.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const idleSec = Math.round(this.timings.idleMs / 1000);
    try {
      while (!pusher.settled) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<'idle'>((r) => (timer = setTimeout(() => r('idle'), this.timings.idleMs)));
        const next = await Promise.race([it.next(), pusher.stopped, idle]).finally(() => clearTimeout(timer));
        if (next === 'idle') return pusher.settle({ status: 408, reason: `no audio received for ${idleSec} s` });
        if (next === 'stopped' || next.done) return;
        pusher.lastDataAt = Date.now();
        yield { type: 'data', data: next.value };
      }
    } catch {
      // The client went away mid-body: nobody is left to answer.
    } finally {
      pusher.settle({ status: 200 });
    }
  }

  /** Waits for the next pusher, until the signal aborts (then rejects). */
  connect(signal: AbortSignal): Promise<Feed> {
    if (this.queued) {
      const f = this.queued;
      this.queued = undefined;
      return Promise.resolve(f);
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new NoPusherError('no pusher connected'));
      this.waiter = { resolve };
      signal.addEventListener(
        'abort',
        () => {
          this.waiter = undefined;
          reject(new NoPusherError('no pusher connected'));
        },
        { once: true },
      );
    });
  }
}
