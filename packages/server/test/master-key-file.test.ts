// HERALD_MASTER_KEY_FILE: the master key read from a file (a compose or Kubernetes secret), as an
// alternative to HERALD_MASTER_KEY; setting both, or a file that is missing, empty or not a key,
// stops start-up with a message that says which and never echoes the file's content.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { Sealer } from '../src/security/sealer.js';
import { startInProcess } from './helpers/inproc.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string): string {
  const f = join(dir, name);
  writeFileSync(f, content, { mode: 0o600 });
  return f;
}

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ HERALD_DATA_DIR: join(dir, 'data'), ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('loadConfig accepted it');
}

describe('HERALD_MASTER_KEY_FILE', () => {
  const key = randomBytes(32);

  it('reads a hex or base64 key from the file (surrounding whitespace and a trailing newline allowed)', () => {
    const hex = loadConfig({ HERALD_DATA_DIR: dir, HERALD_MASTER_KEY_FILE: keyFile('hex', `${key.toString('hex')}\n`) });
    expect(hex.masterKey?.equals(key)).toBe(true);
    expect(hex.masterKeyFile).toBe(join(dir, 'hex'));
    const b64 = loadConfig({ HERALD_DATA_DIR: dir, HERALD_MASTER_KEY_FILE: keyFile('b64', `  ${key.toString('base64')}  \n`) });
    expect(b64.masterKey?.equals(key)).toBe(true);
  });

  it('refuses to be set together with HERALD_MASTER_KEY', () => {
    const e = refusal({ HERALD_MASTER_KEY: key.toString('hex'), HERALD_MASTER_KEY_FILE: keyFile('both', key.toString('hex')) });
    expect(e.variable).toBe('HERALD_MASTER_KEY_FILE');
    expect(e.message).toMatch(/only one/);
  });

  it('names the file and the reason when it is missing, empty or not a key, and never prints its content', () => {
    const missing = refusal({ HERALD_MASTER_KEY_FILE: join(dir, 'nope') });
    expect(missing.message).toContain(join(dir, 'nope'));
    expect(missing.message).toContain('ENOENT');
    expect(refusal({ HERALD_MASTER_KEY_FILE: keyFile('empty', '\n') }).message).toMatch(/is empty/);
    const secretish = 'not-a-key-but-private-0123456789';
    const bad = refusal({ HERALD_MASTER_KEY_FILE: keyFile('bad', secretish) });
    expect(bad.variable).toBe('HERALD_MASTER_KEY_FILE');
    expect(bad.message).toMatch(/32 bytes/);
    expect(bad.message).not.toContain(secretish);
  });

  it('Herald seals under the key from the file and makes no key file of its own', async () => {
    const h = await startInProcess({ env: { HERALD_MASTER_KEY_FILE: keyFile('serve', key.toString('hex')) } });
    try {
      const app = await h.inject('POST', '/api/v1/app', { body: { name: 'k' } });
      const ep = await h.inject('POST', `/api/v1/app/${app.json.id}/endpoint`, { body: { url: 'https://example.com/hook' } });
      expect(ep.status).toBe(201);
      const row = h.store.db.prepare('SELECT secret_sealed FROM endpoint WHERE id = ?').get(ep.json.id) as { secret_sealed: string };
      expect(row.secret_sealed.startsWith(`sealed:v1:${Sealer.idOf(key)}:`)).toBe(true);
      expect(existsSync(join(h.dataDir, 'master.key'))).toBe(false);
    } finally {
      await h.close();
    }
  });
});
