// The embedded store's write path alone, without HTTP: what one accepted message costs SQLite on
// this machine, by group-commit batch size. Each batch is B `createMessage` calls issued in one
// turn of the event loop, so they share one transaction and one WAL fsync, exactly as concurrent
// POSTs do; the next batch starts when all B are durable. The application has two endpoints, so
// every message also writes two delivery tasks (as in bench/ingest.mjs).
//
// Per batch size it prints: messages/s (wall, including the fsync wait), the main thread's CPU per
// message (the COMMIT and the INSERTs run there; the fsync runs on libuv's pool), and the WAL
// frames (4 KiB pages) one commit writes: every page a commit dirties is written out whole, so
// this is the write amplification that more rows or more indexes per message would add to.
// `--idem` adds an idempotency answer per message (the svix SDK's path): a random-key index insert.
//
// Usage: node bench/store-write.mjs [--batches 32,64] [--seconds 3] [--idem]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { IdGenerator } from '../packages/server/dist/domain/ids.js';
import { Sealer } from '../packages/server/dist/security/sealer.js';
import { SqliteStore } from '../packages/server/dist/store/sqlite/sqlite-store.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8,32,64,256' },
    seconds: { type: 'string', default: '3' },
    idem: { type: 'boolean', default: false },
  },
});
const sizes = values.batches.split(',').map(Number);
const seconds = Number(values.seconds);
if (!(seconds > 0 && sizes.length && sizes.every((b) => Number.isInteger(b) && b > 0))) {
  console.error('usage: --batches a,b,c (positive integers) --seconds S (> 0) [--idem]');
  process.exit(2);
}

const ids = new IdGenerator(randomBytes);
const dir = mkdtempSync(join(os.tmpdir(), 'herald-store-write-'));
const store = new SqliteStore({ file: join(dir, 'herald.db'), sealer: new Sealer(randomBytes(32)) });
const now = Date.now();
const app = { id: ids.next('application', now), uid: 'bench', name: 'bench', throttleRate: null, metadata: {}, createdAt: now, updatedAt: now };
await store.createApplication(app);
for (const i of [1, 2]) {
  await store.createEndpoint({
    id: ids.next('endpoint', now),
    appId: app.id,
    uid: null,
    url: `https://example.com/hook${i}`,
    description: '',
    throttleRate: null,
    disabled: false,
    disabledReason: null,
    eventTypes: ['contact.updated'],
    channels: null,
    metadata: {},
    headers: {},
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    previousSecrets: [],
    createdAt: now,
    updatedAt: now,
  });
}
// bench/ingest.mjs's payload.
const payload = JSON.stringify({
  contactId: '4f6a1c9e-3f0b-4a51-9d0e-8f5c2a7b1e20',
  changes: { email: 'anna@example.com', firstName: 'Anna', acceptsEmail: true },
  tenant: 'acme',
});

function create() {
  const t = Date.now();
  const msg = {
    id: ids.next('message', t),
    appId: app.id,
    eventId: null,
    eventType: 'contact.updated',
    channels: null,
    payload,
    expiresAt: t + 90 * 864e5,
    createdAt: t,
  };
  const idem = values.idem ? { key: randomBytes(32).toString('base64url'), status: 202, body: () => '', msgId: (m) => m.id, now: t } : undefined;
  return store.createMessage(msg, { idem });
}

/** The main thread's CPU time so far (ms): its own line in /proc, not the libuv pool's. */
function mainThreadCpuMs() {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function run(batch, untilMs) {
  let messages = 0;
  while (Date.now() < untilMs) {
    await Promise.all(Array.from({ length: batch }, create));
    messages += batch;
  }
  return messages;
}

const rows = [];
for (const batch of sizes) {
  await run(batch, Date.now() + 300); // warm-up
  const cpu0 = mainThreadCpuMs();
  const t0 = process.hrtime.bigint();
  const messages = await run(batch, Date.now() + seconds * 1000);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuUs = ((mainThreadCpuMs() - cpu0) * 1000) / messages;
  // Frames per commit, counted with checkpoints off for a short run: the WAL then only grows.
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.pragma('wal_autocheckpoint = 0');
  const commits = Math.max(20, Math.round(2000 / batch));
  for (let i = 0; i < commits; i++) await Promise.all(Array.from({ length: batch }, create));
  const [{ log: frames }] = store.db.pragma('wal_checkpoint(PASSIVE)');
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.pragma('wal_autocheckpoint = 1000');
  rows.push({ batch, perS: messages / wallS, cpuUs, frames: frames / commits, kbPerMsg: (frames * 4.1) / (commits * batch) });
}
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(`store write benchmark: ${seconds} s per batch size, 1 message + 2 delivery tasks each${values.idem ? ' + an idempotency answer' : ''}`);
console.log(
  `machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('batch   messages/s   main-thread cpu µs/msg   WAL frames/commit   WAL KiB/msg');
for (const r of rows) {
  console.log(
    `${String(r.batch).padStart(5)}   ${r.perS.toFixed(0).padStart(10)}   ${r.cpuUs.toFixed(1).padStart(22)}   ${r.frames.toFixed(1).padStart(17)}   ${r.kbPerMsg.toFixed(2).padStart(11)}`,
  );
}
