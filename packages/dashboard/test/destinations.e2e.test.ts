// A tenant adds broker destinations in Chromium: the form's errors are the server's, naming the
// setting; a RabbitMQ destination added there gets the next message on the real local broker,
// signed with the secret the page shows; credentials never appear on the page; a destination is
// deleted there. Needs `npm run build` first, like dashboard.e2e.test.ts.
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, Herald, launchChromium, open, overflowX, PHONE, shot } from './harness.js';

let herald: Herald;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let amqp: ChannelModel;

beforeAll(async () => {
  herald = await Herald.start({ HERALD_RETRY_SCHEDULE: '1h' });
  await herald.ok('POST', '/api/v1/engage/catalog/install');
  browser = await launchChromium();
  amqp = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
}, 60_000);

afterAll(async () => {
  await amqp?.close();
  await browser?.close();
  await herald?.stop();
});

describe('broker destinations in the dashboard', () => {
  it('adds a RabbitMQ and a Redis Streams destination, shows them without credentials, delivers to RabbitMQ, and deletes', async () => {
    const app = await herald.tenant('brokers');
    const queue = `herald-dash-${Date.now()}`;
    const ch = await amqp.createChannel();
    await ch.assertQueue(queue, { durable: false });
    try {
      const page = await open(browser.ctx, (await herald.portal(app)).url);
      await page.getByRole('link', { name: 'Brokers' }).click();
      await page.getByRole('heading', { name: 'Broker destinations', level: 1 }).waitFor();
      await page.getByText('No broker destinations yet.').waitFor();

      // The server's check, shown as it names the setting.
      await page.getByLabel('Broker', { exact: true }).selectOption({ label: 'RabbitMQ' });
      await page.getByLabel('Connection URI').fill('http://rabbit.example.com');
      await page.getByLabel('Routing key (queue name)').fill(queue);
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('alert').filter({ hasText: 'the scheme must be amqp:// or amqps://' }).waitFor();

      await page.getByLabel('Connection URI').fill('amqp://guest:guest@127.0.0.1:5672');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Broker destination added.').waitFor();
      const rabbitRow = page.locator('tr', { hasText: `amqp://127.0.0.1:5672 → ${queue}` });
      await rabbitRow.waitFor();

      await page.getByLabel('Broker', { exact: true }).selectOption({ label: 'Redis Streams' });
      await page.getByLabel('Connection URI').fill('redis://:hunter2-redis@127.0.0.1:6379');
      await page.getByLabel('Stream').fill(`herald-dash-${Date.now()}`);
      await page.getByLabel('Keep about this many entries').fill('1000');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.locator('tr', { hasText: 'redis://127.0.0.1:6379 →' }).waitFor();
      expect(await page.content()).not.toMatch(/guest:guest|hunter2/);
      await shot(page, 'broker-destinations');
      expect(await axeViolations(page, 'destinations, desktop')).toEqual([]);

      // The destination added here gets the next message, signed with the secret the page shows.
      const msg = await herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'c-1' } });
      let got: Awaited<ReturnType<typeof ch.get>> = false;
      await expect.poll(async () => (got = await ch.get(queue, { noAck: true })) !== false, { timeout: 15_000 }).toBe(true);
      const delivered = got as unknown as { content: Buffer; properties: { headers: Record<string, string> } };
      await rabbitRow.getByRole('button', { name: 'Show signing secret' }).click();
      const secret = (await rabbitRow.getByTestId('destination-secret').textContent())!;
      expect(delivered.properties.headers['webhook-id']).toBe(msg.id);
      expect(new Webhook(secret).verify(delivered.content.toString(), delivered.properties.headers)).toEqual({ contactId: 'c-1' });

      page.once('dialog', (d) => void d.accept());
      await rabbitRow.getByRole('button', { name: /^Delete RabbitMQ/ }).click();
      await rabbitRow.waitFor({ state: 'detached' });
      const left = await herald.ok('GET', `/api/v1/app/${app}/destination?include_herald_types=true`);
      expect(left.data.map((d: { type: string }) => d.type)).toEqual(['redisStream']);
      await page.close();

      const phone = await open(browser.ctx, (await herald.portal(app)).url, PHONE);
      await phone.goto(`${herald.url}/portal/#/destinations`);
      await phone.locator('tr', { hasText: 'redis://127.0.0.1:6379 →' }).waitFor();
      expect(await overflowX(phone)).toBeLessThanOrEqual(0);
      expect(await axeViolations(phone, 'destinations, phone')).toEqual([]);
      await phone.close();
    } finally {
      await ch.deleteQueue(queue);
      await ch.close();
    }
  }, 90_000);
});
