// SIGKILL after a 2xx loses nothing: the real bin as a child process, killed right after it
// answers, restarted on the same inbox; every accepted event is then forwarded.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { generateSecret } from '@herald/receiver';
import { afterAll, describe, expect, it } from 'vitest';
import { envelope, postSigned, startSink, tempDir, uniqueName, waitFor } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = tempDir();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** The parent's environment without any HERALD_RECEIVE_* setting, so each test says all it uses. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_RECEIVE_')));
}

/** Starts `herald-receive --config file` and resolves with its URL from the "listening" log line. */
async function startBin(
  configPath: string | undefined,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const args = configPath === undefined ? [CLI] : [CLI, '--config', configPath];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...cleanEnv(), ...env } });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string };
      if (entry.msg === 'listening') resolve(entry.url!);
    });
    child.once('exit', (code) => reject(new Error(`herald-receive exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, exited };
}

describe('herald-receive as a real process', () => {
  it('forwards every event it answered 2xx for, after a SIGKILL and a restart; a repeated id once', async () => {
    const secret = generateSecret();
    // The HTTP destination before the kill never answers, so its attempts are in flight when the
    // process dies. After the restart the same destination name points at a second sink, so what
    // that one receives was sent by the restarted process alone (the dead one's last writes may
    // still be arriving at the first).
    const stuck = await startSink();
    stuck.answer = () => 'hold';
    const sink = await startSink();
    const redis = new Redis('redis://127.0.0.1:6379');
    const stream = uniqueName('herald-gw-kill');
    try {
      const configPath = join(dir, 'gateway.json');
      const writeConfig = (internalUrl: string) =>
        writeFileSync(
          configPath,
          JSON.stringify({
            host: '127.0.0.1',
            port: 0,
            path: '/hooks',
            secrets: [secret],
            inboxPath: join(dir, 'data', 'inbox.db'),
            retry: { initialDelayMs: 10, maxDelayMs: 50 },
            destinations: {
              internal: { type: 'http', url: internalUrl },
              stream: { type: 'redis', url: 'redis://127.0.0.1:6379', stream },
            },
            routes: [{ events: ['*'], to: ['internal', 'stream'] }],
          }),
        );

      writeConfig(stuck.url);
      const first = await startBin(configPath);
      const ids = Array.from({ length: 30 }, () => uniqueName('msg'));
      const repeated = ids[0];
      const answers = await Promise.all([
        ...ids.map((id) => postSigned(first.url, JSON.stringify(envelope()), secret, { id })),
        postSigned(first.url, JSON.stringify(envelope()), secret, { id: repeated }),
      ]);
      first.child.kill('SIGKILL');
      await first.exited;
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      writeConfig(sink.url);
      const second = await startBin(configPath);
      // Posting the repeated id again after the restart is still a duplicate: the inbox remembers.
      expect((await postSigned(second.url, JSON.stringify(envelope()), secret, { id: repeated })).body).toEqual({
        ok: true,
        duplicate: true,
      });
      const answered = () => sink.received;
      await waitFor('every id at the HTTP destination', () => new Set(answered().map((r) => r.webhookId)).size === ids.length);
      await waitFor('every id in the Redis stream', async () => {
        const entries = await redis.xrange(stream, '-', '+');
        return new Set(entries.map(([, f]) => f[f.indexOf('id') + 1])).size === ids.length;
      });

      // The restarted process sent each event once: nothing was completed before the kill, and the
      // repeated id is one event.
      expect(
        answered()
          .map((r) => r.webhookId)
          .sort(),
      ).toEqual([...ids].sort());
      const inStream = (await redis.xrange(stream, '-', '+')).map(([, f]) => f[f.indexOf('id') + 1]);
      expect([...new Set(inStream)].sort()).toEqual([...ids].sort());

      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await redis.del(stream);
      redis.disconnect();
      await sink.close();
      await stuck.close();
    }
  });

  it('requeue-failed puts failed deliveries back in line, and the gateway then forwards them', async () => {
    const secret = generateSecret();
    const sink = await startSink();
    try {
      const configPath = join(dir, 'requeue.json');
      writeFileSync(
        configPath,
        JSON.stringify({
          host: '127.0.0.1',
          port: 0,
          secrets: [secret],
          inboxPath: join(dir, 'requeue', 'inbox.db'),
          retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2 },
          destinations: { internal: { type: 'http', url: sink.url } },
          routes: [{ events: ['*'], to: ['internal'] }],
        }),
      );
      sink.answer = () => 500;
      const gateway = await startBin(configPath);
      const id = uniqueName('msg');
      expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id })).status).toBe(200);
      await waitFor('both attempts to fail', () => sink.received.length === 2);
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      expect(sink.received.length).toBe(2);

      const requeue = spawn(process.execPath, [CLI, 'requeue-failed', '--destination', 'internal', '--config', configPath], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: cleanEnv(),
      });
      let out = '';
      requeue.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      expect(await new Promise((resolve) => requeue.once('exit', resolve))).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ msg: 'requeued failed deliveries', requeued: 1 });

      sink.answer = () => 200;
      const again = await startBin(configPath);
      await waitFor('the requeued delivery', () => sink.received.length === 3);
      expect(sink.received.map((r) => r.webhookId)).toEqual([id, id, id]);
      again.child.kill('SIGTERM');
      await again.exited;
    } finally {
      await sink.close();
    }
  });

  it('runs from HERALD_RECEIVE_* variables alone, with no file', async () => {
    const secret = generateSecret();
    const sink = await startSink();
    try {
      const gateway = await startBin(undefined, {
        HERALD_RECEIVE_HOST: '127.0.0.1',
        HERALD_RECEIVE_PORT: '0',
        HERALD_RECEIVE_PATH: '/env-hooks',
        HERALD_RECEIVE_SECRETS: `${generateSecret()} ${secret}`,
        HERALD_RECEIVE_INBOX: join(dir, 'env', 'inbox.db'),
        HERALD_RECEIVE_DESTINATIONS: JSON.stringify({ internal: { type: 'http', url: sink.url } }),
        HERALD_RECEIVE_ROUTES: JSON.stringify([{ events: ['point.*'], to: ['internal'] }]),
      });
      expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/env-hooks$/);
      const id = uniqueName('msg');
      // Signed with the second listed secret: the variable's list is read whole.
      expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id })).status).toBe(200);
      await waitFor('the forward', () => sink.received.length === 1);
      expect(sink.received[0].webhookId).toBe(id);
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    } finally {
      await sink.close();
    }
  });

  it('refuses to start on bad variables, without echoing a secret or key back', async () => {
    const badSecret = 'whsec_c2VjcmV0!!notbase64';
    const badKey = 'tooShortEngageKeyValue';
    const child = spawn(process.execPath, [CLI], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...cleanEnv(),
        HERALD_RECEIVE_SECRETS: badSecret,
        HERALD_RECEIVE_ENCRYPTION_KEY: badKey,
        HERALD_RECEIVE_ALLOWLIST: '10.0.0.0/40',
        HERALD_RECEIVE_DESTINATIONS: JSON.stringify({ internal: { type: 'http', url: 'http://127.0.0.1:1/' } }),
        HERALD_RECEIVE_ROUTES: JSON.stringify([{ events: ['*'], to: ['internal'] }]),
      },
    });
    children.push(child);
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(78);
    expect(stdout).toBe(''); // it never started listening
    expect(stderr).toMatch(/secrets\[0\]: must be a whsec_/);
    expect(stderr).toMatch(/encryptionKey: must be the 32-character Engage key/);
    expect(stderr).toMatch(/allowlist: must list IPv4\/IPv6 addresses or CIDR ranges/);
    expect(stderr).not.toContain('c2VjcmV0');
    expect(stderr).not.toContain(badKey);
  });

  it('refuses to start on a bad configuration, naming each setting and what is allowed', async () => {
    const configPath = join(dir, 'bad.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        port: 70000,
        secrets: ['not-a-secret'],
        destinations: { q: { type: 'kafka' } },
        routes: [{ events: ['*'], to: ['nowhere'] }],
      }),
    );
    const child = spawn(process.execPath, [CLI, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toMatch(/port: must be an integer from 0 to 65535/);
    expect(stderr).toMatch(/secrets\[0\]: must be a whsec_/);
    expect(stderr).toMatch(/destinations\.q\.type: must be one of http, redis, rabbitmq, nats/);
    expect(stderr).toMatch(/routes\[0\]\.to: "nowhere" is not a destination/);
  });
});
