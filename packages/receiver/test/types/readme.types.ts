// The README's examples, type-checked (not run) by typecheck.test.ts, so the docs cannot drift.
import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import {
  createReceiver,
  createRouter,
  createVerifier,
  expressHandler,
  fastifyPlugin,
  generateKeyPair,
  generateSecret,
  handleFetchRequest,
  honoHandler,
  nodeHandler,
  openFileDedupeStore,
  parseSecret,
  publicKeyOf,
  sign,
  signatureHeaders,
  verify,
  verifyWebhook,
} from '../../src/index.js';

declare function syncBalance(contactId: string, balance: number): Promise<void>;
declare function issueVoucher(code: string, amount: number): Promise<void>;

export async function readme(rawBody: Buffer, req: { headers: Record<string, string> }, body: string) {
  const router = createRouter()
    .on('point.balance.updated', (e) => syncBalance(e.payload.contactId, e.payload.balance))
    .on('reward.voucher.created', (e) => issueVoucher(e.payload.UniqueCode, e.payload.Amount));

  const receiver = createReceiver({
    secrets: [process.env.WEBHOOK_SECRET!],
    encryptionKey: process.env.ENGAGE_ENCRYPTION_KEY,
    allowlist: ['52.215.16.239', '54.216.8.72', '63.33.109.123', '2a05:d028:17:8000::/56'],
    router,
    dedupe: await openFileDedupeStore({ path: './data/seen.jsonl' }),
  });

  createServer(nodeHandler(receiver)).listen(3000);

  const app = express();
  app.post('/webhooks/engage', expressHandler(receiver));
  app.post('/webhooks/raw', express.raw({ type: 'application/json', limit: '1mb' }), expressHandler(receiver));
  app.use(express.json());

  const fastify = Fastify();
  await fastify.register(fastifyPlugin, { receiver, path: '/webhooks/engage' });

  const hono = new Hono();
  hono.post('/webhooks/engage', honoHandler(receiver));
  serve({ fetch: hono.fetch, port: 3000 });

  const fetchHandler = (request: Request, remoteAddress: string | undefined): Promise<Response> => handleFetchRequest(receiver, request, remoteAddress);
  void fetchHandler;

  verify(rawBody, req.headers, ['whsec_current', 'whsec_previous']);
  const { id } = verifyWebhook(rawBody, req.headers, 'whpk_x', { toleranceSeconds: 300 });
  createVerifier('whsec_x')(rawBody, req.headers);

  const key = parseSecret(generateSecret());
  const header: string = sign({ id, timestamp: new Date(), body, secrets: [key, key] });
  const headers: Record<string, string> = signatureHeaders({ id, timestamp: 1, body, secrets: key, prefix: 'webhook' });
  const pair = generateKeyPair();
  const pub: string = publicKeyOf(pair.secretKey);
  return { header, headers, pub };
}
