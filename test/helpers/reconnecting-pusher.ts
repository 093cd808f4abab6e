// A pusher as a real encoder behind a load balancer behaves: one real-time
// AAC encoder whose ADTS frames go to a `PUT /ingest/:id`; when that
// connection breaks (the API process died), it connects to the next API
// process with the same key and goes on. Frames produced while it has no
// connection are lost, as they would be for a live encoder.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { adtsFramer } from './adts.ts';
import { liveToneArgs } from './tone.ts';

export interface ReconnectingPusher {
  /** Resolves when the encoder has produced all its audio and the last request ended. */
  done: Promise<void>;
  /** Each connection: when it was opened (ms epoch), to which URL, and when it broke, if it did. */
  connections: { url: string; openedAt: number; brokeAt?: number; status?: number }[];
  /** Seconds of audio produced while no connection was open. */
  droppedSec(): number;
  stop(): void;
}

const SAMPLE_RATE = 44100;
const RETRY_MS = 200;

export function reconnectingPusher(ingestUrls: string[], key: string, seconds: number, freq = 330): ReconnectingPusher {
  const enc = spawn('ffmpeg', [...liveToneArgs({ freq, seconds, sampleRate: SAMPLE_RATE, mono: true }), '-f', 'adts', 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const connections: ReconnectingPusher['connections'] = [];
  let req: http.ClientRequest | undefined;
  let next = 0;
  let dropped = 0;
  let ended = false;
  let lastEnded: Promise<void> = Promise.resolve();

  const connect = (): void => {
    if (ended) return;
    const url = ingestUrls[next++ % ingestUrls.length];
    const u = new URL(url);
    const c: ReconnectingPusher['connections'][number] = { url, openedAt: Date.now() };
    connections.push(c);
    const r = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'audio/aac' },
    });
    req = r;
    lastEnded = new Promise<void>((resolve) => {
      const broke = () => {
        if (req === r) req = undefined;
        c.brokeAt ??= Date.now();
        resolve();
        if (!ended) setTimeout(connect, RETRY_MS);
      };
      r.on('response', (res) => {
        c.status = res.statusCode;
        res.resume();
        res.on('end', () => (ended && res.statusCode === 200 ? resolve() : broke()));
      });
      r.on('error', broke);
    });
    r.flushHeaders();
  };

  const framer = adtsFramer((frame) => {
    if (req && !req.destroyed) req.write(frame);
    else dropped++;
  });
  enc.stdout.on('data', framer);
  const finished = new Promise<void>((resolve) => enc.on('exit', () => resolve()));
  connect();
  const done = finished.then(async () => {
    ended = true;
    req?.end();
    await lastEnded;
  });
  return {
    done,
    connections,
    droppedSec: () => (dropped * 1024) / SAMPLE_RATE,
    stop() {
      ended = true;
      enc.kill('SIGKILL');
      req?.destroy();
    },
  };
}
