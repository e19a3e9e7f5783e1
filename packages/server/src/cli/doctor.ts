// `herald doctor`: reads the configuration and the store, changes nothing (it never creates a key
// file or a database), and says in an operator's words what is wrong and what to do about it.
// Problems (FAIL) make it exit 1; warnings are things that work but are probably not meant.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { BlockList, connect } from 'node:net';
import pg from 'pg';
import { ConfigError, type Config } from '../config/index.js';
import { checkSourceAddresses } from '../delivery/egress.js';
import { schemaVersionFor } from '../herald.js';
import { keyFileOf, masterKeyWhere, readKeyFile, unopenable } from '../security/keyring.js';
import { Sealer, type KeyRing } from '../security/sealer.js';
import { parseCidr } from '../security/ssrf.js';
import { schemaVerdict, type LedgerRow } from '../store/migrate.js';
import { readPgLedger } from '../store/postgres/pg-migrate.js';
import { SEALED_TABLES } from '../store/reseal.js';
import { readSqliteLedger } from '../store/sqlite/sqlite-migrate.js';
import { VERSION } from '../version.js';
import { ledgerVersion } from './backup.js';

type Out = (line: string) => void;
type Level = 'ok' | 'warn' | 'FAIL';
interface Finding {
  level: Level;
  area: string;
  text: string;
}

/** Sealed values looked at per column: enough to tell a wrong key, cheap on any database. */
const SAMPLE = 20;

/** What doctor learns from the store. */
interface StoreProbe {
  describe: string;
  /** The migration ledger; null when there is no database yet, empty when it has none. */
  ledger: LedgerRow[] | null;
  /** A sample of sealed values, from every sealed column the schema has. */
  sealed(): Promise<string[]>;
  close(): Promise<void>;
}

const sampleSql = (table: string, column: string) => `SELECT ${column} AS v FROM ${table} WHERE ${column} LIKE 'sealed:%' LIMIT ${SAMPLE}`;

function sqliteProbe(file: string): StoreProbe {
  if (!existsSync(file)) return { describe: `SQLite at ${file}`, ledger: null, sealed: async () => [], close: async () => {} };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const ledger = ledgerVersion(db) === 0 ? [] : readSqliteLedger(db);
  return {
    describe: `SQLite at ${file}`,
    ledger,
    async sealed() {
      const values: string[] = [];
      for (const t of SEALED_TABLES) {
        for (const c of t.sealed) {
          try {
            values.push(...(db.prepare(sampleSql(t.table, c)).all() as { v: string }[]).map((r) => r.v));
          } catch {
            // An older schema without this table or column: nothing sealed there.
          }
        }
      }
      return values;
    },
    close: async () => {
      db.close();
    },
  };
}

async function postgresProbe(url: string): Promise<StoreProbe> {
  const u = new URL(url);
  const describe = `PostgreSQL at ${u.host}${u.pathname}`;
  const client = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5000, max: 1 });
  let ledger: LedgerRow[];
  try {
    const t = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    ledger = t.rows[0]?.t ? await readPgLedger(client) : [];
  } catch (e) {
    await client.end();
    throw e;
  }
  return {
    describe,
    ledger,
    async sealed() {
      const values: string[] = [];
      for (const t of SEALED_TABLES) {
        for (const c of t.sealed) {
          try {
            values.push(...(await client.query<{ v: string }>(sampleSql(t.table, c))).rows.map((r) => r.v));
          } catch {
            // An older schema without this table or column.
          }
        }
      }
      return values;
    },
    close: () => client.end(),
  };
}

async function checkStore(config: Config, f: Finding[]): Promise<StoreProbe | null> {
  const latest = schemaVersionFor(config.database.kind);
  let probe: StoreProbe;
  try {
    probe = config.database.kind === 'sqlite' ? sqliteProbe(config.database.file) : await postgresProbe(config.database.url);
  } catch (e) {
    const what = config.database.kind === 'sqlite' ? `the SQLite database ${config.database.file}` : 'PostgreSQL';
    const hint =
      config.database.kind === 'sqlite'
        ? 'Check that the file is a Herald database and that this user may read it.'
        : 'Is PostgreSQL running and reachable from here, and are the host, port, user, password and database in HERALD_DATABASE_URL right?';
    f.push({ level: 'FAIL', area: 'store', text: `cannot open ${what}: ${(e as Error).message}. ${hint}` });
    return null;
  }
  if (probe.ledger === null) {
    f.push({
      level: 'warn',
      area: 'store',
      text: `${probe.describe} does not exist yet: \`herald serve\` creates it (or \`herald restore\` a backup). Is HERALD_DATA_DIR right?`,
    });
    return probe;
  }
  const s = Math.max(0, ...probe.ledger.map((r) => r.version));
  const verdict = schemaVerdict(probe.ledger, latest);
  if (!verdict.ok) {
    const needs = verdict.requires === null ? 'a newer Herald' : `Herald ${verdict.requires} or newer`;
    f.push({
      level: 'FAIL',
      area: 'store',
      text: `${probe.describe} is at schema version ${s}, newer than this Herald ${VERSION} knows (${latest}), and it needs ${needs}: a newer Herald migrated it. Run that version (or newer), or restore a backup taken before the upgrade.`,
    });
  } else if (s === latest) f.push({ level: 'ok', area: 'store', text: `${probe.describe}, schema version ${s} (current)` });
  else if (s < latest) {
    f.push({
      level: 'warn',
      area: 'store',
      text: `${probe.describe} is at schema version ${s}; this Herald applies migrations ${s + 1} to ${latest} when it starts (or run \`herald migrate\`). Take a backup first.`,
    });
  } else {
    f.push({
      level: 'warn',
      area: 'store',
      text: `${probe.describe} is at schema version ${s}, migrated by a newer Herald; its migrations let this Herald ${VERSION} (which knows up to ${latest}) run on it, but upgrade this process.`,
    });
  }
  return probe;
}

async function checkMasterKey(config: Config, probe: StoreProbe | null, f: Finding[]): Promise<void> {
  const sealed = probe ? await probe.sealed() : [];
  let ring: KeyRing;
  if (config.masterKey) ring = { current: config.masterKey, previous: [...config.previousMasterKeys] };
  else {
    const file = keyFileOf(config);
    if (!existsSync(file)) {
      if (sealed.length) {
        f.push({
          level: 'FAIL',
          area: 'master key',
          text: `the database holds sealed secrets but there is no key file at ${file} and HERALD_MASTER_KEY is not set. Put back the master key this data was sealed with (the master.key you kept, or set HERALD_MASTER_KEY / HERALD_MASTER_KEY_FILE). Starting Herald now would make a new key that cannot open them.`,
        });
      } else
        f.push({ level: 'ok', area: 'master key', text: `no key file yet; Herald creates ${file} on first start. Keep a copy of it apart from your backups.` });
      return;
    }
    try {
      const r = readKeyFile(file);
      ring = { current: r.current, previous: [...r.previous, ...config.previousMasterKeys] };
    } catch (e) {
      f.push({ level: 'FAIL', area: 'master key', text: `${(e as Error).message}. Restore the key file from your copy.` });
      return;
    }
    if ((statSync(file).mode & 0o077) !== 0) f.push({ level: 'warn', area: 'master key', text: `${file} is readable by other users: chmod 600 ${file}` });
  }
  const sealer = new Sealer(ring.current, ring.previous);
  const where = `${masterKeyWhere(config)}, key id ${sealer.keyId}`;
  if (sealed.length === 0) {
    f.push({ level: 'ok', area: 'master key', text: `from ${where}; no sealed values in the store yet to check it against` });
    return;
  }
  const { unopened: failed, foreign } = unopenable(sealer, sealed);
  if (failed === 0) f.push({ level: 'ok', area: 'master key', text: `from ${where}; it opens all ${sealed.length} sealed values sampled` });
  else {
    f.push({
      level: 'FAIL',
      area: 'master key',
      text:
        `${failed} of ${sealed.length} sealed values sampled cannot be opened with the configured key(s) (from ${where}); they were sealed under key id ${[...foreign].join(', ')}. ` +
        'This is not the key this data was written with: put back the master key in force when it was written (or, mid-rotation, list the old one in HERALD_MASTER_KEY_PREVIOUS). Deliveries to those endpoints fail until then.',
    });
  }
}

async function reachable(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve('no answer within 3 s');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function checkEgress(config: Config, f: Finding[]): Promise<void> {
  const e = config.egress;
  try {
    await checkSourceAddresses(e.addresses);
    f.push({
      level: 'ok',
      area: 'egress',
      text: e.addresses.length
        ? `deliveries leave from ${e.addresses.join(', ')}`
        : 'deliveries leave from whatever address the system picks (HERALD_EGRESS_ADDRESSES is not set)',
    });
  } catch (err) {
    f.push({ level: 'FAIL', area: 'egress', text: `${(err as Error).message}. Herald refuses to dispatch until it is fixed.` });
  }
  if (e.proxy) {
    const u = new URL(e.proxy);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : u.protocol === 'socks5:' ? 1080 : 80));
    const why = await reachable(u.hostname, port);
    if (why)
      f.push({
        level: 'FAIL',
        area: 'egress',
        text: `cannot connect to the egress proxy ${u.hostname}:${port} (${why}): every delivery fails until it is reachable. Check HERALD_EGRESS_PROXY.`,
      });
    else f.push({ level: 'ok', area: 'egress', text: `the egress proxy ${u.hostname}:${port} accepts connections` });
    if (e.publishedSourceIps.length === 0) {
      f.push({
        level: 'warn',
        area: 'egress',
        text: "deliveries go through a proxy but HERALD_PUBLISHED_SOURCE_IPS is not set, so tenants cannot learn the proxy's address to allowlist (GET /api/v1/source-ips answers 404)",
      });
    }
  }
}

/** Addresses whose reach through the allowlist an operator should know about. */
const SENSITIVE: { ip: string; family: 'ipv4' | 'ipv6'; what: string; level: Level }[] = [
  {
    ip: '169.254.169.254',
    family: 'ipv4',
    what: "the cloud metadata service (169.254.169.254): a tenant's endpoint could read this machine's cloud credentials",
    level: 'FAIL',
  },
  {
    ip: 'fd00:ec2::254',
    family: 'ipv6',
    what: "the cloud metadata service (fd00:ec2::254): a tenant's endpoint could read this machine's cloud credentials",
    level: 'FAIL',
  },
  { ip: '127.0.0.1', family: 'ipv4', what: "this machine's loopback (127.0.0.0/8): tenants' endpoints can reach services on this host", level: 'warn' },
  { ip: '::1', family: 'ipv6', what: "this machine's loopback (::1): tenants' endpoints can reach services on this host", level: 'warn' },
];

function checkSsrf(config: Config, f: Finding[]): void {
  const list = config.ssrfAllowlist;
  if (list.length === 0) {
    f.push({ level: 'ok', area: 'SSRF guard', text: 'deliveries reach only globally routable addresses (HERALD_SSRF_ALLOWLIST is empty)' });
    return;
  }
  let flagged = false;
  for (const cidr of list) {
    const c = parseCidr(cidr);
    const bl = new BlockList();
    bl.addSubnet(c.address, c.prefix, c.family);
    if (c.prefix === 0) {
      flagged = true;
      f.push({
        level: 'FAIL',
        area: 'SSRF guard',
        text: `HERALD_SSRF_ALLOWLIST contains ${cidr}, which turns the guard off: any tenant endpoint can reach internal services. List only the ranges your receivers are in.`,
      });
      continue;
    }
    for (const s of SENSITIVE) {
      if (s.family === c.family && bl.check(s.ip, s.family)) {
        flagged = true;
        f.push({ level: s.level, area: 'SSRF guard', text: `HERALD_SSRF_ALLOWLIST entry ${cidr} admits ${s.what}. Narrow it to the receivers you mean.` });
      }
    }
  }
  if (!flagged) f.push({ level: 'ok', area: 'SSRF guard', text: `besides public addresses, deliveries may reach ${list.join(', ')}` });
}

function checkFolders(config: Config, f: Finding[]): void {
  const d = config.dataDir;
  if (existsSync(d) && (statSync(d).mode & 0o077) !== 0) f.push({ level: 'warn', area: 'data folder', text: `${d} is open to other users: chmod 700 ${d}` });
  const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '[::]';
  if (wildcard && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(`${config.publicUrl}/`)) {
    f.push({
      level: 'warn',
      area: 'configuration',
      text: `Herald listens on all interfaces but HERALD_PUBLIC_URL is ${config.publicUrl}, so portal links only open on this machine. Set HERALD_PUBLIC_URL to the address users reach Herald at.`,
    });
  }
}

/** Runs every check and prints them; returns the exit code (1 when any check failed). */
export async function doctor(load: () => Config, out: Out): Promise<number> {
  const f: Finding[] = [];
  let config: Config;
  try {
    config = load();
    f.push({ level: 'ok', area: 'configuration', text: 'the environment is valid' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    f.push({ level: 'FAIL', area: 'configuration', text: `${e.message}. Nothing else can be checked until it is fixed.` });
    return report(f, out);
  }
  checkFolders(config, f);
  const probe = await checkStore(config, f);
  try {
    await checkMasterKey(config, probe, f);
  } finally {
    await probe?.close();
  }
  await checkEgress(config, f);
  checkSsrf(config, f);
  return report(f, out);
}

function report(f: Finding[], out: Out): number {
  out(`Herald ${VERSION} doctor`);
  for (const x of f) out(`  ${x.level.padEnd(5)} ${x.area}: ${x.text}`);
  const fails = f.filter((x) => x.level === 'FAIL').length;
  const warns = f.filter((x) => x.level === 'warn').length;
  out(fails ? `${fails} problem(s) to fix${warns ? `, ${warns} warning(s)` : ''}.` : `No problems found${warns ? ` (${warns} warning(s))` : ''}.`);
  return fails ? 1 : 0;
}
