// Runs the built `herald` CLI (packages/server/dist/cli/main.js) as a child process: the one
// launcher of `herald` processes in the tests (herald-process.ts's startHerald builds on `serve`).
// `npm run build` must have run first; this helper never builds. Waiting is done by polling the
// child's output against a deadline (helpers/wait.ts), never by fixed sleeps.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'packages/server/dist/cli/main.js');

const DEADLINE_MS = 20_000;
const POLL_MS = 20;

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: run \`npm run build\` before the tests`);
}

/** The parent's environment without any HERALD_* variable, plus `env`. */
export function cliEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_') && v !== undefined) base[k] = v;
  // Test receivers listen on loopback, which the SSRF guard refuses unless allowed.
  return { ...base, HERALD_SSRF_ALLOWLIST: '127.0.0.0/8,::1/128', ...env };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the child exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Poll until `pred()` holds, the child exits, or the deadline passes. */
  waitFor(what: string, pred: () => boolean, deadlineMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** `cli`: another build's main.js (an older Herald, for the upgrade tests); this checkout's by default. */
export function spawnCli(args: string[], env: Record<string, string>, cli = CLI): CliProcess {
  if (cli === CLI) assertBuilt();
  const child = spawn(process.execPath, [cli, ...args], { cwd: REPO_ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  let done: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      done = { code, signal };
      live.delete(child);
      resolve(done);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(what, pred, deadlineMs = DEADLINE_MS) {
      const seen = await until(what, () => (pred() ? 'held' : done ? 'exited' : false), deadlineMs, POLL_MS).catch((e: Error) => {
        throw new Error(`${e.message}\nstdout:\n${out}\nstderr:\n${err}`);
      });
      if (seen === 'exited') throw new Error(`herald ${args.join(' ')} exited (${JSON.stringify(done)}) before ${what}\nstdout:\n${out}\nstderr:\n${err}`);
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
    },
  };
}

/** Run a CLI command to completion (killed if it outlives the deadline). */
export async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, env);
  const timer = setTimeout(() => p.kill('SIGKILL'), DEADLINE_MS);
  const r = await p.exited;
  clearTimeout(timer);
  return { ...r, stdout: p.stdout(), stderr: p.stderr() };
}

export interface Served extends CliProcess {
  url: string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** `herald serve` on a random loopback port; resolves once it prints its URL. */
export async function serve(env: Record<string, string>, args: string[] = [], cli = CLI): Promise<Served> {
  const p = spawnCli(['serve', ...args], { HERALD_HOST: '127.0.0.1', HERALD_PORT: '0', HERALD_LOG_LEVEL: 'warn', ...env }, cli);
  const re = /listening on (http:\/\/\S+)/;
  try {
    await p.waitFor('the listening line', () => re.test(p.stdout()));
  } catch (e) {
    p.kill('SIGKILL');
    await p.exited;
    throw e;
  }
  const url = re.exec(p.stdout())![1]!;
  return {
    ...p,
    url,
    async stop() {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), DEADLINE_MS);
      await p.exited;
      clearTimeout(timer);
    },
  };
}

/** fetch with a bearer token and a JSON body; returns status and parsed JSON (if any). */
export async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** `call` that expects `status`: returns the JSON body, or throws saying what came back instead. */
export function expecting(url: string, token: string) {
  return async (method: string, path: string, status: number, body?: unknown): Promise<any> => {
    const r = await call(url, token, method, path, body);
    if (r.status !== status) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.json)}`);
    return r.json;
  };
}

/** SIGKILL every process given (those never started are skipped) and wait until all have exited. */
export async function killAll(...processes: (CliProcess | undefined)[]): Promise<void> {
  const started = processes.filter((p): p is CliProcess => p !== undefined);
  for (const p of started) p.kill('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
}
