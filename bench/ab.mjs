// Same-run A/B of two builds: runs one benchmark from two checkouts alternately (A, B, A, B, ...)
// so both see the same host, and prints the median of each figure per build and B's ratio to A.
// Each checkout must be built (`npm run build`) before the run; each uses its own dist/.
// Usage: node bench/ab.mjs --a <checkout> --b <checkout> [--pairs 6] [--bench ingest|deliver]
//   ingest:  one round of 5 s at 96 connections per run (bare route, Herald, Herald with keys)
//   deliver: the e2e part alone, one round of a 2 s warm-up and a 6 s window per run
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    pairs: { type: 'string', default: '6' },
    bench: { type: 'string', default: 'deliver' },
  },
});
const pairs = Number(opt.pairs);
if (!opt.a || !opt.b || !Number.isInteger(pairs) || pairs < 1 || !['ingest', 'deliver'].includes(opt.bench)) {
  console.error('usage: node bench/ab.mjs --a <checkout> --b <checkout> [--pairs N] [--bench ingest|deliver]');
  process.exit(2);
}

/** One run of the benchmark from `dir`: the figures it reports, by name. */
function runOnce(dir) {
  const args =
    opt.bench === 'ingest'
      ? [resolve(dir, 'bench/ingest.mjs'), '--rounds', '1', '--duration', '5', '--connections', '96']
      : [resolve(dir, 'bench/deliver.mjs'), '--only', 'e2e', '--rounds', '1', '--warmup-s', '2', '--window-s', '6', '--json'];
  const out = execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  const last = JSON.parse(out.trim().split('\n').at(-1));
  if (opt.bench === 'ingest') {
    const [b, h, k] = [last.baseline['96'][0], last.herald['96'][0], last.heraldIdem['96'][0]];
    return {
      'herald rps / bare rps': h.rps / b.rps,
      'herald cpu µs/req': h.cpuUsPerReq,
      'bare cpu µs/req': b.cpuUsPerReq,
      'herald p99 ms': h.p99,
      'with keys rps / bare rps': k.rps / b.rps,
    };
  }
  const r = last.results.e2e[0];
  return { 'deliveries/s': r.perSec, 'herald cpu µs/delivery': r.heraldCpuUsPerDelivery };
}

const runs = { a: [], b: [] };
for (let i = 0; i < pairs; i++) {
  for (const side of ['a', 'b']) {
    const fig = runOnce(opt[side]);
    runs[side].push(fig);
    console.log(
      `pair ${i + 1} ${side.toUpperCase()}: ${Object.entries(fig)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
    );
  }
}
console.log(`\n${opt.bench}: medians of ${pairs} alternated pairs; A = ${opt.a}, B = ${opt.b}`);
for (const k of Object.keys(runs.a[0])) {
  const [ma, mb] = [median(runs.a.map((f) => f[k])), median(runs.b.map((f) => f[k]))];
  console.log(`  ${k.padEnd(26)} A ${ma.toFixed(2).padStart(9)}   B ${mb.toFixed(2).padStart(9)}   B/A ${(mb / ma).toFixed(3)}`);
}
