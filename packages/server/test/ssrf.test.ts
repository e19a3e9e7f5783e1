// SSRF guard: by default nothing that is not globally routable is reached, in any of its spellings;
// the allowlist lets ranges through; endpoint creation refuses IP literals it can judge, and a
// name that resolves to a refused address fails its attempt with the reason.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SsrfGuard } from '../src/security/ssrf.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { until } from './helpers/wait.js';

describe('SsrfGuard', () => {
  const guard = new SsrfGuard();
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '2002:7f00:1::',
    '2002:a00:1::1',
    '64:ff9b::a00:1',
  ])('refuses %s', (ip) => {
    expect(guard.refusal(ip)).toMatch(/not a globally routable address/);
  });
  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'])('allows %s', (ip) => {
    expect(guard.refusal(ip)).toBeNull();
  });
  it('lets allowlisted ranges through, and only those', () => {
    const g = new SsrfGuard(['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
    expect(g.refusal('127.0.0.1')).toBeNull();
    expect(g.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(g.refusal('::1')).toBeNull();
    expect(g.refusal('10.1.2.3')).toBeNull();
    expect(g.refusal('10.2.0.1')).not.toBeNull();
    expect(g.refusal('169.254.169.254')).not.toBeNull();
  });
  it('judges URLs by their IP-literal host, the same on every ask; names are left to the lookup', () => {
    const g = new SsrfGuard(['10.1.0.0/16']);
    const cases: [string, RegExp | null][] = [
      ['http://127.0.0.1:8080/hook', /127\.0\.0\.1 is not a globally routable address/],
      ['https://[::1]/x', /::1 is not a globally routable address/],
      ['http://[::ffff:169.254.169.254]/latest', /not a globally routable address/],
      ['http://10.1.9.9/ok', null],
      ['http://10.2.0.1/no', /not a globally routable address/],
      ['https://93.184.216.34/x', null],
      ['https://localhost/x', null],
      ['https://hooks.example.com/x', null],
      [`https://93.184.216.34/${'p'.repeat(5000)}`, null],
      [`http://127.0.0.1/${'p'.repeat(5000)}`, /not a globally routable address/],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [url, want] of cases) {
        const got = g.urlRefusal(url);
        if (want === null) expect(got, url).toBeNull();
        else expect(got, url).toMatch(want);
      }
    }
    // More distinct URLs than the memo holds: verdicts stay right after it starts over.
    for (let i = 0; i < 5000; i++) expect(g.urlRefusal(`http://127.0.0.1/${i}`)).not.toBeNull();
    expect(g.urlRefusal('http://10.1.9.9/ok')).toBeNull();
  });
  it('checks what DNS returns, inside the socket lookup', async () => {
    const refused = await new Promise<NodeJS.ErrnoException | null>((r) => guard.lookup('localhost', { all: true }, (e) => r(e)));
    expect(refused?.code).toBe('ESSRF');
    expect(refused?.message).toMatch(/Refused localhost/);
    const ok = await new Promise<unknown>((r) => new SsrfGuard(['127.0.0.0/8', '::1/128']).lookup('localhost', { all: true }, (e, a) => r(e ?? a)));
    expect(Array.isArray(ok) && ok.length > 0).toBe(true);
  });
});

describe('SSRF guard in the API and the dispatcher', () => {
  let h: InProcess;
  let receiver: Server;
  let hits = 0;
  let port = 0;
  beforeAll(async () => {
    // No loopback allowance here: the default, as an operator gets it.
    h = await startInProcess({ dispatch: true, env: { HERALD_SSRF_ALLOWLIST: '', HERALD_RETRY_SCHEDULE: 'none', HERALD_POLL_INTERVAL: '50ms' } });
    receiver = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = (receiver.address() as AddressInfo).port;
    await h.inject('POST', '/api/v1/app', { body: { name: 'a', uid: 'a' } });
  });
  afterAll(async () => {
    await h.close();
    receiver.close();
  });

  it.each([
    'http://127.0.0.1:8080/x',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/x',
    'http://[::ffff:10.0.0.1]/x',
    'http://2130706433/x',
    'http://0x7f.1/x',
  ])('endpoint creation refuses %s with a clear 422', async (url) => {
    const r = await h.inject('POST', '/api/v1/app/a/endpoint', { body: { url } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'url']);
    expect(r.json.detail[0].msg).toMatch(/not a globally routable address.*HERALD_SSRF_ALLOWLIST/);
  });

  it('a host name that resolves to loopback is refused at delivery, with the reason in the attempt', async () => {
    const ep = await h.inject('POST', '/api/v1/app/a/endpoint', { body: { url: `http://localhost:${port}/hook` } });
    expect(ep.status).toBe(201);
    const msg = await h.inject('POST', '/api/v1/app/a/msg', { body: { eventType: 'x', payload: {} } });
    expect(msg.status).toBe(202);
    const attempts: any[] = await until('the refused attempt to be recorded', async () => {
      const data = (await h.inject('GET', `/api/v1/app/a/attempt/endpoint/${ep.json.id}?with_content=true`)).json.data;
      return data.length ? data : null;
    });
    expect(attempts).toHaveLength(1);
    expect(attempts[0].responseStatusCode).toBe(0);
    expect(attempts[0].response).toMatch(/Refused localhost: .* not a globally routable address/);
    expect(hits).toBe(0);
  });
});

describe('SsrfGuard: IPv6 forms that carry an IPv4 address', () => {
  const guard = new SsrfGuard();
  // 169.254.169.254 is a9fe:a9fe, 127.0.0.1 is 7f00:1, 10.0.0.1 is a00:1.
  it.each([
    ['::127.0.0.1', 'IPv4-compatible, dotted'],
    ['::7f00:1', 'IPv4-compatible, hex'],
    ['::a9fe:a9fe', 'IPv4-compatible metadata address'],
    ['0:0:0:0:0:0:a9fe:a9fe', 'IPv4-compatible, fully written'],
    ['::8.8.8.8', 'IPv4-compatible (the whole deprecated range)'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated, dotted'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated metadata address'],
    ['::ffff:0:808:808', 'IPv4-translated (the whole range)'],
    ['::ffff:7f00:1', 'IPv4-mapped, hex'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata address, hex'],
    ['0:0:0:0:0:ffff:169.254.169.254', 'IPv4-mapped, fully written'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 well-known prefix'],
    ['64:ff9b::127.0.0.1', 'NAT64, dotted'],
    ['64:ff9b:1::a00:1', 'NAT64 local-use prefix'],
    ['2002:a9fe:a9fe::1', '6to4 of the metadata address'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo'],
    ['2606:4700::5efe:a9fe:a9fe', 'ISATAP interface id on a global prefix'],
    ['2606:4700::200:5efe:7f00:1', 'ISATAP (universal bit) of loopback'],
  ])('refuses %s (%s)', (ip) => {
    expect(guard.refusal(ip)).toMatch(/not a globally routable address/);
  });
  it.each(['2606:4700:4700::1111', '2a00:1450:4001:82f::200e', '2606:4700::5efe:808:808', '::ffff:8.8.8.8', '::ffff:808:808'])(
    'still allows %s (global, or carrying a global IPv4 address in a usable form)',
    (ip) => {
      expect(guard.refusal(ip)).toBeNull();
    },
  );
  it('names the carried IPv4 address in the refusal', () => {
    expect(guard.refusal('2606:4700::5efe:a9fe:a9fe')).toMatch(/carries the IPv4 address 169\.254\.169\.254/);
    expect(guard.refusal('::ffff:a9fe:a9fe')).toMatch(/carries the IPv4 address 169\.254\.169\.254/);
  });
  it('the loopback allowance reaches the IPv4-mapped form, not the deprecated ones', () => {
    const g = new SsrfGuard(['127.0.0.0/8']);
    expect(g.refusal('::ffff:7f00:1')).toBeNull();
    expect(g.refusal('::127.0.0.1')).not.toBeNull();
    expect(g.refusal('::ffff:0:127.0.0.1')).not.toBeNull();
  });
  it.each([
    'http://[::127.0.0.1]/x',
    'http://[::ffff:0:127.0.0.1]/x',
    'http://[::a9fe:a9fe]/latest',
    'http://[::ffff:0:a9fe:a9fe]/latest',
    'http://[64:ff9b::a9fe:a9fe]/x',
    'http://[2002:a9fe:a9fe::]/x',
    'http://[::ffff:a9fe:a9fe]/x',
  ])('judges the URL literal %s the same way', (url) => {
    expect(guard.urlRefusal(url)).toMatch(/not a globally routable address/);
  });
});

describe('SSRF guard: endpoint creation refuses IPv6 literals that carry IPv4', () => {
  let h: InProcess;
  beforeAll(async () => {
    h = await startInProcess({ env: { HERALD_SSRF_ALLOWLIST: '' } });
    await h.inject('POST', '/api/v1/app', { body: { name: 'a', uid: 'a' } });
  });
  afterAll(async () => {
    await h.close();
  });
  it.each([
    'http://[::127.0.0.1]/x',
    'http://[::ffff:0:127.0.0.1]/x',
    'http://[::a9fe:a9fe]/x',
    'http://[::ffff:0:a9fe:a9fe]/x',
    'http://[64:ff9b::7f00:1]/x',
    'http://[2002:7f00:1::]/x',
  ])('%s is a 422 at create', async (url) => {
    const r = await h.inject('POST', '/api/v1/app/a/endpoint', { body: { url } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'url']);
    expect(r.json.detail[0].msg).toMatch(/not a globally routable address/);
  });
});
