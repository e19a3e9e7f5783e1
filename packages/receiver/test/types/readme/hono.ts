// A README example, type-checked by typecheck.test.ts; readme.test.ts holds it equal to the README.
declare function syncBalance(contactId: string, balance: number): Promise<void>;
// --- README example ---
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createReceiver, createRouter, honoHandler } from '@herald/receiver';

const receiver = createReceiver({
  secrets: [process.env.WEBHOOK_SECRET!], // add the previous secret while rotating
  encryptionKey: process.env.ENGAGE_ENCRYPTION_KEY, // when payload encryption is on
  allowlist: ['52.215.16.239', '54.216.8.72', '63.33.109.123', '2a05:d028:17:8000::/56'], // Svix EU
  router: createRouter().on('point.balance.updated', (e) => syncBalance(e.payload.contactId, e.payload.balance)),
});
serve({ fetch: new Hono().post('/webhooks/engage', honoHandler(receiver)).fetch, port: 3000 });
