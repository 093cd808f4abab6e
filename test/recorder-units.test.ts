// The recorder's pure parts and its SSRF guard.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HlsReader, parsePlaylist, stripId3 } from '../recorder/hls-reader.ts';
import { openHttp } from '../recorder/http-fetch.ts';
import { moveChunksToPrivate } from '../recorder/move-private.ts';
import { makeSlug } from '../recorder/recorder.ts';
import { isAfter, mediaPositionOf, placeSegment, segmentSpoolName } from '../recorder/segment-placement.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { CaptureStore } from '../recorder/store.ts';
import { DIALECTS, testDatabase } from './helpers/db.ts';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { createStorage } from '../shared/storage/index.ts';
import { checkSourceUrl, pullSource } from '../recorder/sources.ts';
import { fetchTails, TailMirror, TAIL_MIRROR_MS } from '../recorder/tail-mirror.ts';
import { AddressPolicy, addressRange } from '../shared/net-policy.ts';

const strict = new AddressPolicy({ allowPrivate: false });
const open = new AddressPolicy({ allowPrivate: true });
const limits = { maxPlaylistBytes: 1 << 20, maxPlaylistDepth: 3, maxSegmentBytes: 8 << 20 };
const isPrivateAddress = (ip: string) => addressRange(ip) !== undefined;

describe('source URL policy', () => {
  it('allows only http(s), rtmp(s) and srt, and file: only with REPLAY_ALLOW_PRIVATE_SOURCES', () => {
    expect(checkSourceUrl('https://example.com/live.m3u8', strict).kind).toBe('http');
    expect(checkSourceUrl('rtmp://example.com/app/key', strict).kind).toBe('rtmp');
    expect(checkSourceUrl('srt://example.com:9000', strict).kind).toBe('srt');
    for (const bad of [
      'ftp://example.com/x',
      'concat:a|b',
      'gopher://x',
      'data:audio/aac;base64,AAAA',
      'subfile:,start,0,end,1,:/etc/passwd',
      'javascript:alert(1)',
    ]) {
      expect(() => checkSourceUrl(bad, open), bad).toThrow();
    }
    expect(() => checkSourceUrl('file:///etc/passwd', strict)).toThrow(/REPLAY_ALLOW_PRIVATE_SOURCES/);
    expect(checkSourceUrl('file:///tmp/a.aac', open).kind).toBe('file');
  });

  it('classifies private, loopback, link-local and mapped addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '100.64.0.1',
      '::127.0.0.1',
      '2002:7f00:1::1',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('refuses to connect to loopback unless private sources are allowed, also after a redirect', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/secret' });
        return res.end();
      }
      res.end('#EXTM3U\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(openHttp(`http://localhost:${port}/x`, { policy: strict })).rejects.toThrow(/private address/);
      const ok = await openHttp(`http://localhost:${port}/x`, { policy: open });
      ok.resume();
      // An rtmp source is checked before ffmpeg is given it.
      expect(() => pullSource('rtmp://localhost/app/key', { policy: strict, limits })).toThrow(/private address/);
      await expect(openHttp(`http://localhost:${port}/redirect`, { policy: strict })).rejects.toThrow(/private address/);
    } finally {
      server.close();
    }
  });

  it('refuses redirects to other protocols', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(openHttp(`http://127.0.0.1:${port}/`, { policy: open })).rejects.toThrow(/only http and https/);
    } finally {
      server.close();
    }
  });
});

describe('HLS playlist', () => {
  it('parses sequence numbers, durations, discontinuities, maps and the end', () => {
    const pl = parsePlaylist(
      [
        '#EXTM3U',
        '#EXT-X-TARGETDURATION:6',
        '#EXT-X-MEDIA-SEQUENCE:41',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXTINF:6.006,',
        'a.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXTINF:5.5,',
        'https://cdn.example/b.m4s?x=1',
        '#EXT-X-ENDLIST',
      ].join('\n'),
      'https://origin.example/live/index.m3u8',
    );
    expect(pl.mediaSequence).toBe(41);
    expect(pl.endList).toBe(true);
    expect(pl.segments.map((s) => [s.seq, s.durationSec, s.discontinuity])).toEqual([
      [41, 6.006, false],
      [42, 5.5, true],
    ]);
    expect(pl.segments[0].uri).toBe('https://origin.example/live/a.m4s');
    expect(pl.segments[0].map).toBe('https://origin.example/live/init.mp4');
  });

  it('picks the audio rendition of a master playlist', () => {
    const pl = parsePlaylist(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="audio/index.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nvideo/index.m3u8\n',
      'http://h/m.m3u8',
    );
    expect(pl.variants[0]).toBe('http://h/audio/index.m3u8');
  });

  it('rejects what is not a playlist, and strips ID3 tags from packed audio', () => {
    expect(() => parsePlaylist('<html>', 'http://h/')).toThrow(/EXTM3U/);
    const id3 = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...stripId3(Buffer.concat([id3, Buffer.from([0xff, 0xf1])]))]).toEqual([0xff, 0xf1]);
    expect(HlsReader.looksLikeHls('http://h/x.m3u8', '', Buffer.alloc(0))).toBe(true);
    expect(HlsReader.looksLikeHls('http://h/stream', 'audio/aac', Buffer.from([0xff, 0xf1]))).toBe(false);
  });
});

it('makes URL-safe, unique slugs from any title', () => {
  expect(makeSlug('Héllo, World! <script>')).toMatch(/^hello-world-script-[0-9a-f]{8}$/);
  expect(makeSlug('你好')).toMatch(/^[0-9a-f]{8}$/);
  expect(makeSlug('x')).not.toBe(makeSlug('x'));
});

describe('HLS segment placement', () => {
  const chunk = (spoolName: string, sessionNo: number, startSec: number, durationSec: number) => ({
    eventId: 'ev_0000000000000000',
    seq: 0,
    sessionNo,
    spoolName,
    startSec,
    durationSec,
    bytes: 1,
    sha256: 'x',
    key: 'k',
    state: 'queued' as const,
    createdAt: '',
  });
  const seg = (mediaSeq: number, extra: { epoch?: number; lostSec?: number; discontinuity?: boolean } = {}) => ({
    epoch: 0,
    mediaSeq,
    lostSec: 0,
    discontinuity: false,
    ...extra,
  });

  it('names a media sequence once per epoch, and reads it back', () => {
    expect(segmentSpoolName({ epoch: 0, mediaSeq: 41 })).toBe('hls/m41');
    expect(segmentSpoolName({ epoch: 2, mediaSeq: 41 })).toBe('hls/e2/m41');
    expect(mediaPositionOf('hls/e2/m41')).toEqual({ epoch: 2, mediaSeq: 41 });
    expect(mediaPositionOf('hls/m7')).toEqual({ epoch: 0, mediaSeq: 7 });
    expect(mediaPositionOf('s1/c000003.ts')).toBeUndefined();
    expect(isAfter({ epoch: 1, mediaSeq: 0 }, { epoch: 0, mediaSeq: 900 })).toBe(true);
    expect(isAfter({ epoch: 0, mediaSeq: 5 }, { epoch: 0, mediaSeq: 5 })).toBe(false);
  });

  it('continues the run after the previous media sequence, starts a new one after a loss, a discontinuity or a restart', () => {
    const prev = chunk('hls/m9', 3, 18, 2.005);
    expect(placeSegment(seg(10), prev, 0, 3)).toEqual({ startSec: 20.005, sessionNo: 3, newRun: false });
    // Whoever places it (a recorder that took over, or a second one), from the same previous chunk: the same place.
    expect(placeSegment(seg(10), prev, 0, 3)).toEqual(placeSegment(seg(10), { ...prev }, 0, 3));
    expect(placeSegment(seg(12, { lostSec: 4 }), prev, 0, 3)).toEqual({ startSec: 24.005, sessionNo: 4, newRun: true });
    expect(placeSegment(seg(10, { discontinuity: true }), prev, 0, 3)).toEqual({ startSec: 20.005, sessionNo: 4, newRun: true });
    // This recorder missed the segment before, but another one archived it: nothing was lost in between.
    expect(placeSegment(seg(10, { lostSec: 2, discontinuity: true }), prev, 0, 3)).toEqual({ startSec: 20.005, sessionNo: 4, newRun: true });
    expect(placeSegment(seg(0, { epoch: 1 }), prev, 0, 5)).toEqual({ startSec: 20.005, sessionNo: 6, newRun: true });
    // After a chunk cut from a stream (an earlier version, another kind of source): a new run.
    expect(placeSegment(seg(10), chunk('s1/c000004.ts', 1, 24, 6), 0, 1)).toEqual({ startSec: 30, sessionNo: 2, newRun: true });
    // The first segment of an event starts where its timeline is.
    expect(placeSegment(seg(100), undefined, 0, 0)).toEqual({ startSec: 0, sessionNo: 1, newRun: true });
  });
});

describe.each(DIALECTS)('source chunks of the earlier layout, on %s', (dialect) => {
  it('are moved under private/ once, their rows pointed at the new key, nothing lost when repeated', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-move-'));
    const storage = createStorage(loadConfig({ REPLAY_DATA_DIR: dataDir }));
    const t = await testDatabase(dialect);
    const catalog = new EventCatalog(t.db);
    const capture = new CaptureStore(t.db);
    await catalog.createEvent({ id: 'ev_0123456789abcdef', slug: 's', title: 't', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 0 });
    const oldKey = 'events/ev_0123456789abcdef/source/s1-c000000.ts';
    await storage.put(oldKey, 'chunk bytes');
    await capture.addChunk({
      eventId: 'ev_0123456789abcdef',
      sessionNo: 1,
      spoolName: 's1/c000000.ts',
      startSec: 0,
      durationSec: 6,
      bytes: 11,
      sha256: 'x',
      key: oldKey,
    });
    const log = createLogger('test');
    expect(await moveChunksToPrivate(capture, storage, log)).toBe(1);
    const [row] = await capture.chunks('ev_0123456789abcdef');
    expect(row.key).toBe(`private/${oldKey}`);
    expect((await storage.get(row.key)).toString()).toBe('chunk bytes');
    expect(fs.existsSync(path.join(dataDir, 'private', oldKey))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'storage', oldKey))).toBe(false);
    expect(await moveChunksToPrivate(capture, storage, log)).toBe(0);
    await t.close();
  });
});

describe('the tail mirror', () => {
  it('copies the chunk being written as it grows, keeps the last two, and gives them back on another machine', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-tail-'));
    const storage = createStorage(loadConfig({ REPLAY_DATA_DIR: dataDir }));
    const dir = path.join(dataDir, 'spool', 'ev_1', 's2');
    fs.mkdirSync(dir, { recursive: true });
    const id = 'ev_00000000000000bb';
    const copy = (name: string) => `private/events/${id}/tail/s2-${name}`;
    const tick = () => new Promise((r) => setTimeout(r, TAIL_MIRROR_MS * 1.5));
    const mirror = new TailMirror({ storage, eventId: id, sessionNo: 2, dir, log: createLogger('test') });
    try {
      fs.writeFileSync(path.join(dir, 'c000000.ts'), 'first bytes');
      await tick();
      expect((await storage.get(copy('c000000.ts'))).toString()).toBe('first bytes');
      fs.appendFileSync(path.join(dir, 'c000000.ts'), ', more');
      await tick();
      expect((await storage.get(copy('c000000.ts'))).toString()).toBe('first bytes, more');
      // Sealed (the muxer lists it): the next one is copied; two sealed later, the first copy goes.
      for (const n of [1, 2]) {
        fs.appendFileSync(path.join(dir, 'list.csv'), `c00000${n - 1}.ts,${(n - 1) * 6}.0,${n * 6}.0\n`);
        fs.writeFileSync(path.join(dir, `c00000${n}.ts`), `chunk ${n}`);
        await tick();
      }
      const keys = (await storage.list(`private/events/${id}/tail/`)).map((o) => o.key).sort();
      expect(keys).toEqual([copy('c000001.ts'), copy('c000002.ts')]);

      // Another machine: the copies come back into its spool, with when the last was made.
      const elsewhere = path.join(dataDir, 'other-spool');
      const restored = await fetchTails(storage, id, 2, elsewhere);
      expect(fs.readdirSync(elsewhere).sort()).toEqual(['c000001.ts', 'c000002.ts']);
      expect(fs.readFileSync(path.join(elsewhere, 'c000002.ts'), 'utf8')).toBe('chunk 2');
      expect(Date.now() - restored!.copiedAt).toBeLessThan(10_000);
      expect(await fetchTails(storage, id, 3, path.join(dataDir, 'none'))).toBeUndefined();
    } finally {
      await mirror.close();
    }
    // Closed: nothing of the session is left in storage.
    expect(await storage.list(`private/events/${id}/tail/`)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
