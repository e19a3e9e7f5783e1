// `herald listen` with real processes: a built `herald serve`, a receiver on loopback, and the
// listen command as a child process. Deliveries arrive signed with the polling endpoint's secret,
// each is printed and reported back (it shows in the message's attempt log), the stream survives
// a server restart without losing or repeating a message, Ctrl-C removes the endpoint, and a
// killed command's endpoint is removed by the server when its lease runs out. On SQLite and on
// PostgreSQL (there the server is a process of its own on a database of its own).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '@herald/receiver';
import { spawnCli, type CliProcess } from './helpers/cli.js';
import { startHerald, type HeraldProcess } from './helpers/herald-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

let herald: HeraldProcess;
/** The store's environment for the server (and its restart): none for SQLite, a database URL for PostgreSQL. */
let storeEnv: Record<string, string> = {};
let pgDb: TestDatabase | undefined;
/** The operator token, kept across the restart (the restarted server is given the same one). */
let token: string;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
const cliDir = mkdtempSync(join(tmpdir(), 'herald-listen-'));

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${herald.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function send(app: string, payload: unknown): Promise<string> {
  const r = await api('POST', `/api/v1/app/${app}/msg`, { eventType: 'order.paid', payload });
  expect(r.status).toBe(202);
  return r.json.id as string;
}

function listen(app: string, extra: string[] = []): CliProcess {
  return spawnCli(['listen', receiverUrl, '--app', app, '--server', herald.url, '--token', token, ...extra], { HERALD_DATA_DIR: cliDir });
}

const destinationOf = (p: CliProcess) => /polling endpoint (dest_\w+)/.exec(p.stdout())?.[1];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body });
      const fail = body.includes('"fail":true');
      // A NUL in the answer is text no store keeps: it is recorded as U+FFFD.
      const answer = fail ? 'handler broke' : body.includes('"nul":true') ? 'a\u0000b' : 'thanks';
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' }).end(answer);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});

afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  rmSync(cliDir, { recursive: true, force: true });
});

describe.each(['sqlite', 'postgres'] as const)('herald listen (%s)', (store) => {
  beforeAll(async () => {
    if (store === 'postgres') {
      pgDb = await createTestDatabase();
      storeEnv = { HERALD_DATABASE_URL: pgDb.url };
    } else storeEnv = {};
    herald = await startHerald({ env: storeEnv });
    token = herald.token;
    received.length = 0;
  });
  afterAll(async () => {
    await herald?.stop();
    await pgDb?.drop();
    pgDb = undefined;
  });

  it('forwards signed deliveries, reports them as attempts, survives a server restart, and removes its endpoint on Ctrl-C', async () => {
    const app = (await api('POST', '/api/v1/app', { name: 'listen' })).json.id as string;
    const p = listen(app);
    await p.waitFor('the forwarding line', () => destinationOf(p) !== undefined);
    const dest = destinationOf(p)!;
    const secret = (await api('GET', `/api/v1/app/${app}/destination/${dest}/secret`)).json.key as string;

    const m1 = await send(app, { n: 1 });
    await p.waitFor('the first delivery line', () => p.stdout().includes(m1));
    expect(p.stdout()).toMatch(new RegExp(`\\d{4}-\\d{2}-\\d{2}T\\S+Z  order\\.paid  ${m1}  200  \\d+ms`));
    const first = received.find((r) => r.headers['svix-id'] === m1)!;
    expect(verifyWebhook(first.body, first.headers as Record<string, string>, secret).payload).toEqual({ n: 1 });
    expect(first.headers['webhook-id']).toBe(m1);

    // The answer is in the message's attempt log, the destination as its endpoint.
    const log = await api('GET', `/api/v1/app/${app}/attempt/msg/${m1}`);
    expect(log.json.data).toHaveLength(1);
    expect(log.json.data[0]).toMatchObject({ endpointId: dest, msgId: m1, responseStatusCode: 200, status: 0, url: receiverUrl, response: 'thanks' });

    // Restart the server (same data, port and token) while listen keeps following it.
    const { port, dataDir } = herald;
    await herald.stop({ keepDataDir: true });
    herald = await startHerald({ env: { ...storeEnv, HERALD_DATA_DIR: dataDir, HERALD_PORT: String(port), HERALD_API_TOKEN: token } });
    const m2 = await send(app, { n: 2, fail: true });
    const m3 = await send(app, { n: 3 });
    await p.waitFor('the deliveries after the restart', () => p.stdout().includes(m3));
    expect(p.stdout()).toMatch(new RegExp(`order\\.paid  ${m2}  500  \\d+ms`));
    // Every message exactly once, in order.
    expect(received.map((r) => r.headers['svix-id'])).toEqual([m1, m2, m3]);
    expect(p.stderr()).toContain('reconnected to Herald');
    const failed = await api('GET', `/api/v1/app/${app}/attempt/msg/${m2}`);
    expect(failed.json.data[0]).toMatchObject({ endpointId: dest, responseStatusCode: 500, status: 2, response: 'handler broke' });
    const byDest = await api('GET', `/api/v1/app/${app}/destination/${dest}/attempt`);
    expect(byDest.json.data.map((a: { msgId: string }) => a.msgId)).toEqual([m3, m2, m1]);

    const m4 = await send(app, { nul: true });
    await p.waitFor('the delivery with a NUL in its answer', () => p.stdout().includes(m4));
    expect((await api('GET', `/api/v1/app/${app}/attempt/msg/${m4}`)).json.data[0]).toMatchObject({ responseStatusCode: 200, response: 'a\uFFFDb' });

    p.kill('SIGINT');
    expect((await p.exited).code).toBe(0);
    expect(p.stderr()).toContain(`removed polling endpoint ${dest}`);
    expect((await api('GET', `/api/v1/app/${app}/destination/${dest}`)).status).toBe(404);
  });

  it('a killed listen leaves nothing behind: the server removes its endpoint when the lease runs out', async () => {
    const app = (await api('POST', '/api/v1/app', { name: 'listen-killed' })).json.id as string;
    expect((await api('POST', '/api/v1/event-type', { name: 'order.paid', description: 'An order was paid' })).status).toBe(201);
    expect((await api('GET', `/api/v1/app/${app}/destination`)).json.data).toEqual([]);
    const p = listen(app, ['--lease', '10', '--events', 'order.paid']);
    await p.waitFor('the forwarding line', () => destinationOf(p) !== undefined);
    const dest = destinationOf(p)!;
    expect((await api('GET', `/api/v1/app/${app}/destination/${dest}`)).json).toMatchObject({ leaseSecs: 10, eventTypes: ['order.paid'] });
    p.kill('SIGKILL');
    await p.exited;
    await expect.poll(async () => (await api('GET', `/api/v1/app/${app}/destination`)).json.data.length, { timeout: 20_000, interval: 500 }).toBe(0);
  });
});
