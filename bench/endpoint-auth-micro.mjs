// The per-delivery CPU of authenticating to the endpoint (delivery/auth.ts), in process, without
// sending: what the sender asks for before each request with no authentication, Basic, a cached
// OAuth token (one real token request to a loopback token server first), and an mTLS identity
// (its Agent looked up by fingerprint). Several rounds, medians printed in ns per delivery.
//
// Usage: node bench/endpoint-auth-micro.mjs [--rounds 5] [--n 200000]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Sender } from '../packages/server/dist/delivery/send.js';
import { SsrfGuard } from '../packages/server/dist/security/ssrf.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '200000' } } });
const rounds = Number(values.rounds);
const n = Number(values.n);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'bench-token', expires_in: 3600 })));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const tokenUrl = `http://127.0.0.1:${server.address().port}/token`;

const dir = mkdtempSync(join(tmpdir(), 'herald-bench-pki-'));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=bench'],
  { cwd: dir, stdio: 'pipe' },
);
const identity = readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8');
rmSync(dir, { recursive: true, force: true });

const sender = new Sender({ timeoutMs: 15_000, headerPrefixes: ['webhook'], userAgent: 'bench', guard: new SsrfGuard(['127.0.0.0/8']) });
const oauth = {
  grantType: 'clientCredentials',
  authMethod: 'clientSecretBasic',
  tokenUrl,
  clientId: 'c',
  clientSecret: 's',
  scopes: ['a'],
  audience: null,
  extraParams: null,
  extraHeaders: null,
};
const cases = {
  none: { endpointId: 'ep_none', auth: {} },
  basic: { endpointId: 'ep_basic', auth: { http: { type: 'basic', username: 'u', password: 'p' } } },
  'oauth (cached)': { endpointId: 'ep_oauth', auth: { oauth } },
  mtls: { endpointId: 'ep_mtls', auth: { mtls: { identity } } },
};
const now = () => 0;
for (const c of Object.values(cases)) await sender.auth.prepare(c, now); // warm: the token, the Agent

const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, c] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await sender.auth.prepare(c, now);
    results[name].push(Number(process.hrtime.bigint() - t0) / n);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(16)} ${median(xs).toFixed(0).padStart(6)} ns per delivery`);
console.log(`token requests: ${sender.auth.tokenRequests}`);
await sender.close();
server.close();
