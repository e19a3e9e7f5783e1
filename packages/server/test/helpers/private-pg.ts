// A private PostgreSQL cluster for tests that must stop or restart the server: initdb into a temp
// folder, started with pg_ctl on a free loopback port (socket in the same folder), trust auth.
// The shared server on 5432 is never touched, since other test files use it at the same time.
// Runs as the `postgres` OS user when the tests run as root (PostgreSQL refuses to run as root).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './herald-process.js';

export interface PrivateCluster {
  url: string;
  port: number;
  dir: string;
  /** `pg_ctl restart -m fast`: every connection is cut, the server is back when this resolves. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m immediate`, keeping the data: an outage until `resume`. */
  halt(): Promise<void>;
  /** Start the halted server again; resolves when it accepts connections. */
  resume(): Promise<void>;
  stop(): void;
}

/** The newest installed PostgreSQL bin folder with initdb, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : null;
}

function pgUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(line[2]), gid: Number(line[3]) };
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL initdb under /usr/lib/postgresql');
  const user = pgUser();
  const dir = mkdtempSync(join(tmpdir(), 'herald-private-pg-'));
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const run = (cmd: string, args: string[]) =>
    user
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe', timeout: 60_000 })
      : execFileSync(join(bin, cmd), args, { stdio: 'pipe', timeout: 60_000 });
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const ctl = (action: string, ...extra: string[]) => run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', action, ...extra]);
  ctl('start');
  const ctlAsync = async (...args: string[]) => {
    const full = ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', ...args];
    if (user) await promisify(execFile)('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...full], { timeout: 60_000 });
    else await promisify(execFile)(join(bin, 'pg_ctl'), full, { timeout: 60_000 });
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    restart: () => ctlAsync('restart', '-m', 'fast'),
    halt: () => ctlAsync('stop', '-m', 'immediate'),
    resume: () => ctlAsync('start'),
    stop() {
      try {
        ctl('stop', '-m', 'immediate');
      } catch {
        // already down
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
