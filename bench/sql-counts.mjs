// Diagnostic preload for a Herald process: counts better-sqlite3 statement executions by SQL and
// writes them, most frequent first, to /tmp/herald-sql-counts-<pid>.txt when the process exits.
// It wraps every statement call, so throughput drops (about 20%): use it for counts, not speed.
// Usage: node bench/deliver.mjs --only e2e --rounds 1 --node-arg=--import=./bench/sql-counts.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const Database = require('better-sqlite3');
const counts = new Map();
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (sql) {
  const st = prepare.call(this, sql);
  const key = sql.replace(/\s+/g, ' ').trim().slice(0, 80);
  for (const m of ['run', 'all', 'get']) {
    const f = st[m];
    st[m] = function (...args) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return f.apply(this, args);
    };
  }
  return st;
};
process.on('exit', () => {
  const lines = [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}\t${k}`);
  writeFileSync(`/tmp/herald-sql-counts-${process.pid}.txt`, `${lines.join('\n')}\n`);
});
