// The pure parts of the security layer: the address policy's view of hosts
// and addresses, the redactor, source errors in words, the private-path
// check of /files, and the rate limiter's client key.
import { describe, expect, it } from 'vitest';
import { describeSourceError } from '../recorder/source-errors.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { DIALECTS, testDatabase } from './helpers/db.ts';
import { FfmpegError } from '../shared/ffmpeg.ts';
import { AddressPolicy, addressRange, canonicalAddress, canonicalHost } from '../shared/net-policy.ts';
import { clientKey } from '../shared/rate-limit.ts';
import { redactText, redactUrl, urlSecrets } from '../shared/redact.ts';
import { canonicalKeyPath, isPrivatePath } from '../shared/storage/serve.ts';

describe('address policy', () => {
  it('reads every numeric host form as the address it is, for any scheme', () => {
    for (const u of ['http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'rtmp://2130706433/a', 'srt://0x7f000001:9', 'rtmp://127.1/a']) {
      expect(canonicalHost(new URL(u)), u).toBe('127.0.0.1');
    }
    expect(canonicalAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('[::FFFF:10.0.0.1]')).toBe('10.0.0.1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
  });

  it('classifies the special-purpose ranges and leaves public addresses alone', () => {
    const special = [
      '0.1.2.3',
      '10.0.0.1',
      '100.64.0.1',
      '127.5.5.5',
      '169.254.169.254',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.31.196.1',
      '192.52.193.1',
      '192.88.99.1',
      '192.168.0.1',
      '192.175.48.1',
      '198.18.0.1',
      '198.51.100.1',
      '203.0.113.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::7f00:1',
      '::ffff:127.0.0.1',
      '::ffff:0:a00:1',
      '64:ff9b::a00:1',
      '64:ff9b:1::1',
      '100::1',
      '2001::1',
      '2001:2::1',
      '2001:db8::1',
      '2002:7f00:1::1',
      '3fff::1',
      '5f00::1',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      'fec0::1',
      'ff02::1',
    ];
    for (const ip of special) expect(addressRange(ip), ip).toBeDefined();
    for (const ip of ['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700::1111', '2a00:1450::1', '::ffff:8.8.8.8']) expect(addressRange(ip), ip).toBeUndefined();
  });

  it('lets through exactly the listed host:port entries', () => {
    const p = new AddressPolicy({ allowPrivate: false, allowedHosts: ['192.168.1.20:8000', 'mixer.lan', '[fd00::5]:1935'] });
    expect(p.listed(new URL('http://192.168.1.20:8000/live.m3u8'))).toBe(true);
    expect(p.listed(new URL('http://[::ffff:192.168.1.20]:8000/x'))).toBe(true);
    expect(p.listed(new URL('http://3232235796:8000/x'))).toBe(true);
    expect(p.listed(new URL('http://192.168.1.20:8001/x'))).toBe(false);
    expect(p.listed(new URL('http://192.168.1.21:8000/x'))).toBe(false);
    expect(p.listed(new URL('http://MIXER.lan:9/x'))).toBe(true);
    expect(p.listed(new URL('rtmp://[fd00::5]/live/x'))).toBe(true);
    expect(() => p.checkLiteral(new URL('http://192.168.1.20:8001/x'))).toThrow(/refused: private address 192\.168\.1\.20 \(private\)/);
    expect(p.checkLiteral(new URL('http://192.168.1.20:8000/x'))).toBe('192.168.1.20');
    expect(() => p.checkLiteral(new URL('http://printer.localhost/'))).toThrow(/loopback name/);
  });

  it('refuses at connect time a name whose every address is private', async () => {
    const p = new AddressPolicy({ allowPrivate: false });
    // "localhost" is refused before any lookup; a name resolved by DNS is checked in the lookup.
    const { lookup } = p.connectOptions(new URL('http://example.invalid/'));
    expect(typeof lookup).toBe('function');
    await expect(p.pin(new URL('rtmp://localhost/a/b'))).rejects.toThrow(/loopback name/);
  });
});

describe('redactor', () => {
  const src = 'rtmp://alice:S3cret@live.example.com:1935/app/STREAMKEY42?token=TOKEN42';
  it('keeps scheme, host and port of any URL in a text, and nothing else', () => {
    expect(redactUrl(src)).toBe('rtmp://live.example.com:1935');
    const text = `[tcp @ 0x1] Connection to tcp://1.2.3.4:1935?timeout=0 failed | ${src}: I/O error | srt://h:9000?passphrase=PASSPHRASE99&streamid=S`;
    const out = redactText(text);
    for (const secret of ['alice', 'S3cret', 'STREAMKEY42', 'TOKEN42', 'PASSPHRASE99', 'timeout=0']) expect(out).not.toContain(secret);
    expect(out).toContain('tcp://1.2.3.4:1935 failed');
    expect(out).toContain('rtmp://live.example.com:1935: I/O error');
  });

  it('removes the pieces of a known URL wherever they appear, and masks tokens', () => {
    const out = redactText('Play failed for STREAMKEY42 as alice', urlSecrets(src));
    expect(out).not.toContain('STREAMKEY42');
    expect(out).not.toContain('alice');
    expect(redactText('key=abc123&x=1 Bearer eyJhbGciOi.x.y rpl_abcdefghijkl whsec_QUJDREVGR0g=')).not.toMatch(/abc123|eyJhbGciOi|abcdefghijkl|QUJDREVGR0g/);
    expect(redactUrl('https://u:p/w@h.example/x')).toBe('https://[redacted]');
  });
});

describe.each(DIALECTS)('catalog texts on %s', (dialect) => {
  it('are redacted on the way in, whoever writes them', async () => {
    const t = await testDatabase(dialect);
    const c = new EventCatalog(t.db);
    const id = 'ev_00000000000000aa';
    await c.createEvent({ id, slug: 'x', title: 't', source: { type: 'push' }, streamKeyHash: null, reconnectWindowSec: 0 });
    await c.addGap({ eventId: id, startSec: 0, endSec: 1, reason: 'lost https://cdn.example/tok/abc?sig=1' });
    await c.addFailure({ eventId: id, stage: 'transcoder', startSec: null, endSec: null, reason: 'failed on srt://h:9?passphrase=xyz123456' });
    await c.transition(id, 'ended', { reason: 'gone: rtmp://u:p@h:1935/app/key' });
    await c.transition(id, 'failed', { error: 'no audio: rtmp://u:p@h:1935/app/key' });
    const ev = (await c.getEvent(id))!;
    expect(ev.endReason).toBe('gone: rtmp://h:1935');
    expect(ev.error).toBe('no audio: rtmp://h:1935');
    expect((await c.gaps(id))[0].reason).toBe('lost https://cdn.example');
    expect((await c.failures(id))[0].reason).toBe('failed on srt://h:9');
    await t.close();
  });
});

describe('source errors in words', () => {
  it('says what happened and where, never the URL', () => {
    const url = 'rtmp://bob:pw@127.0.0.1:1935/live/KEY77?tok=T77';
    const ff = new FfmpegError(
      `ffmpeg failed: ${url}: Connection refused`,
      `[tcp @ 0x5] Connection to tcp://127.0.0.1:1935 failed: Connection refused\n${url}: Connection refused\n`,
    );
    expect(describeSourceError(ff, url)).toBe('connection refused (rtmp://127.0.0.1:1935)');
    expect(describeSourceError(new FfmpegError('x', 'pipe:0: Invalid data found when processing input'), url)).toBe(
      'not an audio stream (rtmp://127.0.0.1:1935)',
    );
    const odd = describeSourceError(new Error(`weird failure on ${url} with KEY77`), url);
    expect(odd).not.toMatch(/KEY77|T77|bob|pw@/);
  });
});

describe('/files private paths', () => {
  it('decodes repeatedly, folds case and backslashes, resolves dot segments', () => {
    expect(canonicalKeyPath('/a%252Fb/./c/../d')).toBe('a/b/d');
    for (const p of [
      '/private/x',
      '/Private%2Fx',
      '/%2570rivate/x',
      '/x/..%2F..%2Fprivate/y',
      '/events/ev_1/source/c.ts',
      '/events/ev_1%5Cwork%5Cp.f32',
      '/events%2Fev_1%2FSOURCE%2Fc.ts',
    ])
      expect(isPrivatePath(p), p).toBe(true);
    for (const p of ['/events/ev_1/hls/seg-1.m4s', '/events/ev_1/transcript/transcript.vtt', '/events/ev_1/audio.m4a', '/events/privately/hls/x'])
      expect(isPrivatePath(p), p).toBe(false);
  });
});

describe('rate limit client key', () => {
  it('is the IPv4 address, or the /64 of an IPv6 one', () => {
    expect(clientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe(clientKey('2001:db8:1:2:ffff::1'));
  });
});
