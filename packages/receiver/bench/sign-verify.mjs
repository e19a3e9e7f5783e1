// Prints throughput of sign and verify (built package: run `npm run build` first).
// Usage: node packages/receiver/bench/sign-verify.mjs
import { createVerifier, generateKeyPair, generateSecret, parseSecret, sign, verify } from '../dist/index.js';

const body = JSON.stringify({
  eventId: '31e61713-dd4d-4c3f-a470-990ef50b47c0',
  eventType: 'point.balance.updated',
  isEncrypted: false,
  payload: { accountId: 999, balance: 2500.75, balanceExpires: '2024-12-31T23:59:59.999+01:00', contactId: 'c-123', definitionId: 1 },
  tenant: 'acme',
});

function bench(name, iterations, fn) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start);
  console.log(
    `${name.padEnd(44)} ${Math.round((iterations * 1e9) / ns)
      .toLocaleString('en')
      .padStart(10)} ops/s  ${(ns / iterations / 1000).toFixed(2)} µs/op`,
  );
}

const secret = generateSecret();
const parsed = parseSecret(secret);
const pair = generateKeyPair();
const parsedPair = parseSecret(pair.secretKey);
const ts = Math.floor(Date.now() / 1000);

console.log(`node ${process.version}, body ${body.length} bytes`);
bench('sign v1 (secret string, parsed per call)', 200_000, (i) => sign({ id: `msg_${i}`, timestamp: ts, body, secrets: secret }));
bench('sign v1 (pre-parsed secret)', 200_000, (i) => sign({ id: `msg_${i}`, timestamp: ts, body, secrets: parsed }));
bench('sign v1a ed25519 (pre-parsed)', 20_000, (i) => sign({ id: `msg_${i}`, timestamp: ts, body, secrets: parsedPair }));

const headers = { 'svix-id': 'msg_1', 'svix-timestamp': String(ts), 'svix-signature': sign({ id: 'msg_1', timestamp: ts, body, secrets: parsed }) };
const rotation = { ...headers, 'svix-signature': sign({ id: 'msg_1', timestamp: ts, body, secrets: [generateSecret(), parsed] }) };
const verifier = createVerifier(secret);
const twoSecrets = [parseSecret(generateSecret()), parsed];
bench('verify v1 (secret string)', 200_000, () => verify(body, headers, secret));
bench('verify v1 (createVerifier, pre-parsed)', 200_000, () => verifier(body, headers));
bench('verify v1, 2 signatures x 2 secrets', 200_000, () => verify(body, rotation, twoSecrets));
const edHeaders = { ...headers, 'svix-signature': sign({ id: 'msg_1', timestamp: ts, body, secrets: parsedPair }) };
const edVerifier = createVerifier(pair.publicKey);
bench('verify v1a ed25519 (createVerifier)', 20_000, () => edVerifier(body, edHeaders));
