import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureHeaders, WebhookVerificationError, type HeaderPrefix, type SecretInput, type VerificationFailureReason } from '../src/index.js';

let counter = 0;

/** What `fn` (a verification) comes to: 'accepted', or the reason code it was refused with. */
export function reasonOf(fn: () => unknown): VerificationFailureReason | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
}

/** A unique message id per call, so tests never collide in a dedupe store. */
export function msgId(): string {
  counter += 1;
  return `msg_test${process.pid}x${counter}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Headers for a body signed now (or at `timestamp`) with `secrets`. */
export function signedHeaders(
  body: string | Uint8Array,
  secrets: SecretInput | SecretInput[],
  opts: { id?: string; timestamp?: number; prefix?: HeaderPrefix } = {},
): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...signatureHeaders({
      id: opts.id ?? msgId(),
      timestamp: opts.timestamp ?? nowSeconds(),
      body,
      secrets,
      prefix: opts.prefix,
    }),
  };
}

/** Listens on an ephemeral loopback port and returns the base URL. */
export async function listen(server: Server, host = '127.0.0.1'): Promise<string> {
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
