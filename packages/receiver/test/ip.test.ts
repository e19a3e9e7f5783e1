import { describe, expect, it } from 'vitest';
import { createClientIpResolver, createIpAllowlist, normalizeIp, type HeadersLike } from '../src/index.js';

// Svix's EU source addresses (reference/svix.md §3.2): what an Engage receiver allowlists.
const SVIX_EU = ['52.215.16.239', '54.216.8.72', '63.33.109.123', '2a05:d028:17:8000::/56'];

describe('normalizeIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4 ', '1.2.3.4'],
    ['1.2.3.4:8080', '1.2.3.4'],
    ['[::1]:443', '::1'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['FE80:0000::0001%eth0', 'fe80::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['::1.2.3.4', '::102:304'], // IPv4-compatible (deprecated) is not mapped: stays IPv6
  ])('%j → %j', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each(['', 'abc', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '::g', 'unknown', '[1.2.3.4]x'])('%j is not an address', (input) => {
    expect(normalizeIp(input)).toBeUndefined();
  });
});

describe('createIpAllowlist', () => {
  const list = createIpAllowlist(['1.2.3.0/24', ...SVIX_EU]);

  it('matches IPv4 CIDRs and single addresses', () => {
    expect(list.allows('1.2.3.0')).toBe(true);
    expect(list.allows('1.2.3.255')).toBe(true);
    expect(list.allows('1.2.4.0')).toBe(false);
    expect(list.allows('52.215.16.239')).toBe(true);
    expect(list.allows('52.215.16.240')).toBe(false);
  });

  it('matches IPv6 CIDRs in any spelling', () => {
    expect(list.allows('2a05:d028:17:8000::1')).toBe(true);
    expect(list.allows('2A05:D028:0017:80FF:FFFF:FFFF:FFFF:FFFF')).toBe(true);
    expect(list.allows('2a05:d028:17:8100::1')).toBe(false);
    expect(list.allows('[2a05:d028:17:8000::1]:443')).toBe(true);
  });

  it('matches IPv4-mapped IPv6 against IPv4 ranges', () => {
    expect(list.allows('::ffff:1.2.3.4')).toBe(true);
    expect(list.allows('::ffff:102:304')).toBe(true);
    expect(list.allows('::ffff:1.2.4.4')).toBe(false);
  });

  it('accepts IPv4-mapped ranges and matches plain IPv4 against them', () => {
    const mapped = createIpAllowlist(['::ffff:10.1.0.0/112']);
    expect(mapped.allows('10.1.255.255')).toBe(true);
    expect(mapped.allows('10.2.0.0')).toBe(false);
    expect(mapped.allows('::ffff:10.1.0.1')).toBe(true);
  });

  it('does not let an IPv4 address slip into an unrelated IPv6 range', () => {
    expect(createIpAllowlist(['2a05:d028:17:8000::/56']).allows('1.2.3.4')).toBe(false);
  });

  it('never allows something that is not an address', () => {
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows('')).toBe(false);
    expect(list.allows('1.2.3.x')).toBe(false);
  });

  it('an empty list allows nothing', () => {
    expect(createIpAllowlist([]).allows('1.2.3.4')).toBe(false);
  });

  it.each(['abc', '1.2.3.4/33', '1.2.3.0/24x', '1.2.3.0/-1', '::/129', '::ffff:1.2.3.0/90', '', '1.2.3.0/'])('refuses %j at construction', (range) => {
    expect(() => createIpAllowlist([range])).toThrow(TypeError);
  });
});

describe('createClientIpResolver', () => {
  const PROXY = '10.0.0.5';
  const resolve = createClientIpResolver({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });
  const xff = (value: string | string[]) => ({ 'x-forwarded-for': value });

  it('without trusted proxies, ignores X-Forwarded-For entirely', () => {
    const plain = createClientIpResolver();
    expect(plain('6.6.6.6', xff('52.215.16.239'))).toBe('6.6.6.6');
    expect(plain(PROXY, xff('52.215.16.239'))).toBe(PROXY);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (direct spoof)', () => {
    expect(resolve('6.6.6.6', xff('52.215.16.239'))).toBe('6.6.6.6');
  });

  it('believes the entry a trusted proxy appended', () => {
    expect(resolve(PROXY, xff('52.215.16.239'))).toBe('52.215.16.239');
  });

  it('takes the rightmost untrusted hop, so a forged left entry is ignored (spoof through the proxy)', () => {
    // The attacker at 6.6.6.6 sends "X-Forwarded-For: 52.215.16.239"; the proxy appends 6.6.6.6.
    expect(resolve(PROXY, xff('52.215.16.239, 6.6.6.6'))).toBe('6.6.6.6');
  });

  it('skips every trusted proxy in a chain', () => {
    expect(resolve(PROXY, xff('6.6.6.6, 52.215.16.239, 10.0.0.9, fd00::7'))).toBe('52.215.16.239');
  });

  it('joins repeated headers in order', () => {
    expect(resolve(PROXY, xff(['6.6.6.6', '52.215.16.239, 10.0.0.9']))).toBe('52.215.16.239');
    const h = new Headers();
    h.append('X-Forwarded-For', '6.6.6.6');
    h.append('X-Forwarded-For', '52.215.16.239');
    expect(resolve(PROXY, h)).toBe('52.215.16.239');
  });

  it('gives up (undefined) at an unparseable hop instead of looking past it', () => {
    expect(resolve(PROXY, xff('52.215.16.239, garbage'))).toBeUndefined();
    expect(resolve(PROXY, xff('52.215.16.239,,'))).toBeUndefined();
  });

  it('returns the proxy itself when it forwarded nothing, and the leftmost hop when all are proxies', () => {
    expect(resolve(PROXY, {})).toBe(PROXY);
    expect(resolve(PROXY, xff('10.0.0.1, 10.0.0.2'))).toBe('10.0.0.1');
  });

  it('recognises a proxy seen as an IPv4-mapped socket address, and normalises the client', () => {
    expect(resolve('::ffff:10.0.0.5', xff('::ffff:52.215.16.239'))).toBe('52.215.16.239');
  });

  it('reads a custom header name', () => {
    const realIp = createClientIpResolver({ trustedProxies: ['10.0.0.0/8'], header: 'X-Real-IP' });
    expect(realIp(PROXY, { 'x-real-ip': '52.215.16.239' })).toBe('52.215.16.239');
    expect(realIp(PROXY, xff('52.215.16.239'))).toBe(PROXY);
  });

  it('with an allowlist, no spoof gets an outside client in', () => {
    const allow = createIpAllowlist(SVIX_EU);
    const attempts: [string, HeadersLike][] = [
      ['6.6.6.6', xff('52.215.16.239')],
      [PROXY, xff('52.215.16.239, 6.6.6.6')],
      [PROXY, xff('52.215.16.239 , 6.6.6.6 ')],
      [PROXY, xff('52.215.16.239, not-an-ip')],
      [PROXY, xff('52.215.16.239, [::ffff:6.6.6.6]:1234')],
    ];
    for (const [remote, headers] of attempts) {
      expect(allow.allows(resolve(remote, headers)), JSON.stringify([remote, headers])).toBe(false);
    }
    expect(allow.allows(resolve(PROXY, xff('6.6.6.6, 52.215.16.239')))).toBe(true);
  });
});
