// The import boundaries of .dependency-cruiser.cjs (run by `npm run lint`) catch what they claim:
// a throw-away tree with one crossing per rule fails, each crossing reported under its rule's
// name, and the same tree without the crossings passes.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.js';

const depcruise = join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** A file per module; every tree has the folders the rules name. */
const CLEAN: Record<string, string> = {
  'packages/server/src/domain/types.ts': 'export interface Attempt { id: string }\n',
  'packages/server/src/domain/retry.ts': "import type { Attempt } from './types.js';\nexport const next = (a: Attempt) => a.id;\n",
  'packages/server/src/store/store.ts': "import type { Attempt } from '../domain/types.js';\nexport interface Store { save(a: Attempt): void }\n",
  'packages/server/src/delivery/send.ts':
    "import { createHash } from 'node:crypto';\nexport const sign = (s: string) => createHash('sha256').update(s).digest('hex');\n",
  'packages/server/src/dispatch/dispatcher.ts':
    "import { sign } from '../delivery/send.js';\nimport type { Store } from '../store/store.js';\nexport const run = (s: Store) => sign(String(s));\n",
  'packages/server/src/api/routes.ts': "import type { Store } from '../store/store.js';\nexport const routes = (s: Store) => [s];\n",
  'packages/engage/src/index.ts': 'export const catalog = [];\n',
  'packages/config/src/index.ts': 'export const readEnv = () => ({});\n',
  'packages/brokers/src/index.ts': 'export const publish = () => undefined;\n',
  'packages/receiver/src/index.ts': "import { catalog } from '@herald/engage';\nexport const verify = () => catalog;\n",
  'packages/receive-gateway/src/index.ts': "import { verify } from '@herald/receiver';\nexport const gateway = verify;\n",
};

/** One crossing per rule: the file that breaks it, and what it says. */
const CROSSINGS: Record<string, [string, string]> = {
  'domain-is-pure': ['packages/server/src/domain/clock.ts', "import { hrtime } from 'node:process';\nexport const now = () => hrtime.bigint();\n"],
  'delivery-knows-no-store': [
    'packages/server/src/delivery/record.ts',
    "import type { Store } from '../store/store.js';\nexport const record = (s: Store) => s;\n",
  ],
  'api-not-dispatch-or-delivery': ['packages/server/src/api/resend.ts', "import { run } from '../dispatch/dispatcher.js';\nexport const resend = run;\n"],
  'engage-stands-alone': ['packages/engage/src/verify.ts', "import { verify } from '@herald/receiver';\nexport const check = verify;\n"],
  'receiver-stands-alone': ['packages/receiver/src/store.ts', "import type { Store } from '../../server/src/store/store.js';\nexport type S = Store;\n"],
  'config-stands-alone': ['packages/config/src/engage.ts', "import { catalog } from '@herald/engage';\nexport const types = catalog;\n"],
  'brokers-stand-alone': ['packages/brokers/src/env.ts', "import { readEnv } from '@herald/config';\nexport const env = readEnv;\n"],
  'server-not-gateway': ['packages/server/src/inbound.ts', "import { gateway } from '@herald/receive-gateway';\nexport const inbound = gateway;\n"],
  'no-circular': ['packages/server/src/domain/loop.ts', "import { next } from './retry.js';\nexport const again = next;\nexport const id = 'loop';\n"],
  'not-to-unresolvable': ['packages/server/src/api/typo.ts', "import { routes } from './route.js';\nexport const r = routes;\n"],
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-boundaries-'));
  dirs.push(dir);
  for (const f of ['.dependency-cruiser.cjs', 'tsconfig.depcruise.json', 'tsconfig.base.json']) copyFileSync(join(REPO_ROOT, f), join(dir, f));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function cruise(dir: string): Promise<{ code: number; out: string }> {
  return promisify(execFile)(process.execPath, [depcruise, 'packages', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
    cwd: dir,
    encoding: 'utf8',
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

describe('import boundaries', () => {
  it('a tree that keeps to the rules passes', async () => {
    const { code, out } = await cruise(tree(CLEAN));
    expect(out).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('each crossing fails under the name of the rule it breaks', async () => {
    const files = { ...CLEAN, ...Object.fromEntries(Object.values(CROSSINGS)) };
    // The cycle needs its other half: retry.ts imports loop.ts back.
    files['packages/server/src/domain/retry.ts'] =
      `import { id } from './loop.js';\n${CLEAN['packages/server/src/domain/retry.ts']}export const loopId = id;\n`;
    const { code, out } = await cruise(tree(files));
    expect(code).not.toBe(0);
    const reported = [...out.matchAll(/error (\S+): (\S+)/g)].map(([, rule, from]) => `${rule} ${from}`);
    for (const [rule, [file]] of Object.entries(CROSSINGS)) expect(reported, out).toContain(`${rule} ${file}`);
  });
});
