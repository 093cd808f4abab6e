// A push source: the event's audio arrives as the body of `PUT /ingest/:id`
// (e.g. `ffmpeg ... -f adts - | curl -T - URL`). One pusher at a time; when
// its request ends the source counts as dropped and a new PUT within the
// reconnect window continues the same event.
import type { Readable } from 'node:stream';
import type { FeedItem } from './hls-reader.ts';
import type { Feed } from './sources.ts';

export class PushBusyError extends Error {}

export class PushSource {
  private waiter?: { resolve: (f: Feed) => void };
  private queued?: Feed;
  private busy = false;

  /** Hands a request body to the recording; resolves when the recording has consumed it. */
  offer(body: Readable): Promise<void> {
    if (this.busy) throw new PushBusyError('another client is already pushing to this event');
    this.busy = true;
    return new Promise<void>((done) => {
      const release = () => {
        if (!this.busy) return;
        this.busy = false;
        done();
      };
      async function* items(): AsyncGenerator<FeedItem> {
        try {
          for await (const data of body) yield { type: 'data', data: data as Buffer };
        } finally {
          release();
        }
      }
      const feed: Feed = { kind: 'bytes', items: items(), close: () => { body.destroy(); release(); } };
      body.once('close', release);
      if (this.waiter) {
        this.waiter.resolve(feed);
        this.waiter = undefined;
      } else {
        this.queued = feed;
      }
    });
  }

  /** Waits for the next pusher, until the signal aborts (then rejects). */
  connect(signal: AbortSignal): Promise<Feed> {
    if (this.queued) {
      const f = this.queued;
      this.queued = undefined;
      return Promise.resolve(f);
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('no pusher connected'));
      this.waiter = { resolve };
      signal.addEventListener('abort', () => {
        this.waiter = undefined;
        reject(new Error('no pusher connected'));
      }, { once: true });
    });
  }
}
