// Egress, for real over loopback: deliveries bound to fixed source addresses (127.0.0.2 and
// 127.0.0.3 are on Linux's loopback without set-up) arrive from exactly those; through an HTTP
// CONNECT proxy and a SOCKS5 proxy (small real ones, here) the tunnel goes to the IP Herald
// resolved and checked, never to the name; HERALD_NO_PROXY goes around the proxy; and the SSRF
// guard still refuses before any proxy is asked. An endpoint's OAuth token request and its own TLS
// Agent (a CA of its own) leave through the same settings.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { egressConnector, NoProxy, pickSource } from '../../src/delivery/egress.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import { Receiver } from '../helpers/receiver.js';
import { attemptsOf, createApp, createEventType, sendMessage, startDelivery, until, type DeliveryHerald } from './harness.js';

const fixture = (f: string) => readFileSync(new URL(`../fixtures/${f}`, import.meta.url));

/** A tiny HTTP CONNECT proxy: records each CONNECT target and the address it came from. */
async function httpProxy(opts: { tls?: boolean } = {}): Promise<{ url: string; connects: { target: string; from: string }[]; close(): Promise<void> }> {
  const connects: { target: string; from: string }[] = [];
  const sockets = new Set<Socket>();
  const refuse = (_req: unknown, res: { writeHead(n: number): { end(): void } }) => res.writeHead(405).end();
  const server: Server = opts.tls
    ? createHttpsServer({ key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') }, refuse)
    : createServer(refuse);
  server.on('connect', (req, client: Socket) => {
    connects.push({ target: req.url ?? '', from: client.remoteAddress ?? '' });
    const u = new URL(`http://${req.url}`);
    const upstream = netConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A tiny SOCKS5 proxy (no authentication, CONNECT only): records each destination. */
async function socksProxy(): Promise<{ url: string; connects: { target: string; from: string }[]; close(): Promise<void> }> {
  const connects: { target: string; from: string }[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    let buf = Buffer.alloc(0);
    let stage = 0;
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        buf = buf.subarray(2 + buf[1]!);
        client.write(Buffer.from([5, 0]));
        stage = 1;
      }
      if (stage === 1 && buf.length >= 10) {
        const atyp = buf[3]!;
        let host: string;
        let off: number;
        if (atyp === 1) [host, off] = [[...buf.subarray(4, 8)].join('.'), 8];
        else if (atyp === 3) [host, off] = [buf.subarray(5, 5 + buf[4]!).toString(), 5 + buf[4]!];
        else
          [host, off] = [
            buf
              .subarray(4, 20)
              .toString('hex')
              .replace(/(.{4})(?!$)/g, '$1:'),
            20,
          ];
        const port = buf.readUInt16BE(off);
        connects.push({ target: `${atyp === 3 ? 'name:' : ''}${host}:${port}`, from: client.remoteAddress ?? '' });
        client.off('data', onData);
        stage = 2;
        const upstream = netConnect({ host, port }, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          upstream.pipe(client);
          client.pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => sockets.delete(upstream));
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `socks5://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The attempts of a message once there is at least one. */
function firstAttempt(h: DeliveryHerald, appId: string, msgId: string): Promise<any[]> {
  return until('an attempt', async () => {
    const a = await attemptsOf(h, appId, msgId);
    return a.length ? a : null;
  });
}

async function setUp(h: DeliveryHerald): Promise<string> {
  await createEventType(h, 'test.event').catch(() => undefined);
  return (await createApp(h)).id;
}

async function deliverTo(h: DeliveryHerald, appId: string, url: string): Promise<string> {
  await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url });
  return (await sendMessage(h, appId)).id;
}

describe('egress: the pure parts', () => {
  it('picks the same source for an origin every time, and spreads origins over all sources', () => {
    const sources = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
    const origins = Array.from({ length: 60 }, (_, i) => `https://hooks-${i}.example.com:443`);
    for (const o of origins) expect(pickSource(sources, o)).toBe(pickSource(sources, o));
    expect(new Set(origins.map((o) => pickSource(sources, o)))).toEqual(new Set(sources));
  });

  it('matches no-proxy entries: hosts with subdomains, IPs, CIDRs and *', () => {
    const np = new NoProxy(['internal.example', '.corp.test', '10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
    expect(np.bypasses('internal.example', '203.0.113.1')).toBe(true);
    expect(np.bypasses('api.internal.example', '203.0.113.1')).toBe(true);
    expect(np.bypasses('corp.test', '203.0.113.1')).toBe(true);
    expect(np.bypasses('x.corp.test', '203.0.113.1')).toBe(true);
    expect(np.bypasses('notinternal.example', '203.0.113.1')).toBe(false);
    expect(np.bypasses('anything.example', '10.2.3.4')).toBe(true);
    expect(np.bypasses('anything.example', '192.0.2.7')).toBe(true);
    expect(np.bypasses('anything.example', '192.0.2.8')).toBe(false);
    expect(np.bypasses('v6.example', 'fd12::1')).toBe(true);
    expect(new NoProxy(['*']).bypasses('a.example', '203.0.113.1')).toBe(true);
    expect(new NoProxy([]).bypasses('a.example', '203.0.113.1')).toBe(false);
  });
});

describe('egress: fixed source addresses', () => {
  let h: DeliveryHerald | undefined;
  const rxs: Receiver[] = [];
  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const r of rxs.splice(0)) await r.close();
  });

  it('binds every delivery to the one configured address', async () => {
    h = await startDelivery({ env: { HERALD_EGRESS_ADDRESSES: '127.0.0.2' } });
    const rx = await Receiver.start();
    rxs.push(rx);
    const appId = await setUp(h);
    await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url: rx.url('/a') });
    for (let i = 0; i < 3; i++) await sendMessage(h, appId);
    const got = await rx.waitForCount(3, { path: '/a' });
    expect(got.map((r) => r.remoteAddress)).toEqual(['127.0.0.2', '127.0.0.2', '127.0.0.2']);
  });

  it('with several, each origin always sees the one the hash picks, and only configured ones are used', async () => {
    const sources = ['127.0.0.2', '127.0.0.3'];
    h = await startDelivery({ env: { HERALD_EGRESS_ADDRESSES: sources.join(',') } });
    const appId = await setUp(h);
    for (let i = 0; i < 6; i++) {
      const rx = await Receiver.start();
      rxs.push(rx);
      await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url: rx.url('/s') });
    }
    for (let i = 0; i < 3; i++) await sendMessage(h, appId);
    const seen = new Set<string>();
    for (const rx of rxs) {
      const got = await rx.waitForCount(3, { path: '/s' });
      const want = pickSource(sources, `http://127.0.0.1:${rx.port}`);
      expect(got.map((r) => r.remoteAddress)).toEqual([want, want, want]);
      seen.add(want);
    }
    expect([...seen].every((s) => sources.includes(s))).toBe(true);
  });

  it('refuses to start with a source address this machine does not have', async () => {
    await expect(startDelivery({ env: { HERALD_EGRESS_ADDRESSES: '127.0.0.2,192.0.2.55' } })).rejects.toThrow(
      /HERALD_EGRESS_ADDRESSES: 192\.0\.2\.55 is not an address of this machine/,
    );
  });

  it('fails the attempt with the reason when the target has no address of a configured family', async () => {
    h = await startDelivery({ env: { HERALD_EGRESS_ADDRESSES: '127.0.0.2', HERALD_RETRY_SCHEDULE: 'none' } });
    const appId = await setUp(h);
    const msgId = await deliverTo(h, appId, 'http://[::1]:9/x');
    const attempts = await firstAttempt(h, appId, msgId);
    expect(attempts[0].response).toMatch(/has only IPv6 addresses, and HERALD_EGRESS_ADDRESSES has none of that family/);
  });
});

describe('egress: through a proxy', () => {
  let h: DeliveryHerald | undefined;
  let rx: Receiver;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    rx = await Receiver.start();
  });
  afterAll(async () => {
    await rx.close();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const c of closers.splice(0)) await c();
    rx.clear();
  });

  it('tunnels an HTTP proxy CONNECT to the checked IP, never the name, bound to the source address', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url, HERALD_EGRESS_ADDRESSES: '127.0.0.3' } });
    const appId = await setUp(h);
    await deliverTo(h, appId, `http://localhost:${rx.port}/p`);
    const [got] = await rx.waitForCount(1, { path: '/p' });
    expect(proxy.connects).toEqual([{ target: `127.0.0.1:${rx.port}`, from: '127.0.0.3' }]);
    expect(got!.headers.host).toBe(`localhost:${rx.port}`);
    // The receiver sees the proxy's connection, not Herald's.
    expect(got!.remoteAddress).toBe('127.0.0.1');
  });

  it('goes around the proxy for HERALD_NO_PROXY hosts', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url, HERALD_NO_PROXY: 'localhost', HERALD_EGRESS_ADDRESSES: '127.0.0.2' } });
    const appId = await setUp(h);
    await deliverTo(h, appId, `http://localhost:${rx.port}/np`);
    await deliverTo(h, appId, `http://127.0.0.1:${rx.port}/via`);
    const [direct] = await rx.waitForCount(1, { path: '/np' });
    await rx.waitForCount(1, { path: '/via' });
    expect(direct!.remoteAddress).toBe('127.0.0.2');
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${rx.port}`]);
  });

  it('tunnels through an https:// proxy: TLS to the proxy, the tunnel to the checked IP, bound to the source', async () => {
    const proxy = await httpProxy({ tls: true });
    closers.push(proxy.close);
    const egress = egressConnector({
      egress: { addresses: ['127.0.0.2'], proxy: proxy.url, noProxy: [] },
      guard: new SsrfGuard(['127.0.0.0/8']),
      connectTimeoutMs: 5000,
      // TLS to the proxy is verified, against the name the test certificate carries.
      proxyTls: { ca: fixture('localhost-cert.pem'), servername: 'localhost' },
    })!;
    const agent = new Agent({ connect: egress.connect });
    closers.push(async () => {
      await agent.close();
      await egress.close();
    });
    const res = await request(`http://localhost:${rx.port}/https-proxy`, { method: 'POST', body: '{}', dispatcher: agent });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(proxy.connects).toEqual([{ target: `127.0.0.1:${rx.port}`, from: '127.0.0.2' }]);
    expect(rx.received('/https-proxy').length).toBe(1);
  });

  it('tunnels through SOCKS5 to the checked IP', async () => {
    const proxy = await socksProxy();
    closers.push(proxy.close);
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url } });
    const appId = await setUp(h);
    await deliverTo(h, appId, `http://localhost:${rx.port}/socks`);
    const [got] = await rx.waitForCount(1, { path: '/socks' });
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${rx.port}`]);
    expect(got!.headers.host).toBe(`localhost:${rx.port}`);
  });

  it('speaks TLS through the tunnel with the host name as SNI, the TCP destination being the checked IP', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    const snis: string[] = [];
    // The SNI the client sent, read from the handshake (the default context answers).
    const server: TlsServer = createTlsServer({
      key: fixture('localhost-key.pem'),
      cert: fixture('localhost-cert.pem'),
      SNICallback: (name, cb) => {
        snis.push(name);
        cb(null, undefined as never);
      },
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url, HERALD_RETRY_SCHEDULE: 'none' } });
    const appId = await setUp(h);
    const msgId = await deliverTo(h, appId, `https://localhost:${port}/tls`);
    const attempts = await firstAttempt(h, appId, msgId);
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${port}`]);
    expect(snis).toEqual(['localhost']);
    // The test certificate is self-signed, so Herald (rightly) refuses it.
    expect(attempts[0].response).toMatch(/Connection failed/);
  });

  it('fetches an endpoint OAuth token through the proxy too, and delivers with it', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    rx.on('/token', { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: 'via-proxy', expires_in: 60 }) });
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url } });
    const appId = await setUp(h);
    const ep = await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url: `http://localhost:${rx.port}/oauth-proxied` });
    await h.call('PUT', `/api/v1/app/${appId}/endpoint/${ep.id}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretPost',
      clientId: 'c',
      clientSecret: 's',
      tokenUrl: `http://localhost:${rx.port}/token`,
    });
    await sendMessage(h, appId);
    const [got] = await rx.waitForCount(1, { path: '/oauth-proxied' });
    expect(got!.headers.authorization).toBe('Bearer via-proxy');
    // Two tunnels: one for the token request, one for the delivery (each through the proxy).
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${rx.port}`, `127.0.0.1:${rx.port}`]);
    expect(rx.received('/token')[0]!.remoteAddress).toBe('127.0.0.1');
  });

  it('delivers over TLS through the proxy with an endpoint CA (the per-endpoint Agent keeps the egress settings)', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    const server = createHttpsServer({ key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url, HERALD_RETRY_SCHEDULE: 'none' } });
    const appId = await setUp(h);
    const ep = await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url: `https://localhost:${port}/ca` });
    // The self-signed test certificate is this endpoint's CA.
    await h.call('PUT', `/api/v1/app/${appId}/endpoint/${ep.id}/ca`, 204, { cert: fixture('localhost-cert.pem').toString() });
    const msgId = (await sendMessage(h, appId)).id;
    const attempts = await firstAttempt(h, appId, msgId);
    expect(attempts[0].responseStatusCode).toBe(204);
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${port}`]);
  });

  it('refuses an OAuth token URL that resolves to a non-global address, at delivery time', async () => {
    h = await startDelivery({ env: { HERALD_SSRF_ALLOWLIST: '', HERALD_RETRY_SCHEDULE: 'none' } });
    const appId = await setUp(h);
    const ep = await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url: 'https://hooks.example.invalid/x' });
    // A name passes the API (it resolves only when used); the guard refuses it when it does.
    await h.call('PUT', `/api/v1/app/${appId}/endpoint/${ep.id}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretPost',
      clientId: 'c',
      tokenUrl: `http://localhost:${rx.port}/token-ssrf`,
    });
    const msgId = (await sendMessage(h, appId)).id;
    const attempts = await firstAttempt(h, appId, msgId);
    expect(attempts[0].response).toMatch(/^OAuth token request failed: Refused localhost: .*not a globally routable address/);
    expect(rx.received('/token-ssrf')).toEqual([]);
  });

  it('refuses a non-global target before asking the proxy', async () => {
    const proxy = await httpProxy();
    closers.push(proxy.close);
    h = await startDelivery({ env: { HERALD_EGRESS_PROXY: proxy.url, HERALD_SSRF_ALLOWLIST: '', HERALD_RETRY_SCHEDULE: 'none' } });
    const appId = await setUp(h);
    const msgId = await deliverTo(h, appId, `http://localhost:${rx.port}/ssrf`);
    const attempts = await firstAttempt(h, appId, msgId);
    expect(attempts[0].response).toMatch(/Refused localhost: .*not a globally routable address/);
    expect(proxy.connects).toEqual([]);
    expect(rx.received('/ssrf')).toEqual([]);
  });
});
