// SSRF guard: deliveries go only to globally routable addresses unless the operator allows a
// range (HERALD_SSRF_ALLOWLIST). The check runs on the addresses DNS returns, inside the socket's
// own lookup, so the connection uses exactly the address that was checked (no DNS rebinding), and
// on IP-literal URLs before connecting. Ranges follow the IANA special-purpose registries.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated; embeds IPv4)
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT; embeds IPv4)
  ['64:ff9b::', 96], // NAT64 (embeds IPv4)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo and others)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds IPv4)
  ['3fff::', 20], // documentation
  ['5f00::', 16], // segment routing SIDs
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
];

export class SsrfGuard {
  private readonly blocked = new BlockList();
  private readonly allowed = new BlockList();

  /** `allow`: CIDRs (v4 or v6) to let through despite being non-global, e.g. 127.0.0.0/8 in tests. */
  constructor(allow: readonly string[] = []) {
    for (const [a, p] of BLOCKED_V4) this.blocked.addSubnet(a, p, 'ipv4');
    for (const [a, p] of BLOCKED_V6) this.blocked.addSubnet(a, p, 'ipv6');
    for (const cidr of allow) {
      const { address, prefix, family } = parseCidr(cidr);
      this.allowed.addSubnet(address, prefix, family);
    }
  }

  /**
   * Verdicts already reached, by IP and by URL. The lists never change after construction, so a
   * verdict holds for good; the maps are only bounded. Every delivery asks, and building a
   * SocketAddress for BlockList.check plus parsing the URL cost about 2% of the dispatcher's thread.
   */
  private readonly byIp = new Map<string, string | null>();
  private readonly byUrl = new Map<string, string | null>();

  /** Why `ip` may not be connected to, or null when it may. */
  refusal(ip: string): string | null {
    let r = this.byIp.get(ip);
    if (r === undefined) {
      r = this.judge(ip);
      remember(this.byIp, ip, r);
    }
    return r;
  }

  /**
   * Why a request to `url` may not be made, judged on its host when that is an IP literal; null for
   * a host name, whose addresses are judged as they resolve (see lookup).
   */
  urlRefusal(url: string): string | null {
    let r = this.byUrl.get(url);
    if (r === undefined) {
      const ip = ipLiteralOf(url);
      r = ip === null ? null : this.refusal(ip);
      // Endpoint URLs may be long; only ordinary ones are kept, so the map stays a few MB at most.
      if (url.length <= MEMO_URL_CHARS) remember(this.byUrl, url, r);
    }
    return r;
  }

  private judge(ip: string): string | null {
    const family = isIP(ip);
    if (family === 0) return `'${ip}' is not an IP address`;
    if (family === 4) return this.judgeV4(ip, ip);
    const words = v6Words(ip);
    // IPv4-mapped IPv6 (::ffff:10.0.0.1, ::ffff:a00:1) is the IPv4 address it carries.
    if (words.slice(0, 5).every((x) => x === 0) && words[5] === 0xffff) return this.judgeV4(v4Of(words[6]!, words[7]!), ip);
    if (this.allowed.check(ip, 'ipv6')) return null;
    if (this.blocked.check(ip, 'ipv6')) return refused(ip);
    // Any other form that carries an IPv4 address (6to4, NAT64, Teredo, ISATAP, ...) is refused
    // when the address it carries would be.
    const inner = embeddedV4(words);
    if (inner !== null && this.judgeV4(inner, inner) !== null) return refused(ip, inner);
    return null;
  }

  private judgeV4(v4: string, asWritten: string): string | null {
    if (this.allowed.check(v4, 'ipv4')) return null;
    return this.blocked.check(v4, 'ipv4') ? refused(asWritten, v4 === asWritten ? undefined : v4) : null;
  }

  /**
   * Resolve `host` (a name or an IP literal) to the addresses that may be connected to, in DNS
   * order; rejects with code ESSRF when none may. For connections Herald makes to an address it
   * chose (a fixed source address, a tunnel through a proxy), so the address used is the one checked.
   */
  resolve(host: string): Promise<LookupAddress[]> {
    return new Promise((resolve, reject) => {
      this.lookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses as LookupAddress[])));
    });
  }

  /** A socket `lookup` that resolves, then keeps only addresses that may be connected to. */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true } as { all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const ok = addresses.filter((a) => this.refusal(a.address) === null);
      if (ok.length === 0) {
        const why = addresses.map((a) => this.refusal(a.address)).find((r) => r) ?? 'no usable address';
        const e = Object.assign(new Error(`Refused ${hostname}: ${why}`), { code: 'ESSRF' }) as NodeJS.ErrnoException;
        return callback(e, options.all ? [] : '', 0);
      }
      if (options.all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

function refused(ip: string, inner?: string): string {
  const carrying = inner === undefined ? '' : ` (it carries the IPv4 address ${inner})`;
  return `${ip} is not a globally routable address${carrying}; deliveries there are refused (allow it with HERALD_SSRF_ALLOWLIST)`;
}

/** The eight 16-bit words of an IPv6 address already known to be valid (isIP() === 6). */
export function v6Words(ip: string): number[] {
  let s = ip.split('%')[0]!.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = s.indexOf('::');
  const part = (x: string) => (x === '' ? [] : x.split(':'));
  const head = part(gap === -1 ? s : s.slice(0, gap));
  const tail = gap === -1 ? [] : part(s.slice(gap + 2));
  const zeros = gap === -1 ? 0 : 8 - head.length - tail.length;
  return [...head, ...Array<string>(zeros).fill('0'), ...tail].map((x) => parseInt(x, 16));
}

function v4Of(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The IPv4 address an IPv6 address carries, by the standard embeddings, or null. */
export function embeddedV4(w: readonly number[]): string | null {
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zero(0, 6)) return v4Of(w[6]!, w[7]!); // IPv4-compatible ::a.b.c.d
  if (zero(0, 5) && w[5] === 0xffff) return v4Of(w[6]!, w[7]!); // IPv4-mapped
  if (zero(0, 4) && w[4] === 0xffff && w[5] === 0) return v4Of(w[6]!, w[7]!); // IPv4-translated
  if (w[0] === 0x64 && w[1] === 0xff9b) return v4Of(w[6]!, w[7]!); // NAT64 (64:ff9b::/96, and /48 local use, RFC 6052 /96)
  if (w[0] === 0x2002) return v4Of(w[1]!, w[2]!); // 6to4
  if (w[0] === 0x2001 && w[1] === 0) return v4Of(w[6]! ^ 0xffff, w[7]! ^ 0xffff); // Teredo client (obfuscated)
  if ((w[4] === 0 || w[4] === 0x200) && w[5] === 0x5efe) return v4Of(w[6]!, w[7]!); // ISATAP interface id
  return null;
}

const MEMO_LIMIT = 4096;
const MEMO_URL_CHARS = 2048;
function remember(m: Map<string, string | null>, k: string, v: string | null): void {
  if (m.size >= MEMO_LIMIT) m.clear();
  m.set(k, v);
}

export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address, bits] = cidr.trim().split('/');
  const family = isIP(address ?? '');
  if (!address || family === 0) throw new Error(`'${cidr}' is not a CIDR such as 127.0.0.0/8 or ::1/128`);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new Error(`'${cidr}' has a bad prefix length (0 to ${max})`);
  }
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** The host of a URL as an IP literal (brackets removed), or null when it is a name. */
export function ipLiteralOf(url: string): string | null {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? host : null;
}
