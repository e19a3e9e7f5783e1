// The README's examples, type-checked (not run) by ../typecheck.test.ts, so the docs cannot drift.
import { buildEnvelope, detectContactUpsert, ENGAGE_CATALOG, type ContactInput, type ContactState, type EngageEventTypeIn } from '../../src/index.js';

declare function loadContact(tenant: string, contactId: string): Promise<ContactState | undefined>;
declare const svix: { eventType: { create(body: EngageEventTypeIn): Promise<unknown> } };

export async function producing(tenant: string, input: ContactInput, tenantKey: string | null) {
  const previous: ContactState | undefined = await loadContact(tenant, input.contactId);
  const { events, state, changed } = detectContactUpsert(previous, input, { now: Date.now() });
  const bodies = events.map((event) => buildEnvelope(event, { tenant, key: tenantKey /* or null */ }));
  return { bodies, state, changed };
}

export async function installing() {
  for (const eventType of ENGAGE_CATALOG) await svix.eventType.create(eventType); // or PUT by name, idempotent
}

export function envelopes(eventId: string) {
  const [event] = detectContactUpsert(undefined, { contactId: 'c-1' }, { now: 0 }).events;
  const body = buildEnvelope(event, { tenant: 'acme', eventId, key: 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2' });
  return body;
}
