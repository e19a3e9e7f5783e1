// Starts a real Herald server as a child process (`herald serve` from the built dist) on a free
// loopback port with a fresh data folder and a random API token, for tests that drive it over
// real HTTP. The build (`npm run build`) must have run first; this helper never builds.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is packages/server/test/helpers/herald-process.ts. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const HERALD_MAIN = join(REPO_ROOT, 'packages/server/dist/cli/main.js');

const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 10_000;
/** Keep only the tail of the child's output: enough to explain a failure, bounded in memory. */
const LOG_TAIL_CHARS = 64 * 1024;

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
  /** stdout and stderr so far (tails), for diagnostics. */
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

function appendTail(prev: string, chunk: Buffer): string {
  const next = prev + chunk.toString('utf8');
  return next.length > LOG_TAIL_CHARS ? next.slice(next.length - LOG_TAIL_CHARS) : next;
}

// Children still running when the test process exits are killed, so a failed run leaves no
// stray servers holding ports.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function startHerald(opts: StartHeraldOptions = {}): Promise<HeraldProcess> {
  if (!existsSync(HERALD_MAIN)) {
    throw new Error(`${HERALD_MAIN} does not exist: run \`npm run build\` before the tests`);
  }
  const port = await freePort();
  const ownDataDir = opts.env?.HERALD_DATA_DIR === undefined;
  const dataDir = opts.env?.HERALD_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'herald-test-'));
  const token = `testsk_${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HERALD_HOST: '127.0.0.1',
    HERALD_PORT: String(port),
    HERALD_DATA_DIR: dataDir,
    HERALD_API_TOKEN: token,
    // Test receivers listen on loopback, which the SSRF guard refuses unless allowed.
    HERALD_SSRF_ALLOWLIST: '127.0.0.0/8,::1/128',
    ...opts.env,
  };
  const url = `http://${env.HERALD_HOST}:${env.HERALD_PORT}`;

  const child = spawn(process.execPath, [HERALD_MAIN, 'serve'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  installExitHook();
  live.add(child);

  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout = appendTail(stdout, c)));
  child.stderr?.on('data', (c: Buffer) => (stderr = appendTail(stderr, c)));

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      resolve(code ?? signal);
    });
    child.once('error', (err) => {
      stderr += `\n[spawn error] ${err.message}`;
      exitInfo = { code: null, signal: null };
      live.delete(child);
      resolve(null);
    });
  });

  const removeDataDir = (): void => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  const fail = (why: string): Error =>
    new Error(
      `Herald did not become ready at ${url}: ${why}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`,
    );

  // Wait for GET /api/v1/health/ping to answer 204.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (exitInfo !== null) {
      const info = exitInfo as { code: number | null; signal: NodeJS.Signals | null };
      removeDataDir();
      throw fail(`the process exited early (code ${info.code}, signal ${info.signal})`);
    }
    try {
      const res = await fetch(`${url}/api/v1/health/ping`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 204) break;
      lastProblem = `ping answered ${res.status}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      child.kill('SIGKILL');
      await exited;
      removeDataDir();
      throw fail(`timed out after ${READY_TIMEOUT_MS} ms (last: ${lastProblem})`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }

  return {
    url,
    token,
    dataDir,
    port,
    pid: child.pid ?? -1,
    exited,
    output: () => ({ stdout, stderr }),
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (exitInfo === null) child.kill(signal);
    },
    async stop(stopOpts: StopOptions = {}) {
      if (exitInfo === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (exitInfo === null) child.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      if (!stopOpts.keepDataDir) removeDataDir();
    },
  };
}
