// The first load stays small: the JavaScript that index.html loads, gzipped, is at most 100 kB.
// Reads the built files (npm run build, which npm test runs first).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BUDGET = 100 * 1024;

it('loads at most 100 kB of gzipped JavaScript at first', () => {
  const html = readFileSync(`${DIST}index.html`, 'utf8');
  const scripts = [...html.matchAll(/(?:src|href)="\/portal\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  expect(scripts.length).toBeGreaterThan(0);
  const gz = scripts.reduce((n, s) => n + gzipSync(readFileSync(`${DIST}${s}`), { level: 9 }).length, 0);
  expect(gz).toBeLessThanOrEqual(BUDGET);
});
