// Hostile URLs against the real service on loopback, as an attacker would
// send them: private sources off, one hostile origin let through with
// REPLAY_ALLOWED_SOURCE_HOSTS, and a listener that counts every connection
// that reaches it. Every literal form of its address, every redirect to it and
// every URI inside a playlist naming it must reach it zero times; secrets in
// RTMP and SRT URLs must appear nowhere the public or the logs can read.
import crypto from 'node:crypto';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingListener, loopbackForms, origin, type Counter } from './helpers/hostile.ts';
import { freePort, startService, type RunningService } from './helpers/service.ts';

let svc: RunningService;
let counter: Counter;
let evil: Awaited<ReturnType<typeof origin>>;
let forms: string[];
let closedRtmp: number;
let closedSrt: number;
let nestedRequests = 0;

const ended = (e: any) => e.status !== 'live';

/** The hostile origin: redirects and playlists whose every URI points at the counter in one literal form. */
function evilHandler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const u = new URL(req.url ?? '/', 'http://x');
  const [, kind, n] = /^\/(\w+)\/(\d+)/.exec(u.pathname) ?? [];
  const target = forms[Number(n)];
  const playlist = (text: string) => {
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
    res.end(text);
  };
  switch (kind) {
    case 'redirect':
      res.writeHead(302, { location: target });
      return res.end();
    case 'master':
      return playlist(`#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\n${target}\n`);
    case 'audio':
      return playlist(`#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="a",URI="${target}"\n#EXT-X-STREAM-INF:BANDWIDTH=64000,AUDIO="a"\n/none.m3u8\n`);
    case 'media':
      return playlist(`#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2,\n${target}\n#EXT-X-ENDLIST\n`);
    case 'map':
      return playlist(`#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="${target}"\n#EXTINF:2,\n/seg.m4s\n#EXT-X-ENDLIST\n`);
    case 'big':
      // A playlist past REPLAY_MAX_PLAYLIST_BYTES (1 MiB).
      return playlist('#EXTM3U\n' + '#EXT-X-COMMENT:' + 'x'.repeat(2 << 20) + '\n');
    case 'bigseg':
      return playlist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/huge/0.ts\n#EXT-X-ENDLIST\n');
    case 'huge':
      // A segment past REPLAY_MAX_SEGMENT_BYTES (8 MiB), without a Content-Length to check first.
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1 << 20));
      return res.end();
    case 'nest':
      // A master naming a master naming a master...: followed only so deep.
      nestedRequests++;
      return playlist(`#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/nest/${Number(n) + 1}.m3u8\n`);
    default:
      res.writeHead(404);
      res.end();
  }
}

beforeAll(async () => {
  counter = await countingListener();
  forms = await loopbackForms(counter.port);
  evil = await origin(evilHandler);
  [closedRtmp, closedSrt] = await Promise.all([freePort(), freePort()]);
  svc = await startService({
    env: {
      REPLAY_ALLOW_PRIVATE_SOURCES: '',
      // Exactly the hostile origin and two closed ports are let through; the counter's port is not.
      REPLAY_ALLOWED_SOURCE_HOSTS: `127.0.0.1:${evil.port},127.0.0.1:${closedRtmp},localhost:${closedRtmp},127.0.0.1:${closedSrt}`,
      REPLAY_MAX_LIVE_EVENTS_PER_TOKEN: '100',
    },
  });
});

afterAll(async () => {
  await svc?.stop();
  await evil?.close();
  await counter?.close();
});

async function createAll(urls: string[]): Promise<any[]> {
  const created = await Promise.all(urls.map((url) => svc.api('POST', '/api/events', { title: 'hostile', source: { url }, reconnectWindowSec: 0 })));
  for (const [i, r] of created.entries()) expect(r.status, `${urls[i]}: ${JSON.stringify(r.body)}`).toBe(201);
  return Promise.all(created.map((r) => svc.waitFor(r.body.id, ended, 60_000)));
}

describe('addresses: zero connections reach the listener', () => {
  it('refuses a private literal in any form at create: 400 naming source.url, nothing created', async () => {
    const before = (await svc.api('GET', '/api/events')).body.events.length;
    const literals = forms.filter((f) => new URL(f).hostname !== os.hostname().toLowerCase());
    const extra = [
      `https://127.0.0.1:${counter.port}/x`,
      `http://user:pw@127.0.0.1:${counter.port}/x`,
      `rtmp://2130706433:${counter.port}/live/key`,
      `rtmp://0x7f.1:${counter.port}/live/key`,
      `rtmps://[::1]:${counter.port}/live/key`,
      `srt://127.1:${counter.port}`,
      `srt://[::ffff:7f00:1]:${counter.port}?passphrase=0123456789abc`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://100.100.100.200/latest/meta-data/',
      'http://[fe80::1%25lo]/x',
      'http://localhost/x',
      `http://a.localhost.:${counter.port}/x`,
      'http://10.0.0.1/x',
      'http://[fec0::1]/x',
      'http://[64:ff9b:1::a00:1]/x',
      'http://[2001::1]/x',
      'http://[100::1]/x',
    ];
    for (const url of [...literals, ...extra]) {
      const r = await svc.api('POST', '/api/events', { title: 'ssrf', source: { url } });
      expect(r.status, url).toBe(400);
      expect(r.body.field, url).toBe('source.url');
    }
    expect((await svc.api('GET', '/api/events')).body.events.length).toBe(before);
    expect(counter.count).toBe(0);
  });

  it('refuses a name that resolves to a private address when connecting, and says so', async () => {
    const names = forms.filter((f) => new URL(f).hostname === os.hostname().toLowerCase());
    if (!names.length) return; // this machine's name does not resolve to loopback
    const [ev] = await createAll(names);
    expect(ev.status).toBe('failed');
    expect(ev.error).toMatch(/refused: private address 127\.0\.0\.1 \(loopback\)/);
    expect(counter.count).toBe(0);
  });

  it.each(['redirect', 'master', 'audio', 'media', 'map'])('follows no %s from an allowed origin to any form of a private address', async (kind) => {
    const urls = forms.map((_, i) => `${evil.url}/${kind}/${i}.m3u8`);
    const events = await createAll(urls);
    for (const [i, ev] of events.entries()) {
      expect(ev.status, forms[i]).toBe('failed');
      expect(ev.chunks, forms[i]).toBe(0);
      // The error tells what happened in words, and is no oracle: nothing was connected to.
      expect(ev.error, forms[i]).toMatch(/refused: private address/);
    }
    expect(counter.count).toBe(0);
  });

  it('follows nested master playlists only REPLAY_MAX_PLAYLIST_DEPTH deep', async () => {
    nestedRequests = 0;
    const [ev] = await createAll([`${evil.url}/nest/0.m3u8`]);
    expect(ev.status).toBe('failed');
    expect(ev.error).toMatch(/nested deeper than 3 levels/);
    // 3 levels, retried 3 times at the most: the recursion has an end.
    expect(nestedRequests).toBeLessThanOrEqual(9);
  });
});

describe('sizes', () => {
  it('fetches no playlist past REPLAY_MAX_PLAYLIST_BYTES and no segment past REPLAY_MAX_SEGMENT_BYTES', async () => {
    const [big, bigseg] = await createAll([`${evil.url}/big/0.m3u8`, `${evil.url}/bigseg/0.m3u8`]);
    expect(big.status).toBe('failed');
    expect(big.error).toMatch(/HLS playlist larger than 1048576 bytes/);
    expect(bigseg.status).toBe('failed');
    expect(bigseg.error).toMatch(/HLS segment larger than 8388608 bytes/);
  });
});

describe('secrets', () => {
  it('shows no credential, stream key, token or passphrase of an RTMP or SRT source anywhere', async () => {
    const s = () => crypto.randomBytes(6).toString('hex');
    const secrets = {
      user: `usr${s()}`,
      pass: `pw${s()}`,
      key: `streamkey${s()}`,
      tok: `tok${s()}`,
      passphrase: `passphrase${s()}`,
      streamid: `sid${s()}`,
      app: `app${s()}`,
    };
    const urls = [
      `rtmp://${secrets.user}:${secrets.pass}@127.0.0.1:${closedRtmp}/${secrets.app}/${secrets.key}?tok=${secrets.tok}`,
      `rtmp://${secrets.user}:${secrets.pass}@localhost:${closedRtmp}/${secrets.app}/${secrets.key}?tok=${secrets.tok}`,
      `srt://127.0.0.1:${closedSrt}?passphrase=${secrets.passphrase}&streamid=${secrets.streamid}&pbkeylen=16`,
    ];
    const events = await createAll(urls);
    expect(events[0].error).toMatch(/connection refused \(rtmp:\/\/127\.0\.0\.1:\d+\)/);
    expect(events[1].error).toMatch(/connection refused \(rtmp:\/\/localhost:\d+\)/);
    expect(events[2].status).toBe('failed');
    const list = JSON.stringify((await svc.api('GET', '/api/events')).body);
    const one = JSON.stringify(await Promise.all(events.map((e) => svc.api('GET', `/api/events/${e.id}`).then((r) => r.body))));
    const chunks = JSON.stringify(await Promise.all(events.map((e) => svc.api('GET', `/api/events/${e.id}/chunks`).then((r) => r.body))));
    for (const [name, secret] of Object.entries(secrets)) {
      for (const [where, text] of [
        ['event list', list],
        ['event JSON', one],
        ['chunks', chunks],
        ['service log', svc.output()],
      ]) {
        expect(text.includes(secret), `${name} in ${where}`).toBe(false);
      }
    }
    expect(counter.count).toBe(0);
  });
});
