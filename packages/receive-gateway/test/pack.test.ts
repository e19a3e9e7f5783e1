// The packages as a user gets them: `npm pack` the kit, the Engage domain, the gateway and the
// configuration mechanism it reads its settings with, install
// the tarballs into an empty project with `npm install --offline` (every third-party package comes
// from the npm cache that `npm ci` filled; none is asked of the registry), and use them there: sign
// and verify with the kit, run `herald-receive --help`, and start the gateway and deliver a signed
// webhook to it. Needs dist/ (npm test builds first).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = tempDir();
const tarballs = join(dir, 'tarballs');
const project = join(dir, 'project');
const PACKAGES = ['@herald/brokers', '@herald/config', '@herald/engage', '@herald/receiver', '@herald/receive-gateway'] as const;

interface PackResult {
  name: string;
  filename: string;
  integrity: string;
  files: { path: string }[];
}
let packed: PackResult[] = [];
const manifestOf = (name: string) => JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'));

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * The empty project's lockfile: the three tarballs, plus every third-party package they need at
 * exactly the version (and place) the repository's own lockfile pins. npm then resolves nothing
 * against the registry, and --offline takes every tarball from the cache `npm ci` filled.
 */
function projectLock(): unknown {
  const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {};
  const deps: Record<string, string> = {};
  const queue: { at: string; entry: LockEntry }[] = [];
  for (const p of packed) {
    const resolved = `file:../tarballs/${p.filename}`;
    deps[p.name] = resolved;
    const source = Object.entries(rootLock.packages).find(([, e]) => (e as { name?: string }).name === p.name)![1];
    const entry: LockEntry = { version: source.version, resolved, integrity: p.integrity, license: source.license };
    if (source.dependencies) entry.dependencies = source.dependencies;
    if (source.engines) entry.engines = source.engines;
    if (source.bin) entry.bin = source.bin;
    packages[`node_modules/${p.name}`] = entry;
    queue.push({ at: `node_modules/${p.name}`, entry });
  }
  // Node's lookup: the nearest node_modules/<name> walking up from the requiring package.
  const locate = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const candidate = `${base}/node_modules/${name}`;
      if (rootLock.packages[candidate] || packages[candidate]) return candidate;
      const i = base.lastIndexOf('/node_modules/');
      if (i < 0) return rootLock.packages[`node_modules/${name}`] ? `node_modules/${name}` : undefined;
      base = base.slice(0, i);
    }
  };
  while (queue.length > 0) {
    const { at, entry } = queue.shift()!;
    const wanted = { ...entry.dependencies, ...entry.optionalDependencies };
    for (const name of Object.keys(wanted)) {
      if (name.startsWith('@herald/')) continue;
      const path = locate(at.startsWith('node_modules/@herald/') ? '' : at, name);
      if (path === undefined) {
        if (entry.optionalDependencies?.[name]) continue;
        throw new Error(`${at} needs ${name}, which the repository's lockfile does not have`);
      }
      if (packages[path]) continue;
      packages[path] = rootLock.packages[path];
      queue.push({ at: path, entry: packages[path] });
    }
  }
  return {
    name: 'herald-pack-check',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'herald-pack-check', dependencies: deps }, ...packages },
  };
}

beforeAll(async () => {
  mkdirSync(tarballs);
  mkdirSync(project);
  const { stdout } = await run('npm', ['pack', ...PACKAGES.flatMap((p) => ['-w', p]), '--pack-destination', tarballs, '--json'], { cwd: root });
  packed = JSON.parse(stdout) as PackResult[];
  for (const p of packed)
    p.integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(tarballs, p.filename)))
      .digest('base64')}`;
  const deps = Object.fromEntries(packed.map((p) => [p.name, `file:../tarballs/${p.filename}`]));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'herald-pack-check', private: true, type: 'module', dependencies: deps }));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLock(), null, 2));
  // Install scripts off: better-sqlite3's would fetch a prebuilt binary, and offline there is none
  // to fetch. The repository's own build of the same version, for the same Node, stands in for it.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });
  const release = join(project, 'node_modules/better-sqlite3/build/Release');
  mkdirSync(release, { recursive: true });
  copyFileSync(join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(release, 'better_sqlite3.node'));
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the packed packages, installed offline into an empty project', () => {
  it('hold their build, README and manifest only: no tests, no sources, no build info', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...PACKAGES].sort());
    for (const p of packed) {
      const outside = p.files.map((f) => f.path).filter((f) => !f.startsWith('dist/'));
      expect(outside.sort(), p.name).toEqual(
        p.name === '@herald/receive-gateway' ? ['README.md', 'bin/herald-receive.js', 'package.json'] : ['README.md', 'package.json'],
      );
      expect(p.files.some((f) => f.path === 'dist/index.js' || f.path === 'dist/index.d.ts')).toBe(true);
      expect(p.files.some((f) => /tsbuildinfo|\.test\./.test(f.path))).toBe(false);
    }
  });

  it('are publishable, and the kit and the domain bring no third-party runtime dependency', () => {
    for (const name of PACKAGES) {
      const m = manifestOf(name);
      expect(m.private, name).toBeUndefined();
      expect(m).toMatchObject({ version: '0.1.0', license: 'MIT', type: 'module', publishConfig: { access: 'public', provenance: true } });
      expect(m.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    }
    expect(manifestOf('@herald/engage').dependencies).toBeUndefined();
    expect(manifestOf('@herald/receiver').dependencies).toEqual({ '@herald/engage': '0.1.0' });
    for (const name of ['@herald/engage', '@herald/receiver']) {
      // Anything optional would be an optional peer, never a dependency.
      const peers = Object.keys(manifestOf(name).peerDependencies ?? {});
      expect(
        peers.every((p) => manifestOf(name).peerDependenciesMeta?.[p]?.optional === true),
        name,
      ).toBe(true);
    }
  });

  it('sign and verify with the kit, and parse an Engage envelope, from the installed packages', async () => {
    writeFileSync(
      join(project, 'verify.mjs'),
      `import { createReceiver, createRouter, generateSecret, signatureHeaders, verifyWebhook } from '@herald/receiver';
import { engageExample, parseEnvelope } from '@herald/engage';
const secret = generateSecret();
const body = JSON.stringify(engageExample('point.balance.updated'));
const headers = signatureHeaders({ id: 'msg_1', timestamp: new Date(), body, secrets: secret });
const { id, payload } = verifyWebhook(body, headers, secret);
createReceiver({ secrets: secret, router: createRouter() });
console.log(JSON.stringify({ id, eventType: parseEnvelope(payload).eventType }));
`,
    );
    const { stdout } = await run(process.execPath, ['verify.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ id: 'msg_1', eventType: 'point.balance.updated' });
  });

  it('herald-receive --help runs the installed bin, and npm exec finds it without the registry', async () => {
    const bin = join(project, 'node_modules/.bin/herald-receive');
    const direct = await run(bin, ['--help'], { cwd: project });
    expect(direct.stdout).toMatch(/^usage: herald-receive \[--config <file\.json>\]/);
    // The variables, listed from the gateway's table by the installed @herald/config.
    expect(direct.stdout).toMatch(/\n {2}HERALD_RECEIVE_ROUTES \(default: required\)\n/);
    const viaNpm = await run('npm', ['exec', '--offline', '--no', '--', 'herald-receive', '--help'], { cwd: project });
    expect(viaNpm.stdout).toMatch(/^usage: herald-receive/);
  });

  it('in the repository, the root package is private and npm exec herald-receive runs the workspace, not the registry', async () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).private).toBe(true);
    const { stdout } = await run('npm', ['exec', '--offline', '--no', '--', 'herald-receive', '--help'], { cwd: root });
    expect(stdout).toMatch(/^usage: herald-receive/);
  });

  it('the installed gateway starts and accepts a signed webhook', async () => {
    const { generateSecret, signatureHeaders } = await import('@herald/receiver');
    const secret = generateSecret();
    writeFileSync(
      join(project, 'gateway.json'),
      JSON.stringify({
        host: '127.0.0.1',
        port: 0,
        path: '/hooks',
        secrets: [secret],
        inboxPath: join(project, 'data/inbox.db'),
        destinations: { sink: { type: 'http', url: 'http://127.0.0.1:9/never' } },
        routes: [{ events: ['*'], to: ['sink'] }],
      }),
    );
    const child = spawn(join(project, 'node_modules/.bin/herald-receive'), ['--config', 'gateway.json'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /"msg":"listening","url":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`herald-receive exited ${code}: ${out}`)));
      });
      const body = JSON.stringify({ eventId: 'e-1', eventType: 'contact.deleted', isEncrypted: false, payload: { contactId: 'c' }, tenant: 't' });
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders({ id: 'msg_pack', timestamp: new Date(), body, secrets: secret }) },
        body,
      });
      expect([res.status, await res.json()]).toEqual([200, { ok: true }]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
