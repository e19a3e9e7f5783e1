// An older Herald, built from this repository's own history, for the rolling-upgrade tests: the
// tree at a commit is exported (git archive) into a temporary folder and compiled there with this
// checkout's TypeScript. Its node_modules links every third-party package of this checkout, and its
// own @herald/* packages, so the old server runs its own engage and receiver code, not today's.
//
// A checkout without that commit (a shallow clone, or an export without .git) cannot build it:
// `oldHeraldAvailable` says so, and the tests that need it say why they did not run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

/**
 * The Herald a rolling upgrade starts from: the last state of main before the schema changes that
 * the current code brings. Move it forward when a release is cut (HERALD_UPGRADE_FROM overrides).
 */
export const UPGRADE_FROM = process.env.HERALD_UPGRADE_FROM ?? '4d7dcedfee37bf6fc09fbd6ffb70e03e0df0ccd3';

/** Whether this checkout's git history holds the commit; the reason when it does not. */
export function oldHeraldAvailable(ref = UPGRADE_FROM): { ok: true } | { ok: false; why: string } {
  try {
    execFileSync('git', ['cat-file', '-e', `${ref}^{commit}`], { cwd: REPO_ROOT, stdio: 'ignore' });
    return { ok: true };
  } catch {
    return { ok: false, why: `this checkout's git history does not hold ${ref} (a shallow clone?): the older Herald cannot be built` };
  }
}

export interface OldHerald {
  /** The old build's CLI (packages/server/dist/cli/main.js), for spawnCli/serve. */
  cli: string;
  /** The migrations the old build knows, per dialect: the highest version. */
  latestMigration(dialect: 'sqlite' | 'postgres'): number;
  remove(): void;
}

/** Export and build the server (and what it references) as it was at `ref`. Takes a minute. */
export function buildOldHerald(ref = UPGRADE_FROM): OldHerald {
  const root = mkdtempSync(join(tmpdir(), 'herald-old-'));
  try {
    execFileSync('sh', ['-c', `git archive --format=tar "$1" package.json tsconfig.base.json tsconfig.json packages | tar -x -C "$2"`, 'sh', ref, root], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const modules = join(root, 'node_modules');
    mkdirSync(join(modules, '@herald'), { recursive: true });
    for (const name of readdirSync(join(REPO_ROOT, 'node_modules'))) {
      if (name !== '@herald') symlinkSync(join(REPO_ROOT, 'node_modules', name), join(modules, name));
    }
    for (const dir of readdirSync(join(root, 'packages'))) {
      const name = (JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string }).name;
      if (name.startsWith('@herald/')) symlinkSync(join(root, 'packages', dir), join(modules, name));
    }
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    cli: join(root, 'packages/server/dist/cli/main.js'),
    latestMigration: (dialect) =>
      Math.max(
        ...readdirSync(join(root, 'packages/server/migrations', dialect))
          .filter((f) => /^\d{3}_/.test(f))
          .map((f) => Number(f.slice(0, 3))),
      ),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
