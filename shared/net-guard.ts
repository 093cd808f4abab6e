// URLs given to the service (sources to pull, webhook endpoints) are hostile
// input: they must not reach the machine's own services (SSRF). Addresses are
// checked at connect time through a custom DNS lookup, so a name that resolves
// to a public address at validation and a private one later (DNS rebinding)
// is still refused.
import dns from 'node:dns';
import net from 'node:net';

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 96], ['::1', 128], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32],
] as const) blocked.addSubnet(addr, prefix, 'ipv6');

/** True for loopback, private, link-local, multicast, reserved and documentation ranges. */
export function isPrivateAddress(ip: string): boolean {
  const v = net.isIP(ip);
  if (v === 4) return blocked.check(ip, 'ipv4');
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(ip, 'ipv6');
  }
  return true; // not an address at all: refuse
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKED';
}

type LookupFn = NonNullable<net.TcpNetConnectOpts['lookup']>;

/** A `lookup` for node's http/https/net that refuses private addresses unless allowed. */
export function safeLookup(allowPrivate: boolean): LookupFn {
  return ((hostname: string, options: any, callback: any) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses: dns.LookupAddress[]) => {
      if (err) return callback(err);
      const ok = allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (!ok.length) {
        return callback(new BlockedAddressError(`${hostname} resolves to a private or loopback address (set REPLAY_ALLOW_PRIVATE_SOURCES=1 to allow)`));
      }
      if (options?.all) return callback(null, ok);
      callback(null, ok[0].address, ok[0].family);
    });
  }) as LookupFn;
}

/** Resolves a host once and refuses it when any of its addresses is private (for URLs ffmpeg connects to itself). */
export async function assertPublicHost(hostname: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = hostname.replace(/^\[|\]$/g, '');
  const addrs = net.isIP(host) ? [{ address: host }] : await dns.promises.lookup(host, { all: true });
  const bad = addrs.find((a) => isPrivateAddress(a.address));
  if (bad) {
    throw new BlockedAddressError(`${hostname} resolves to a private or loopback address ${bad.address} (set REPLAY_ALLOW_PRIVATE_SOURCES=1 to allow)`);
  }
}
