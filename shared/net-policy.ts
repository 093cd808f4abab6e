// The one address policy for every outgoing connection made for a URL a user
// or a source supplied: sources, every URI inside a playlist, every redirect
// hop, webhooks. URLs are hostile input: without this check they could make
// the service connect to itself or its network (SSRF).
//
// - IP literals, in every form a parser accepts (dotted, decimal, octal, hex,
//   short, IPv4-mapped, bracketed IPv6), are checked before connecting: Node
//   never calls a custom DNS lookup for a literal.
// - Names are checked at connect time, inside the DNS lookup the socket uses,
//   so a name that resolves elsewhere later (DNS rebinding) is still refused.
// - For URLs ffmpeg connects to by itself (RTMP, SRT), the name is resolved
//   and checked here and ffmpeg is given the checked address (pin), so it
//   never resolves the name again.
// - Blocked: the IANA special-purpose registries (IPv4 and IPv6) and the
//   other ranges that are not the public internet. REPLAY_ALLOW_PRIVATE_SOURCES
//   lifts the block; REPLAY_ALLOWED_SOURCE_HOSTS lets exactly the listed
//   host[:port] entries through and nothing else.
import dns from 'node:dns';
import net from 'node:net';

const V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'this-network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.31.196.0', 24, 'AS112'],
  ['192.52.193.0', 24, 'AMT'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['192.175.48.0', 24, 'AS112'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'IPv4-compatible'],
  ['::ffff:0:0:0', 96, 'IPv4-translated'],
  ['64:ff9b::', 96, 'NAT64'],
  ['64:ff9b:1::', 48, 'NAT64 (local)'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol (Teredo, ORCHID, benchmarking)'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'SRv6'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const RULES = [...V4.map(([a, p, what]) => rule(a, p, what, 'ipv4')), ...V6.map(([a, p, what]) => rule(a, p, what, 'ipv6'))];

function rule(addr: string, prefix: number, what: string, type: 'ipv4' | 'ipv6') {
  const list = new net.BlockList();
  list.addSubnet(addr, prefix, type);
  return { what, type, list };
}

/** Default ports of the schemes the service connects to (srt has none: its URLs carry one). */
const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443, 'rtmp:': 1935, 'rtmps:': 443 };

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKED';
}

/** The 8 groups of an IPv6 address (with an embedded dotted IPv4 tail, a zone id stripped). */
function ipv6Groups(ip: string): number[] {
  let s = ip.replace(/%.*$/, '').toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    s = s.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** An address as compared by the policy: IPv4-mapped IPv6 becomes the IPv4 address, a zone id is dropped. */
export function canonicalAddress(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (net.isIP(bare) !== 6) return bare;
  const g = ipv6Groups(bare);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
  return bare.toLowerCase();
}

/** Why an address is not on the public internet ("loopback", "private", ...), or undefined when it is. */
export function addressRange(ip: string): string | undefined {
  const a = canonicalAddress(ip);
  const type = net.isIP(a) === 4 ? 'ipv4' : net.isIP(a) === 6 ? 'ipv6' : undefined;
  if (!type) return 'invalid';
  return RULES.find((r) => r.type === type && r.list.check(a, type))?.what;
}

/**
 * A URL's host as a parser of a special scheme (http) reads it: numeric IPv4
 * forms become dotted quads, IPv6 is compressed, names are lower-cased. rtmp:
 * and srt: are not special schemes, so WHATWG leaves their hosts as written.
 */
export function canonicalHost(url: URL): string {
  if (!url.hostname) return '';
  try {
    return new URL(`http://${url.hostname}/`).hostname;
  } catch {
    return url.hostname.toLowerCase();
  }
}

/** RFC 6761: `localhost` and every name under it are loopback, whatever DNS says. */
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

export function effectivePort(url: URL): number | undefined {
  return url.port ? Number(url.port) : DEFAULT_PORT[url.protocol];
}

interface AllowedEntry {
  host: string;
  port?: number;
}

/** The host as compared: an IP address in canonical form, or a lower-cased name. */
function hostKey(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  return net.isIP(bare) ? canonicalAddress(bare) : host;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function parseAllowed(entry: string): AllowedEntry {
  const e = entry.trim();
  let host = e;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  const named = /^([^:[\]]+):(\d+)$/.exec(e);
  if (v6) [host, port] = [`[${v6[1]}]`, v6[2]];
  else if (net.isIP(e) === 6) host = `[${e}]`;
  else if (named) [host, port] = [named[1], named[2]];
  return { host: hostKey(new URL(`http://${host}/`).hostname), port: port ? Number(port) : undefined };
}

type LookupFn = NonNullable<net.TcpNetConnectOpts['lookup']>;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

export interface AddressPolicyOptions {
  /** REPLAY_ALLOW_PRIVATE_SOURCES: every address allowed. */
  allowPrivate: boolean;
  /** REPLAY_ALLOWED_SOURCE_HOSTS: these host[:port] entries are allowed although private. */
  allowedHosts?: string[];
}

export class AddressPolicy {
  private readonly allowed: AllowedEntry[];

  constructor(private readonly opts: AddressPolicyOptions) {
    this.allowed = (opts.allowedHosts ?? []).map(parseAllowed);
  }

  get allowsPrivate(): boolean {
    return this.opts.allowPrivate;
  }

  /** True when host:port is named by REPLAY_ALLOWED_SOURCE_HOSTS (an entry without a port allows every port). */
  listed(url: URL): boolean {
    const key = hostKey(canonicalHost(url));
    const port = effectivePort(url);
    return this.allowed.some((e) => e.host === key && (e.port === undefined || e.port === port));
  }

  /** The refusal for one resolved address of `host`, or undefined when it may be connected to. */
  private refusal(host: string, address: string): BlockedAddressError | undefined {
    if (this.opts.allowPrivate) return undefined;
    const range = addressRange(address);
    if (!range) return undefined;
    const shown = canonicalAddress(address);
    return new BlockedAddressError(`refused: private address ${shown} (${range})${host === shown ? '' : ` for ${host}`}`);
  }

  /**
   * Checks what can be checked without DNS: an IP literal in any form, or a
   * localhost name. Throws BlockedAddressError; returns the literal address
   * (undefined for a name, which is checked when it is resolved).
   */
  checkLiteral(url: URL): string | undefined {
    const host = canonicalHost(url);
    if (!host) throw new BlockedAddressError('refused: the URL has no host');
    if (this.opts.allowPrivate || this.listed(url)) {
      const bare = host.replace(/^\[|\]$/g, '');
      return net.isIP(bare) ? bare : undefined;
    }
    if (isLocalhostName(host)) throw new BlockedAddressError(`refused: private address (${host} is a loopback name)`);
    const bare = host.replace(/^\[|\]$/g, '');
    if (!net.isIP(bare)) return undefined;
    const refused = this.refusal(bare, bare);
    if (refused) throw refused;
    return bare;
  }

  /**
   * What a Node socket for `url` connects with: the literal is checked now;
   * a name gets a lookup that refuses private addresses at connect time.
   */
  connectOptions(url: URL): { lookup?: LookupFn } {
    const literal = this.checkLiteral(url);
    if (literal || this.opts.allowPrivate || this.listed(url)) return {};
    return { lookup: this.lookupFor(canonicalHost(url)) };
  }

  private lookupFor(host: string): LookupFn {
    const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const ok = addresses.filter((a) => !this.refusal(host, a.address));
        if (!ok.length) return callback(this.refusal(host, addresses[0]?.address ?? '') ?? new BlockedAddressError(`refused: ${host}`), []);
        if (options?.all) return callback(null, ok);
        callback(null, ok[0].address, ok[0].family);
      });
    };
    return lookup;
  }

  /**
   * Resolves the URL's host once and checks every address it gives; returns
   * the address to connect to. For programs that connect by themselves
   * (ffmpeg): they are given this address, never the name.
   */
  async pin(url: URL): Promise<string> {
    const literal = this.checkLiteral(url);
    if (literal) return canonicalAddress(literal);
    const host = canonicalHost(url);
    let addresses: dns.LookupAddress[];
    try {
      addresses = await dns.promises.lookup(url.hostname, { all: true });
    } catch (err) {
      throw new Error(`host not found: ${host} (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`, { cause: err });
    }
    if (this.listed(url)) return addresses[0].address;
    const ok = addresses.filter((a) => !this.refusal(host, a.address));
    if (!ok.length) throw this.refusal(host, addresses[0].address)!;
    return ok[0].address;
  }

  /** Registration-time check of a URL (webhooks): literals, and names resolved once now. */
  async checkResolved(url: URL): Promise<void> {
    await this.pin(url);
  }
}
