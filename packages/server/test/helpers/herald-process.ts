// A real Herald server as a child process with its own fresh data folder and a random API token,
// for tests that drive it over real HTTP: a convenience over helpers/cli.ts's `serve`, which
// launches every `herald` child process (one launcher: the same environment, the same
// kill-on-exit, the same diagnostics). The build (`npm run build`) must have run first; this
// helper never builds.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from './cli.js';

export { REPO_ROOT } from './cli.js';

const STOP_TIMEOUT_MS = 10_000;

export interface StartHeraldOptions {
  /** Extra environment for the child; wins over the defaults below (HERALD_DATA_DIR included). */
  env?: Record<string, string>;
}

export interface StopOptions {
  /** Leave the data folder on disk (e.g. to start a second Herald on it). Default false. */
  keepDataDir?: boolean;
}

export interface HeraldProcess {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:43117 */
  url: string;
  /** The organisation API token the server was started with (HERALD_API_TOKEN). */
  token: string;
  dataDir: string;
  port: number;
  pid: number;
  /** stdout and stderr so far, for diagnostics. */
  output(): { stdout: string; stderr: string };
  /**
   * SIGTERM, then wait for the exit (SIGKILL after 10 s). Removes the data folder this helper
   * created unless `keepDataDir`; a folder passed in through env.HERALD_DATA_DIR is never removed.
   */
  stop(opts?: StopOptions): Promise<void>;
  /** Send a signal (default SIGKILL) without waiting, e.g. to simulate a crash. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** A TCP port that was free a moment ago: bind port 0 on loopback, read it, release it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the bound port'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** `herald serve` on a free loopback port (a fixed one, so its own links are right); resolves once it listens. */
export async function startHerald(opts: StartHeraldOptions = {}): Promise<HeraldProcess> {
  const ownDataDir = opts.env?.HERALD_DATA_DIR === undefined;
  const dataDir = opts.env?.HERALD_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'herald-test-'));
  const removeDataDir = (): void => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const token = `testsk_${randomBytes(24).toString('hex')}`;
  let p: Awaited<ReturnType<typeof serve>>;
  try {
    // A fixed port, not 0: the portal links are built from the configured port (HERALD_PUBLIC_URL's default).
    const port = String(await freePort());
    p = await serve({ HERALD_PORT: port, HERALD_LOG_LEVEL: 'info', HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: token, ...opts.env });
  } catch (e) {
    removeDataDir();
    throw e;
  }
  const url = p.url.replace(/\/$/, '');
  return {
    url,
    token,
    dataDir,
    port: Number(new URL(url).port),
    pid: p.child.pid ?? -1,
    exited: p.exited.then((e) => e.code ?? e.signal),
    output: () => ({ stdout: p.stdout(), stderr: p.stderr() }),
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      p.kill(signal);
    },
    async stop(stopOpts: StopOptions = {}) {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await p.exited;
      clearTimeout(timer);
      if (!stopOpts.keepDataDir) removeDataDir();
    },
  };
}
