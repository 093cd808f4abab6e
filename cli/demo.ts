// `replay start --demo`: one event end to end, through the real front door.
// A synthetic two-voice conversation is played in real time as a live source
// on loopback (pushed to the ingest endpoint, as an encoder would), recorded,
// transcoded, transcribed, published, and the replay URL printed.
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startFfmpeg } from '../shared/ffmpeg.ts';
import type { Logger } from '../shared/log.ts';
import { makeDemoConversation } from './demo-conversation.ts';
import type { ApiErrorJson, EventJson } from './event-json.ts';

/**
 * Node's fetch streams an async iterable body (with duplex: 'half'); the DOM's
 * RequestInit type, which the global fetch is declared with, knows neither.
 */
type StreamingRequestInit = Omit<RequestInit, 'body'> & { body: AsyncIterable<Uint8Array>; duplex: 'half' };

export async function runDemo(opts: { url: string; token: string; dataDir: string; log: Logger; print: (s: string) => void }): Promise<EventJson> {
  const { url, token, print } = opts;
  // Every route the demo calls answers with an event.
  const api = async (method: string, p: string, body?: unknown): Promise<EventJson> => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${(json as ApiErrorJson).error}`);
    return json as EventJson;
  };

  print('demo: speaking a two-voice conversation with espeak-ng ...');
  const dir = path.join(opts.dataDir, 'demo');
  const { wav } = await makeDemoConversation(dir);
  const ev = await api('POST', '/api/events', {
    title: 'Replay demo: a conversation about live recording',
    host: 'The replay team',
    source: { type: 'push' },
    reconnectWindowSec: 10,
  });
  print(`demo: event ${ev.id} is live; its page already exists at ${url}/e/${ev.slug}`);
  const { ingest } = ev;
  if (!ingest) throw new Error('POST /api/events: the push event came back without its ingest URL');

  // The conversation plays in real time (-re), encoded like a live mixer would send it.
  const body = new PassThrough();
  const enc = startFfmpeg({
    globalOptions: ['-loglevel', 'error'],
    inputs: [{ src: wav, options: ['-re'] }],
    output: body,
    outputOptions: ['-c:a', 'aac', '-b:a', '96k', '-f', 'adts'],
  });
  const push: StreamingRequestInit = { method: 'PUT', headers: { authorization: `Bearer ${ingest.key}` }, body, duplex: 'half' };
  const pushed = fetch(ingest.url, push as unknown as RequestInit);
  // A failed progress request is skipped: the next one comes 5 s later.
  const printProgress = async () => {
    const cur = await api('GET', `/api/events/${ev.id}`).catch(() => undefined);
    if (cur)
      print(
        `demo: ${cur.status} | captured ${cur.capturedSec.toFixed(1)} s | transcoded ${(cur.transcodedSec ?? 0).toFixed(1)} s | transcribed ${(cur.transcribedSec ?? 0).toFixed(1)} s`,
      );
  };
  const timer = setInterval(() => void printProgress(), 5000);
  try {
    await enc.done;
    const res = await pushed;
    if (!res.ok) throw new Error(`push failed: HTTP ${res.status}`);
    await api('POST', `/api/events/${ev.id}/end`);
    for (;;) {
      const cur = await api('GET', `/api/events/${ev.id}`);
      if (cur.status === 'published' || cur.status === 'failed') return cur;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    clearInterval(timer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
