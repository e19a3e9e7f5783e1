// engage/producer: what the server adds around @herald/engage's pure detector: the tenant's name in
// envelopes, envelope bodies (encrypted here, before anything is stored, when the tenant has a
// key) and the encrypted form of catalog examples for send-example.
import { buildEnvelope, isEngageEventType, type DetectedEvent, type EngageEventType } from '@herald/engage';
import type { Application } from '../domain/types.js';
import type { Store } from '../store/store.js';

/**
 * The envelope's `tenant`. [design] Engage puts its tenant name there; in Herald the tenant is the
 * application, named by its uid (the id when it has none).
 */
export function tenantName(app: Application): string {
  return app.uid ?? app.id;
}

/** One message to store: the serialized envelope and its Engage event id. */
export interface EngageBody {
  eventType: EngageEventType;
  /** The envelope's `eventId` (a GUID), also the message's eventId, so GET /msg/{eventId} finds it. */
  eventId: string;
  /** The envelope's JSON text, payload already encrypted when the tenant has a key. */
  payload: string;
}

/** Envelope bodies for detected events, in the detector's order. With a key, no plaintext leaves this function. */
export function envelopeBodies(events: readonly DetectedEvent[], tenant: string, key: string | null): EngageBody[] {
  return events.map((event) => {
    const envelope = buildEnvelope(event, { tenant, key });
    return { eventType: event.eventType, eventId: envelope.eventId, payload: JSON.stringify(envelope) };
  });
}

/**
 * send-example for an Engage event type: the catalog example (a plaintext envelope) re-addressed
 * to this tenant with a fresh event id (also the message's eventId), and encrypted when the tenant has a key. Null when the
 * stored example is not an Engage envelope (an operator replaced it), which is then sent as is.
 */
export async function engageExampleFor(
  store: Store,
  app: Application,
  eventType: string,
  example: Record<string, unknown>,
): Promise<{ eventType: string; payload: unknown; eventId: string } | null> {
  if (!isEngageEventType(eventType)) return null;
  const payload = example.payload;
  if (example.eventType !== eventType || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const { encryptionKey } = await store.getEngageSettings(app.id);
  // The example's payload was validated against this event type's schema by the catalog's tests.
  const [body] = envelopeBodies([{ eventType, payload } as DetectedEvent], tenantName(app), encryptionKey);
  // The message carries the envelope's event id, as a produced event's does, so GET /msg/{eventId}
  // finds a test send by the id its receiver saw.
  return { eventType, payload: JSON.parse(body!.payload) as unknown, eventId: body!.eventId };
}

/**
 * Runs work for one key at a time in this process. [design] Producer routes serialize per state
 * (contact, account, ...) here, so concurrent requests for one contact queue instead of racing to
 * a compare-and-set they mostly lose; the store's version check still settles races between
 * processes (the loser detects again from the fresh state).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
