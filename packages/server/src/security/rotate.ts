// `herald rotate-master-key`: re-seal every sealed value under a new master key with no downtime.
//
// With the key file (the default), the command does it all while Herald keeps running:
//  1. writes the file anew with a fresh key first and the old one after it. Running processes
//     notice the change (they look before sealing, at most every second, and whenever a value
//     names a key they do not hold): from then on they seal under the new key and open both;
//  2. waits for that to have happened, then re-seals every value still under an older key, a small
//     batch at a time, each row a compare-and-set so live writes are never overwritten; looks once
//     more after another wait, for writes that were in flight;
//  3. writes the file with the new key alone: the old key is no longer needed (--keep-previous
//     keeps it, e.g. so portal links signed under it live out their lifetime).
// With HERALD_MASTER_KEY, keys cannot change under a running process, so the operator rolls them
// out (see README) and this command does step 2 under HERALD_MASTER_KEY, opening older values
// with HERALD_MASTER_KEY_PREVIOUS.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { ResealCursor, ResealResult } from '../store/reseal.js';
import type { Store } from '../store/store.js';
import { keyFileOf, keyRingFor, readKeyFile, writeKeyFile } from './keyring.js';
import { RELOAD_EVERY_MS, Sealer } from './sealer.js';

export interface RotateOptions {
  /** Opens the store with the given sealer (the CLI passes herald.openStore). */
  openStore(sealer: Sealer): Promise<Store>;
  /** Rows per batch (default 100). */
  batchSize?: number;
  /** How long running processes are given to pick up a new key file (default 2.5 s). */
  graceMs?: number;
  /** Keep the old key in the key file after re-sealing. */
  keepPrevious?: boolean;
  log?: (line: string) => void;
  /** Called after each batch (tests look at the store in the middle of a rotation). */
  onBatch?: (r: ResealResult) => Promise<void> | void;
  /** The new key (tests); a fresh random one by default. */
  newKey?: Buffer;
}

export interface RotateReport {
  mode: 'key-file' | 'environment';
  keyId: string;
  resealed: number;
  /** Ids of keys still accepted afterwards (empty once the old key is dropped). */
  previousKeyIds: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One sweep over every sealed value, batch by batch. */
export async function sweep(store: Store, opts: Pick<RotateOptions, 'batchSize' | 'onBatch'> = {}): Promise<{ found: number; resealed: number }> {
  let cursor: ResealCursor | null = null;
  let found = 0;
  let resealed = 0;
  do {
    const r = await store.resealBatch(opts.batchSize ?? 100, cursor);
    found += r.found;
    resealed += r.resealed;
    await opts.onBatch?.(r);
    cursor = r.next;
    // Let live traffic in between batches.
    await new Promise((resolve) => setImmediate(resolve));
  } while (cursor);
  return { found, resealed };
}

/**
 * Sweep until a sweep re-seals every value it finds under an older key (a row changed under a
 * sweep, by a live write, is left to the next one). Returns the rows re-sealed.
 */
export async function resealAll(store: Store, opts: Pick<RotateOptions, 'batchSize' | 'onBatch'> = {}): Promise<number> {
  let total = 0;
  for (let i = 0; i < 10; i++) {
    const s = await sweep(store, opts);
    total += s.resealed;
    if (s.found === s.resealed) return total;
  }
  throw new Error('values keep changing under an older key: is a process still running with an old key ring?');
}

export async function rotateMasterKey(config: Config, opts: RotateOptions): Promise<RotateReport> {
  const log = opts.log ?? (() => undefined);
  const graceMs = opts.graceMs ?? RELOAD_EVERY_MS * 2 + 500;

  if (config.masterKey) {
    const sealer = new Sealer(config.masterKey, [...config.previousMasterKeys]);
    const store = await opts.openStore(sealer);
    try {
      const resealed = await resealAll(store, opts);
      log(`Re-sealed ${resealed} row(s) under HERALD_MASTER_KEY (key ${sealer.keyId}).`);
      if (config.previousMasterKeys.length) log('Nothing needs HERALD_MASTER_KEY_PREVIOUS any more: remove it from every process.');
      return { mode: 'environment', keyId: sealer.keyId, resealed, previousKeyIds: config.previousMasterKeys.map(Sealer.idOf) };
    } finally {
      await store.close();
    }
  }

  const file = keyFileOf(config);
  keyRingFor(config); // creates the key file on a first run
  const old = readKeyFile(file);
  const fresh = opts.newKey ?? randomBytes(32);
  const oldKeys = [old.current, ...old.previous];
  writeKeyFile(file, { current: fresh, previous: oldKeys });
  const keyId = Sealer.idOf(fresh);
  log(`Wrote the new master key ${keyId} to ${file}; key ${Sealer.idOf(old.current)} still opens older values.`);
  await sleep(graceMs);
  const sealer = new Sealer(fresh, [...oldKeys, ...config.previousMasterKeys]);
  const store = await opts.openStore(sealer);
  let resealed = 0;
  try {
    resealed = await resealAll(store, opts);
    // Writes that were sealed under the old key by a process that had not looked yet, and were
    // still in flight during the first pass.
    await sleep(graceMs);
    resealed += await resealAll(store, opts);
  } finally {
    await store.close();
  }
  log(`Re-sealed ${resealed} row(s) under ${keyId}.`);
  if (opts.keepPrevious) return { mode: 'key-file', keyId, resealed, previousKeyIds: oldKeys.map(Sealer.idOf) };
  writeKeyFile(file, { current: fresh, previous: [] });
  log(`Removed the old key(s) from ${file}: only ${keyId} is needed now.`);
  return { mode: 'key-file', keyId, resealed, previousKeyIds: [] };
}
