/**
 * Source-IP checks: an allowlist of IPv4/IPv6 CIDRs (node's BlockList does the matching), and a
 * client-IP resolver that believes X-Forwarded-For only as far as trusted proxies vouch for it.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { getHeader, type HeadersLike } from './headers.js';

const MAPPED_V4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * Canonical form of an address, or undefined when it is not one. Strips `[…]`, a `:port` suffix,
 * an IPv6 zone, and turns IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as dual-stack sockets report IPv4
 * peers) into plain IPv4, so each address has one spelling for matching and for logs.
 */
export function normalizeIp(input: string | undefined): string | undefined {
  if (typeof input !== 'string') return undefined;
  let ip = input.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed) ip = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return undefined;
  // The WHATWG URL parser canonicalises IPv6 (lower case, compressed, embedded IPv4 as hex).
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = MAPPED_V4.exec(canonical);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return canonical;
}

export interface IpAllowlist {
  /** True when the address is inside one of the ranges. Non-addresses are never allowed. */
  allows(ip: string | undefined): boolean;
  /** The ranges as given, for logs and error messages. */
  readonly ranges: readonly string[];
}

function addRange(list: BlockList, range: string): void {
  const slash = range.indexOf('/');
  const written = slash < 0 ? range : range.slice(0, slash);
  const base = normalizeIp(written);
  if (base === undefined) throw new TypeError(`not an IP address or CIDR range: ${JSON.stringify(range)}`);
  const v4 = isIPv4(base);
  // `::ffff:1.2.3.0/120` normalises to 1.2.3.0: its prefix is in IPv6 terms and shifts by 96.
  const mapped = v4 && !isIPv4(written.trim());
  const max = v4 && !mapped ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const text = range.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
    if (!(prefix >= 0 && prefix <= max)) throw new TypeError(`bad prefix length in ${JSON.stringify(range)}`);
  }
  if (mapped) {
    if (prefix < 96) throw new TypeError(`an IPv4-mapped range needs a prefix of at least 96: ${JSON.stringify(range)}`);
    prefix -= 96;
  }
  list.addSubnet(base, prefix, v4 ? 'ipv4' : 'ipv6');
}

/** Builds an allowlist; throws TypeError on any entry that is not an address or CIDR (fail at start, not per request). */
export function createIpAllowlist(ranges: readonly string[]): IpAllowlist {
  const list = new BlockList();
  for (const range of ranges) addRange(list, range.trim());
  const frozen = Object.freeze([...ranges]);
  return {
    ranges: frozen,
    allows(ip) {
      const normal = normalizeIp(ip);
      if (normal === undefined) return false;
      return list.check(normal, isIPv4(normal) ? 'ipv4' : 'ipv6');
    },
  };
}

export interface ClientIpOptions {
  /** Addresses or CIDRs of your own proxies / load balancers. Empty: forwarded headers are ignored. */
  trustedProxies?: readonly string[] | IpAllowlist | undefined;
  /** The forwarded-for header to read. Default `x-forwarded-for`. */
  header?: string | undefined;
}

export type ClientIpResolver = (remoteAddress: string | undefined, headers: HeadersLike) => string | undefined;

/**
 * Resolves the client address. The socket peer is the starting point; only when it is a trusted
 * proxy is the forwarded-for chain consulted, walked from the right (nearest hop first), skipping
 * trusted proxies. The first untrusted hop is the client: whatever it wrote further left is its
 * own claim and is ignored. Undefined means the address cannot be known (an unparseable hop), and
 * an allowlist must then refuse.
 */
export function createClientIpResolver(options: ClientIpOptions = {}): ClientIpResolver {
  const trusted = isAllowlist(options.trustedProxies) ? options.trustedProxies : createIpAllowlist(options.trustedProxies ?? []);
  const headerName = (options.header ?? 'x-forwarded-for').toLowerCase();
  return (remoteAddress, headers) => {
    let hop = normalizeIp(remoteAddress);
    if (hop === undefined || !trusted.allows(hop)) return hop;
    const chain = getHeader(headers, headerName);
    if (chain === undefined) return hop;
    const entries = chain.split(',');
    for (let i = entries.length - 1; i >= 0; i--) {
      const ip = normalizeIp(entries[i]);
      if (ip === undefined) return undefined;
      if (!trusted.allows(ip)) return ip;
      hop = ip;
    }
    // Every hop is a trusted proxy: the request came from the proxy layer itself.
    return hop;
  };
}

function isAllowlist(value: unknown): value is IpAllowlist {
  return typeof value === 'object' && value !== null && typeof (value as IpAllowlist).allows === 'function';
}

export { isAllowlist as isIpAllowlist };
