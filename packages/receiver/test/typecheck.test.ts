// Runs tsc over the tests and sources, so the type-level tests in ./types (and the adapters'
// fit with the real express / fastify / hono types) are enforced by `vitest run`.
// The test tsconfig sets exactOptionalPropertyTypes, like the package's own: the README's
// examples must compile for users who turn it on (an option set to a possibly-undefined value).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const project = fileURLToPath(new URL('./tsconfig.json', import.meta.url));

// A whole tsc run: on a busy 2-core machine it takes about 25 s alone, more beside other suites.
it('the type-level tests type-check', { timeout: 120_000 }, async () => {
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', project], { encoding: 'utf8' }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  expect(result).toBe('');
});
