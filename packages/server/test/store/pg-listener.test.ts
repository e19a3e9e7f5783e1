// The LISTEN connection notices a connection that died silently: a TCP proxy in front of the
// PostgreSQL server stops forwarding on the listener's connection without closing it (as a
// half-open connection behind a dead NAT or firewall would), so no error or end event ever comes.
// The periodic liveness check gets no answer in time, the listener gives that connection up,
// connects again (through the proxy, which forwards new connections), and hears notifications.
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DUE_CHANNEL, PgListener } from '../../src/store/postgres/pg-listener.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { until } from '../delivery/harness.js';

let db: TestDatabase;
let proxy: Server;
let proxyPort: number;
/** Per proxied connection: its two sockets, and whether forwarding is frozen. */
const links: { client: Socket; server: Socket; frozen: boolean }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = createServer((client) => {
    const server = connect(Number(target.port), target.hostname);
    const link = { client, server, frozen: false };
    links.push(link);
    client.on('data', (d) => !link.frozen && server.write(d));
    server.on('data', (d) => !link.frozen && client.write(d));
    const close = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyPort = (proxy.address() as { port: number }).port;
});
afterAll(async () => {
  for (const l of links) {
    l.client.destroy();
    l.server.destroy();
  }
  await new Promise((r) => proxy.close(r));
  await db?.drop();
});

it('a silently dead listener connection fails its liveness check and is replaced', async () => {
  const u = new URL(db.url);
  u.host = `127.0.0.1:${proxyPort}`;
  let wakes = 0;
  const warnings: string[] = [];
  const listener = new PgListener({
    url: u.toString(),
    onWake: () => wakes++,
    log: { warn: (_o, msg) => warnings.push(msg) },
    checkEveryMs: 200,
  });
  const notifier = new pg.Client({ connectionString: db.url });
  await notifier.connect();
  try {
    listener.start();
    await until('the first connection', () => listener.connected);
    expect(links).toHaveLength(1);
    const before = wakes;
    await notifier.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, '']);
    await until('a notification', () => wakes > before);

    // The connection goes silent: nothing is forwarded either way, nothing is closed.
    links[0]!.frozen = true;
    await until('a second connection', () => listener.connects === 2 && listener.connected);
    expect(links).toHaveLength(2);
    // It closed its own end of the dead connection rather than leaking it.
    await until('the dead connection to be closed', () => links[0]!.client.destroyed);
    expect(warnings[0]).toBe('task wake-up listener connection lost; polling continues while it reconnects');
    expect(warnings.at(-1)).toBe('task wake-up listener connection re-established');

    const after = wakes;
    await notifier.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, '']);
    await until('a notification on the new connection', () => wakes > after);
  } finally {
    await notifier.end();
    await listener.stop();
  }
});
