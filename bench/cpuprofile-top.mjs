// Summarise a V8 .cpuprofile (from `node --cpu-prof`): where the samples were, by self time and by
// inclusive time per function, and by area (SQLite calls, HTTP server, HTTP client, GC, idle).
// Usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [--top 25] [--match name,name]
//        [--from S] [--to S]   (only samples between S seconds after the profile starts and S)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, match: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
});
const prof = JSON.parse(readFileSync(positionals[0], 'utf8'));
const top = Number(values.top);

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/packages\//, 'packages/');
const keyOf = (n) => {
  const cf = n.callFrame;
  const where = cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : '';
  return `${cf.functionName || '(anonymous)'} ${where}`.trim();
};

/** Area of a sample, from the innermost frame that tells. */
function area(id) {
  // Self time in the store's thin wrappers is time inside better-sqlite3's native calls
  // (statements, BEGIN/COMMIT and the fsync COMMIT waits for): V8 shows no native frame.
  if (byId.get(id).callFrame.url.includes('/store/sqlite/')) return 'SQLite native calls (incl. COMMIT fsync)';
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    const fn = n.callFrame.functionName;
    const url = n.callFrame.url;
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return 'idle';
    if (fn === '(program)') return 'program (native, outside JS)';
    if (url.includes('better-sqlite3')) return 'SQLite native calls (incl. COMMIT fsync)';
    if (fn === 'writev' || fn === 'writeBuffer' || fn === 'writeUtf8String' || fn === 'writeLatin1String') return 'socket writes (syscalls)';
    if (url.includes('/undici/')) return 'undici (HTTP client)';
    if (url.includes('/fastify/') || url.includes('/find-my-way/') || url.includes('/light-my-request/') || url.includes('/avvio/')) return 'fastify';
    if (url.includes('/ajv/')) return 'ajv';
    if (url.startsWith('node:') && fn) {
      if (/^(node:_http|node:http|node:net|node:stream|node:internal\/streams|node:internal\/http)/.test(url)) continue;
    }
  }
  return 'other JS';
}

const fromUs = values.from === undefined ? -Infinity : Number(values.from) * 1e6;
const toUs = values.to === undefined ? Infinity : Number(values.to) * 1e6;
const dts = [];
{
  let t = 0;
  for (const d of prof.timeDeltas) {
    t += d;
    dts.push(t >= fromUs && t <= toUs ? d : 0);
  }
}
const total = dts.reduce((a, b) => a + b, 0);
const self = new Map();
const incl = new Map();
const areas = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  const dt = dts[i] ?? 0;
  const n = byId.get(id);
  self.set(keyOf(n), (self.get(keyOf(n)) ?? 0) + dt);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = keyOf(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + dt);
  }
  const a = area(id);
  areas.set(a, (areas.get(a) ?? 0) + dt);
}

const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const list = (m, n, filter = () => true) =>
  [...m]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `  ${pct(v)}  ${k}`)
    .join('\n');

console.log(
  `profile ${positionals[0]}: ${(total / 1e6).toFixed(1)} s sampled${values.from || values.to ? ` (from ${values.from ?? 0} s to ${values.to ?? 'the end'})` : ''}, ${dts.filter((d) => d > 0).length} samples`,
);
console.log(`by area:\n${list(areas, 20)}`);
console.log(`self time, top ${top}:\n${list(self, top)}`);
const skip = /^\((root|program|idle|garbage collector)\)|^processTicksAndRejections|^listOnTimeout|^processImmediate|^emit |^\(anonymous\) $/;
console.log(`inclusive time, top ${top}:\n${list(incl, top, (k) => !skip.test(k))}`);
if (values.match) {
  const names = values.match.split(',');
  console.log(`inclusive time of named functions:\n${list(incl, 100, (k) => names.some((x) => k.startsWith(`${x} `) || k === x))}`);
}
