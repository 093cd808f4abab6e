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

export async function runDemo(opts: { url: string; token: string; dataDir: string; log: Logger; print: (s: string) => void }): Promise<any> {
  const { url, token, print } = opts;
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json: any = await res.json();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${json.error}`);
    return json;
  };

  print('demo: speaking a two-voice conversation with espeak-ng ...');
  const dir = path.join(opts.dataDir, 'demo');
  const { wav } = await makeDemoConversation(dir);
  const ev = await api('POST', '/api/events', { title: 'Replay demo: a conversation about live recording', host: 'The replay team', source: { type: 'push' }, reconnectWindowSec: 10 });
  print(`demo: event ${ev.id} is live; its page already exists at ${url}/e/${ev.slug}`);

  // The conversation plays in real time (-re), encoded like a live mixer would send it.
  const body = new PassThrough();
  const enc = startFfmpeg({
    globalOptions: ['-loglevel', 'error'],
    inputs: [{ src: wav, options: ['-re'] }],
    output: body,
    outputOptions: ['-c:a', 'aac', '-b:a', '96k', '-f', 'adts'],
  });
  const pushed = fetch(ev.ingest.url, { method: 'PUT', headers: { authorization: `Bearer ${ev.ingest.key}` }, body: body as any, duplex: 'half' } as RequestInit);
  const timer = setInterval(async () => {
    const cur = await api('GET', `/api/events/${ev.id}`).catch(() => undefined);
    if (cur) print(`demo: ${cur.status} | captured ${cur.capturedSec.toFixed(1)} s | transcoded ${(cur.transcodedSec ?? 0).toFixed(1)} s | transcribed ${(cur.transcribedSec ?? 0).toFixed(1)} s`);
  }, 5000);
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
