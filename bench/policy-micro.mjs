// The per-message CPU of the per-tenant delivery rules alone, in process, without HTTP or a store:
// fan-out to two endpoints with and without a content filter on each (domain/fanout.ts, the work
// the stores do inside the commit), and a payload checked against its event type's schema
// (api/schema-enforcement.ts, Ajv) against not checked. Each pair runs interleaved in the same
// process, several rounds, medians printed. bench/ingest.mjs --mode filters|schema measures the
// same through the whole API; this isolates the added work from the noise of HTTP and fsync.
//
// Usage: node bench/policy-micro.mjs [--rounds 5] [--n 200000]
import { parseArgs } from 'node:util';
import { fanOut } from '../packages/server/dist/domain/fanout.js';
import { SchemaEnforcer } from '../packages/server/dist/api/schema-enforcement.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '200000' } } });
const rounds = Number(values.rounds);
const n = Number(values.n);

const payload = {
  contactId: '4f6a1c9e-3f0b-4a51-9d0e-8f5c2a7b1e20',
  changes: { email: 'anna@example.com', firstName: 'Anna', acceptsEmail: true },
  tenant: 'acme',
};
const text = JSON.stringify(payload);
const filter = JSON.stringify({
  'changes.email': { $exist: true },
  tenant: { $in: ['acme', 'globex'] },
  $or: [{ 'changes.acceptsEmail': true }, { 'changes.firstName': { $neq: '' } }],
});
const plain = [1, 2].map((i) => ({ id: `ep_${i}`, disabled: false, eventTypes: ['contact.updated'], channels: null }));
const filtered = plain.map((e) => ({ ...e, filter }));

const schema = {
  type: 'object',
  required: ['contactId', 'changes', 'tenant'],
  properties: {
    contactId: { type: 'string', format: 'uuid' },
    changes: { type: 'object', properties: { email: { type: 'string', format: 'email' }, firstName: { type: 'string' }, acceptsEmail: { type: 'boolean' } } },
    tenant: { type: 'string' },
  },
};
const eventTypes = {
  'contact.updated': { name: 'contact.updated', schemas: { 1: schema }, schemaEnforcement: 'off' },
  'contact.checked': { name: 'contact.checked', schemas: { 1: schema }, schemaEnforcement: 'reject' },
};
const enforcer = new SchemaEnforcer({ getEventType: async (name) => eventTypes[name] ?? null });

function timeFanOut(eps) {
  const t = process.hrtime.bigint();
  let tasks = 0;
  for (let i = 0; i < n; i++) {
    tasks += fanOut({ id: `msg_${i}`, appId: 'app_1', eventType: 'contact.updated', channels: null, createdAt: i, payload: text }, eps).length;
  }
  if (tasks !== 2 * n) throw new Error('the filter should match every message');
  return Number(process.hrtime.bigint() - t) / n; // ns per message
}

async function timeSchema(eventType) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    // As the message route does: the parsed body's payload, checked lazily.
    const p = JSON.parse(text);
    const v = await enforcer.check(eventType, () => p, 0);
    if (v !== null) throw new Error('the payload should pass');
  }
  return Number(process.hrtime.bigint() - t) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r = { plain: [], filtered: [], off: [], reject: [] };
for (let i = 0; i < rounds; i++) {
  r.plain.push(timeFanOut(plain));
  r.filtered.push(timeFanOut(filtered));
  r.off.push(await timeSchema('contact.updated'));
  r.reject.push(await timeSchema('contact.checked'));
}
const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;
console.log(`policy micro-benchmark: ${rounds} rounds x ${n} messages, payload ${text.length} B, node ${process.version}`);
console.log(
  `fan-out to 2 endpoints: no filter ${us(median(r.plain))}/msg, a filter on each ${us(median(r.filtered))}/msg (+${us(median(r.filtered) - median(r.plain))})`,
);
console.log(`schema check (parse included): off ${us(median(r.off))}/msg, reject ${us(median(r.reject))}/msg (+${us(median(r.reject) - median(r.off))})`);
