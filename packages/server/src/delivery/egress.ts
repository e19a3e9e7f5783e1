// delivery/egress: how a delivery's connection leaves the machine when the operator pins it, so
// receivers can allowlist Herald. Two knobs, usable together:
//  - fixed source addresses (HERALD_EGRESS_ADDRESSES): every connection is bound to one of them.
//    With several, each receiving origin (scheme, host, port) always gets the same one, picked by a
//    hash of the origin among the addresses of the family the target resolves to: deterministic,
//    spread across origins, and friendly to keep-alive pools (one origin, one source).
//  - a proxy (HERALD_EGRESS_PROXY: http://, https:// or socks5://) with a bypass list (HERALD_NO_PROXY).
// Either way Herald resolves the target itself and checks it with the SSRF guard, then connects to
// (or asks the proxy to tunnel to) exactly that IP: the proxy never resolves the name, so DNS
// rebinding cannot slip through it. TLS to the target still verifies the certificate against the
// host name (SNI and identity use the name, only the TCP destination is the checked IP).
import { createHash } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { BlockList, createServer as createNetServer, isIP, type Socket } from 'node:net';
import { SocksClient } from 'socks';
import { buildConnector, Pool } from 'undici';
import { ConfigError, type EgressConfig } from '../config/index.js';
import { parseCidr, type SsrfGuard } from '../security/ssrf.js';

type Connector = buildConnector.connector;
type ConnectOptions = buildConnector.Options;

/** Which hosts bypass the proxy: `*`, exact hosts, domains with their subdomains, IPs and CIDRs. */
export class NoProxy {
  private readonly all: boolean;
  private readonly domains: string[] = [];
  private readonly ranges = new BlockList();

  constructor(entries: readonly string[]) {
    this.all = entries.includes('*');
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      if (e === '*' || e === '') continue;
      if (isIP(e)) this.ranges.addAddress(e, isIP(e) === 4 ? 'ipv4' : 'ipv6');
      else if (e.includes('/')) {
        const { address, prefix, family } = parseCidr(e);
        this.ranges.addSubnet(address, prefix, family);
      } else this.domains.push(e.replace(/^\*?\./, ''));
    }
  }

  /** Whether a connection to `host` (a name or literal) resolved to `ip` goes direct. */
  bypasses(host: string, ip: string): boolean {
    if (this.all) return true;
    const h = host.toLowerCase().replace(/\.$/, '');
    if (this.domains.some((d) => h === d || h.endsWith(`.${d}`))) return true;
    return this.ranges.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  }
}

function fail(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'socks5:': 1080 };

/** The source address for `origin` among `candidates`: the same one every time, spread by hash. */
export function pickSource(candidates: readonly string[], origin: string): string {
  const h = createHash('sha256').update(origin).digest().readUInt32BE(0);
  return candidates[h % candidates.length]!;
}

export interface EgressOptions {
  egress: Pick<EgressConfig, 'addresses' | 'proxy' | 'noProxy'>;
  guard: SsrfGuard;
  connectTimeoutMs: number;
  /** TLS options for an https:// proxy (tests pass a CA; operators use the system's or NODE_EXTRA_CA_CERTS). */
  proxyTls?: { ca?: string | Buffer; servername?: string };
  /** TLS options for the connection to the receiver (a CA bundle, an mTLS client certificate and key). */
  tls?: { ca?: string | string[]; cert?: string; key?: string };
}

/**
 * An undici `connect` function that applies the egress settings. Returns null when there are
 * none, so the default (the guard's lookup inside the socket) stays as it is.
 */
export function egressConnector(opts: EgressOptions): { connect: Connector; close(): Promise<void> } | null {
  const { addresses, proxy: proxyUrl, noProxy: bypass } = opts.egress;
  if (addresses.length === 0 && proxyUrl === null) return null;
  const byFamily: Record<4 | 6, string[]> = { 4: addresses.filter((a) => isIP(a) === 4), 6: addresses.filter((a) => isIP(a) === 6) };
  const direct = buildConnector({ timeout: opts.connectTimeoutMs, ...opts.tls });
  const proxy = proxyUrl === null ? null : new URL(proxyUrl);
  const noProxy = new NoProxy(bypass);
  const pools = new Map<string, Pool>();

  /** Pool of connections to an http(s) proxy, per source address (undefined: the OS picks). */
  function proxyPool(source: string | undefined): Pool {
    const key = source ?? '';
    let p = pools.get(key);
    if (!p) {
      p = new Pool(proxy!.origin, { connect: { timeout: opts.connectTimeoutMs, ...opts.proxyTls }, ...(source ? { localAddress: source } : {}) });
      pools.set(key, p);
    }
    return p;
  }

  /** Open a tunnel through the proxy to `ip:port` (the checked address, never the name). */
  async function tunnel(ip: string, port: number, source: string | undefined): Promise<Socket> {
    const authority = isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
    if (proxy!.protocol === 'socks5:') {
      const { socket } = await SocksClient.createConnection({
        proxy: {
          host: proxy!.hostname.replace(/^\[|\]$/g, ''),
          port: Number(proxy!.port || DEFAULT_PORTS['socks5:']),
          type: 5,
          ...(proxy!.username ? { userId: decodeURIComponent(proxy!.username), password: decodeURIComponent(proxy!.password) } : {}),
        },
        command: 'connect',
        destination: { host: ip, port },
        timeout: opts.connectTimeoutMs,
        // socks fills in the proxy's host and port; only the source address is ours.
        ...(source ? { socket_options: { localAddress: source } as never } : {}),
      });
      return socket;
    }
    const headers: Record<string, string> = { host: authority };
    if (proxy!.username) {
      const cred = `${decodeURIComponent(proxy!.username)}:${decodeURIComponent(proxy!.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const { socket, statusCode } = await proxyPool(source).connect({
      path: authority,
      headers,
      signal: AbortSignal.timeout(opts.connectTimeoutMs),
    });
    if (statusCode !== 200) {
      socket.destroy();
      throw fail('EPROXY', `The egress proxy answered ${statusCode} to CONNECT ${authority}`);
    }
    return socket as Socket;
  }

  async function open(o: ConnectOptions): Promise<Socket> {
    const host = o.hostname.replace(/^\[|\]$/g, '');
    const port = Number(o.port || DEFAULT_PORTS[o.protocol] || 80);
    const origin = `${o.protocol}//${host}:${port}`;
    const checked: LookupAddress[] = await opts.guard.resolve(host);
    const servername = isIP(host) ? undefined : host;
    const upgrade = (socket: Socket | undefined, target: string, localAddress?: string) =>
      new Promise<Socket>((resolve, reject) => {
        direct({ ...o, hostname: target, servername, localAddress, httpSocket: socket }, (err, s) => (err ? reject(err) : resolve(s!)));
      });

    if (proxy && !noProxy.bypasses(host, checked[0]!.address)) {
      const ip = checked[0]!.address;
      const source = addresses.length ? pickSource(addresses, origin) : undefined;
      const socket = await tunnel(ip, port, source);
      if (o.protocol !== 'https:') return socket;
      return upgrade(socket, ip);
    }
    if (addresses.length === 0) return upgrade(undefined, checked[0]!.address);
    // The first checked address whose family has a source address.
    const target = checked.find((a) => byFamily[a.family as 4 | 6]?.length);
    if (!target) {
      const families = [...new Set(checked.map((a) => `IPv${a.family}`))].join('/');
      throw fail('EEGRESS', `${host} has only ${families} addresses, and HERALD_EGRESS_ADDRESSES has none of that family`);
    }
    const source = pickSource(byFamily[target.family as 4 | 6], origin);
    return upgrade(undefined, target.address, source);
  }

  return {
    connect(o, callback) {
      open(o).then(
        (s) => callback(null, s),
        (e: Error) => callback(e, null),
      );
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

/**
 * Refuse to start with a source address this machine does not have (a typo would otherwise
 * fail every delivery): bind a throw-away socket to each.
 */
export async function checkSourceAddresses(addresses: readonly string[]): Promise<void> {
  for (const address of addresses) {
    await new Promise<void>((resolve, reject) => {
      const s = createNetServer();
      s.once('error', (e: NodeJS.ErrnoException) =>
        reject(new ConfigError('HERALD_EGRESS_ADDRESSES', `${address} is not an address of this machine (${e.code}); list local addresses only`)),
      );
      s.listen(0, address, () => s.close(() => resolve()));
    });
  }
}
