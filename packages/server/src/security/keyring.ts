// The master key ring: the key that seals (current) and the keys that still open older values
// (previous), from HERALD_MASTER_KEY and HERALD_MASTER_KEY_PREVIOUS, or from the key file in the
// data folder. The file holds one key per line (64 hex digits), the current one first, and is
// replaced atomically (write, fsync, rename; mode 0600), so a process reading it sees the old ring
// or the new one, never half of one. Processes using the file re-read it when it changes (see
// Sealer), which is what lets `herald rotate-master-key` run with no restart and no downtime.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/index.js';
import { Sealer, type KeyRing, type KeyRingReload } from './sealer.js';

export const KEY_FILE = 'master.key';

export function keyFileOf(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, KEY_FILE);
}

export function parseKeyFile(text: string, file: string): KeyRing {
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length === 0 || keys.some((k) => !/^[0-9a-fA-F]{64}$/.test(k))) {
    throw new Error(`${file}: expected one master key per line, 64 hex digits each (the current key first)`);
  }
  const [current, ...previous] = keys.map((k) => Buffer.from(k, 'hex'));
  return { current: current!, previous };
}

export function readKeyFile(file: string): KeyRing {
  return parseKeyFile(readFileSync(file, 'utf8'), file);
}

/** Replace the key file atomically with `ring` (mode 0600). */
export function writeKeyFile(file: string, ring: KeyRing): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, [ring.current, ...ring.previous].map((k) => `${k.toString('hex')}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dir = openSync(dirname(file), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

/** Where `config`'s master key comes from, for messages to operators. */
export function masterKeyWhere(config: Pick<Config, 'dataDir' | 'masterKey' | 'masterKeyFile'>): string {
  if (config.masterKey) {
    return config.masterKeyFile ? `the file HERALD_MASTER_KEY_FILE names (${config.masterKeyFile})` : 'the HERALD_MASTER_KEY environment variable';
  }
  return `the key file ${keyFileOf(config)}`;
}

/** Which of `values` (sealed) `sealer` cannot open, and the key ids they were sealed under. */
export function unopenable(sealer: Sealer, values: readonly string[]): { unopened: number; foreign: Set<string> } {
  const foreign = new Set<string>();
  let unopened = 0;
  for (const v of values) {
    try {
      sealer.unseal(v);
    } catch {
      unopened++;
      foreign.add(v.split(':')[2] ?? '?');
    }
  }
  return { unopened, foreign };
}

/** How many endpoints' signing secrets a start checks its master key against. */
const START_SAMPLE = 5;

/**
 * Refuse to run with a master key that opens none of the store's sealed endpoint secrets (sampled):
 * a worker started with another key would claim every delivery and fail to read it, holding each
 * under a lease again and again, and an API process would fail every secret read. Some opening and
 * some not (a rotation's old key dropped before its sweep ended) is only counted: the caller warns.
 */
export async function checkMasterKeyOpens(
  store: { sealedSecretSample(limit: number): Promise<string[]> },
  sealer: Sealer,
  config: Pick<Config, 'dataDir' | 'masterKey' | 'masterKeyFile'>,
): Promise<{ sampled: number; unopened: number }> {
  const sample = await store.sealedSecretSample(START_SAMPLE);
  const { unopened, foreign } = unopenable(sealer, sample);
  if (sample.length > 0 && unopened === sample.length) {
    throw new Error(
      `the master key from ${masterKeyWhere(config)} (key id ${sealer.keyId}) opens none of the ${sample.length} endpoint secrets sampled from the store: ` +
        `they are sealed under key id ${[...foreign].join(', ')}. Start Herald with the master key this data was written with ` +
        '(HERALD_MASTER_KEY, HERALD_MASTER_KEY_FILE or master.key in the data folder), or during a rotation list the old key in HERALD_MASTER_KEY_PREVIOUS. ' +
        '`herald doctor` checks this without starting.',
    );
  }
  return { sampled: sample.length, unopened };
}

/** The ring in force for `config`, creating the key file (with a fresh key) on first start. */
export function keyRingFor(config: Pick<Config, 'dataDir' | 'masterKey' | 'previousMasterKeys'>): { ring: KeyRing; file: string | null } {
  if (config.masterKey) return { ring: { current: config.masterKey, previous: [...config.previousMasterKeys] }, file: null };
  const file = keyFileOf(config);
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    try {
      // 'wx': two processes starting at once cannot both create one.
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
      fsyncSync(fd);
      closeSync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const ring = readKeyFile(file);
  return { ring: { current: ring.current, previous: [...ring.previous, ...config.previousMasterKeys] }, file };
}

/** A reload for Sealer: the key file's ring when the file changed since last time, else null. */
function fileReload(file: string, extra: readonly Buffer[]): KeyRingReload {
  const stamp = () => {
    const s = statSync(file, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '';
  };
  let seen = stamp();
  return () => {
    const now = stamp();
    if (now === seen || now === '') return null;
    seen = now;
    const ring = readKeyFile(file);
    return { current: ring.current, previous: [...ring.previous, ...extra] };
  };
}

/** The sealer for `config`: fixed keys from the environment, or the key file, followed live. */
export function sealerFor(config: Pick<Config, 'dataDir' | 'masterKey' | 'previousMasterKeys'>): Sealer {
  const { ring, file } = keyRingFor(config);
  return new Sealer(ring.current, ring.previous, file ? fileReload(file, config.previousMasterKeys) : undefined);
}
