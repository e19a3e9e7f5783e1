/**
 * Dedupe by webhook id. Senders retry with the same id, so a receiver that remembers processed ids
 * handles each message once. Ids are remembered only after successful processing, so a failed
 * attempt is processed again when the sender retries.
 */
import { readFileSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DedupeStore {
  /** True when the id was processed and is still remembered. */
  has(id: string): boolean | Promise<boolean>;
  /** Remembers a processed id. */
  add(id: string): void | Promise<void>;
}

export interface MemoryDedupeOptions {
  /** Most ids kept; the oldest go first. Default 100,000. */
  maxEntries?: number | undefined;
  /** How long an id is remembered, ms. Default 72 h: Svix's retries span about 28 h. */
  ttlMs?: number | undefined;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export const DEFAULT_DEDUPE_TTL_MS = 72 * 60 * 60 * 1000;
export const DEFAULT_DEDUPE_MAX_ENTRIES = 100_000;

export interface MemoryDedupeStore extends DedupeStore {
  has(id: string): boolean;
  add(id: string): void;
  /** Ids currently remembered (expired ones may linger until touched). */
  readonly size: number;
  /** Live entries with their expiry, oldest first. */
  entries(): IterableIterator<[id: string, expiresAt: number]>;
  /** Adds an id with a given expiry (used when loading from disk). */
  restore(id: string, expiresAt: number): void;
}

/** Bounded, TTL'd, in-process store. Lost on restart; use the file store or your own for durability. */
export function createMemoryDedupeStore(options: MemoryDedupeOptions = {}): MemoryDedupeStore {
  const maxEntries = options.maxEntries ?? DEFAULT_DEDUPE_MAX_ENTRIES;
  const ttlMs = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  if (!(maxEntries >= 1) || !(ttlMs > 0)) throw new RangeError('maxEntries must be ≥ 1 and ttlMs > 0');
  // A Map iterates in insertion order; re-inserting on add keeps it ordered by expiry (one TTL for all).
  const map = new Map<string, number>();

  function prune(at: number): void {
    for (const [id, expiresAt] of map) {
      if (expiresAt > at) break;
      map.delete(id);
    }
  }

  function restore(id: string, expiresAt: number): void {
    map.delete(id);
    map.set(id, expiresAt);
    while (map.size > maxEntries) map.delete(map.keys().next().value as string);
  }

  return {
    has(id) {
      const expiresAt = map.get(id);
      if (expiresAt === undefined) return false;
      if (expiresAt > now()) return true;
      map.delete(id);
      return false;
    },
    add(id) {
      const at = now();
      prune(at);
      restore(id, at + ttlMs);
    },
    restore,
    get size() {
      return map.size;
    },
    *entries() {
      const at = now();
      for (const entry of map) if (entry[1] > at) yield entry;
    },
  };
}

export interface FileDedupeOptions extends MemoryDedupeOptions {
  /** The append-only log file; created if missing. */
  path: string;
  /** fdatasync each batch of writes before `add` resolves. Default true. */
  fsync?: boolean | undefined;
}

export interface FileDedupeStore extends DedupeStore {
  has(id: string): boolean;
  add(id: string): Promise<void>;
  /** Flushes pending writes and closes the file. */
  close(): Promise<void>;
}

/** Makes a rename durable: the directory entry itself must reach the disk (Linux, macOS). */
async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function logLine(id: string, exp: number): string {
  return `${JSON.stringify({ id, exp })}\n`;
}

/**
 * A durable store with no dependencies: an append-only log of `{"id":…,"exp":…}` lines, replayed
 * into a memory store at open. Writes are batched (group commit) so concurrent adds share one
 * fdatasync. The log is rewritten with only the live ids whenever it has grown to twice their
 * number plus 1000 lines, at open and while running, so it stays bounded like the memory store
 * (at most `maxEntries` live ids). One process per file: for several processes, implement
 * `DedupeStore` over a shared database (e.g. SQLite or Redis).
 */
export async function openFileDedupeStore(options: FileDedupeOptions): Promise<FileDedupeStore> {
  const memory = createMemoryDedupeStore(options);
  const ttlMs = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  const fsync = options.fsync ?? true;

  let lines = 0;
  let text = '';
  try {
    text = readFileSync(options.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines++;
    try {
      const { id, exp } = JSON.parse(line) as { id: unknown; exp: unknown };
      if (typeof id === 'string' && typeof exp === 'number' && exp > now()) memory.restore(id, exp);
    } catch {
      // A torn last line from a crash mid-write: that add never resolved, so nothing was promised.
    }
  }

  /** Writes the live ids to `<path>.tmp`, durably; returns how many. The log is untouched. */
  async function writeLive(tmp: string): Promise<number> {
    let out = '';
    let live = 0;
    for (const [id, exp] of memory.entries()) {
      out += logLine(id, exp);
      live++;
    }
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(out, 'utf8');
      await fh.datasync();
    } finally {
      await fh.close();
    }
    return live;
  }

  const tmp = `${options.path}.tmp`;
  const threshold = (live: number): number => 2 * live + 1000;
  if (lines > threshold(memory.size)) {
    lines = await writeLive(tmp);
    await rename(tmp, options.path);
    await syncDirectory(options.path);
  }
  let compactAt = threshold(memory.size);

  let file: FileHandle = await open(options.path, 'a');
  let pending: { id: string; exp: number }[] = [];
  let waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  // Set when a compaction failed after its rename: appends could no longer be trusted to reach
  // the file that is read at open, so adds fail (the sender retries) rather than lie.
  let broken: Error | undefined;

  async function compact(): Promise<void> {
    // Between batches nothing is being appended, and every resolved add is in memory.
    let live: number;
    try {
      live = await writeLive(tmp);
      await rename(tmp, options.path);
    } catch {
      // The rename is the commit point: before it, the log is intact. Keep appending, try later.
      compactAt = lines + 1000;
      return;
    }
    try {
      const old = file;
      file = await open(options.path, 'a');
      await old.close();
      // Appends now go to the new file: the rename must be on disk before any add resolves.
      await syncDirectory(options.path);
    } catch (cause) {
      broken = new Error(`the dedupe log ${options.path} could not be compacted`, { cause });
      return;
    }
    lines = live;
    compactAt = threshold(live);
  }

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      if (lines >= compactAt && !broken) await compact();
      const batch = pending;
      const batchWaiters = waiters;
      pending = [];
      waiters = [];
      try {
        if (broken) throw broken;
        await file.appendFile(batch.map((e) => logLine(e.id, e.exp)).join(''), 'utf8');
        if (fsync) await file.datasync();
        lines += batch.length;
        // Remember in memory only once durable, so `has` never claims what a crash would forget.
        for (const e of batch) memory.restore(e.id, e.exp);
        for (const w of batchWaiters) w.resolve();
      } catch (err) {
        for (const w of batchWaiters) w.reject(err);
      }
    }
    flushing = undefined;
  }

  return {
    has: (id) => memory.has(id),
    add(id) {
      pending.push({ id, exp: now() + ttlMs });
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      flushing ??= flush();
      return done;
    },
    async close() {
      await flushing;
      await file.close();
    },
  };
}
