// Engage: the catalog install, a tenant's settings (webhooks module, payload key) and the
// producer routes. A producer route validates its body against ENGAGE_INPUT_SCHEMAS (through the
// contract, see extensions.ts), loads the last known state, runs @herald/engage's detector and
// commits the new state and one message per event in ONE store write (store.createMessages: the
// same insert, with its delivery tasks, as POST /msg). The envelope is built, and encrypted when
// the tenant has a key, before that write, so no plaintext payload of an encrypted tenant is stored.
import {
  detectBalanceChange,
  detectContactDelete,
  detectContactUpsert,
  detectPointTransaction,
  detectPromotionAssignment,
  detectVoucherCreated,
  EngageInputError,
  generateEncryptionKey,
  type ContactState,
  type DetectedEvent,
  type PointAccountState,
  type PromotionAssignmentState,
  type RewardVoucherState,
} from '@herald/engage';
import { conflict, HttpError, moduleDisabled, notFound, ValidationError } from '../../domain/errors.js';
import { orderingKeyProblem } from '../../domain/ordering.js';
import type { Message } from '../../domain/types.js';
import { installEngageCatalog } from '../../engage/catalog.js';
import { envelopeBodies, KeyedLock, tenantName } from '../../engage/producer.js';
import { StaleStateError, type EngageSettings, type EngageStateKind } from '../../store/store.js';
import { route, type Ctx, type Result } from '../route.js';
import { enforcerOf, lazyPayload } from '../schema-enforcement.js';
import { filteredEndpoints } from './common.js';
import { newMessage, traceAccepts } from './messages.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What anyone with `view` may see: never the key. */
function settingsOut(s: EngageSettings) {
  return { moduleEnabled: s.moduleEnabled, encryptionEnabled: s.encryptionKey !== null, keySetAt: iso(s.keySetAt) };
}

/** `consents[1].value` → a Svix 422 whose loc names that field. */
function inputError(e: EngageInputError): HttpError | ValidationError {
  if (e.code === 'conflict') return conflict(e.message);
  const loc = e.field.split(/[.[\]]+/).filter((p) => p !== '');
  return new ValidationError([{ loc: ['body', ...loc], msg: e.message, type: 'value_error' }]);
}

interface Detected {
  events: DetectedEvent[];
  /** Whether the stored state must change (false for transactions, which keep none). */
  changed: boolean;
  state?: unknown;
}

interface Emission {
  /** Where the detector's state lives; absent for stateless events (point transactions). */
  state?: { kind: EngageStateKind; key: string };
  /**
   * The contact the event is about, for events Engage fires only for an existing contact
   * (points, vouchers, promotions): one never created, or deleted, is a 404 and nothing is stored.
   */
  contact?: string;
  detect(previous: any): Detected;
}

/** A commit that lost a race on the same state is detected again from the fresh state; this many times. */
const MAX_TRIES = 5;

const emitOut = (msgs: Message[]) => ({
  messageIds: msgs.map((m) => m.id),
  events: msgs.map((m) => ({ msgId: m.id, eventId: m.eventId, eventType: m.eventType })),
});

/** Per-process, per-state serialization (see KeyedLock). Module-level: one API per process. */
const locks = new KeyedLock();

function emit(c: Ctx, e: Emission): Promise<Result> {
  const lock = (kind: string, key: string, work: () => Promise<Result>) => locks.run(JSON.stringify([c.app!.id, kind, key]), work);
  const inner = e.state ? () => lock(e.state!.kind, e.state!.key, () => emitOnce(c, e)) : () => emitOnce(c, e);
  // The contact's lock first (contact routes take only that one, so the order is always the same):
  // a delete of the contact in this process cannot slip between the check and the commit.
  return e.contact === undefined ? inner() : lock('contact', e.contact, inner);
}

/**
 * The ordering key of an emission's events: the contact they are about, so that at an endpoint with
 * `ordering: "key"` one contact's events (created, updated, deleted, points, vouchers, promotions)
 * arrive in order while other contacts' go on in parallel. Null for a contact id that cannot be a
 * key (longer than 256 characters, control characters): its events are then not ordered.
 */
function contactKey(e: Emission): string | null {
  const id = e.contact ?? (e.state?.kind === 'contact' ? e.state.key : undefined);
  return id !== undefined && orderingKeyProblem(id) === null ? id : null;
}

/** Engage's answer for an event about a contact it does not have (ContactNotFound). */
const contactNotFound = (contactId: string) =>
  new HttpError(404, 'contact_not_found', `Contact ${JSON.stringify(contactId)} not found: create it first (POST engage/contact)`);

async function emitOnce(c: Ctx, e: Emission): Promise<Result> {
  const app = c.app!;
  const store = c.deps.store;
  const settings = await store.getEngageSettings(app.id);
  // Checked again inside the commit (a switch-off racing this request also writes nothing).
  if (!settings.moduleEnabled) throw moduleDisabled();
  if (e.contact !== undefined) {
    const contact = await store.getEngageState(app.id, 'contact', e.contact);
    if (contact.state === null || contact.state === undefined) throw contactNotFound(e.contact);
  }
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const rec = e.state ? await store.getEngageState(app.id, e.state.kind, e.state.key) : null;
    let d: Detected;
    try {
      d = e.detect(rec?.state ?? undefined);
    } catch (err) {
      if (err instanceof EngageInputError) throw inputError(err);
      throw err;
    }
    // An update that changes nothing sends nothing and writes nothing.
    if (d.events.length === 0 && !d.changed) return { status: 200, body: emitOut([]) };
    const orderingKey = contactKey(e);
    const msgs = envelopeBodies(d.events, tenantName(app), settings.encryptionKey).map((b) =>
      newMessage(c, app.id, { eventType: b.eventType, rawPayload: b.payload, eventId: b.eventId, orderingKey }),
    );
    // Engage event types may enforce their catalog schema like any other.
    for (const m of msgs) m.schemaViolations = await enforcerOf(store).check(m.eventType, lazyPayload(undefined, m.payload), c.now);
    const status = msgs.length ? 202 : 200;
    const traced = traceAccepts(c, msgs);
    try {
      const { messages } = await store.createMessages(msgs, {
        idem: c.idem(status, emitOut),
        engage: {
          appId: app.id,
          state: e.state && d.changed && rec ? { ...e.state, expectedVersion: rec.version, state: d.state ?? null, now: c.now } : undefined,
        },
      });
      c.deps.metrics.messagesAccepted(messages.length);
      traced?.();
      return { status, body: emitOut(messages) };
    } catch (err) {
      traced?.(err);
      if (err instanceof StaleStateError) continue;
      throw err;
    }
  }
  throw conflict('The state kept changing concurrently; retry the request', 'concurrent_update');
}

export const engageRoutes = [
  route({
    method: 'POST',
    operationId: 'v1.engage.catalog.install',
    access: 'org',
    async handler(c) {
      const r = await installEngageCatalog(c.deps.store, c.now);
      for (const name of [...r.created, ...r.updated]) enforcerOf(c.deps.store).forget(name);
      return {
        status: 200,
        body: { created: r.created.length, updated: r.updated.length, unchanged: r.unchanged.length, eventTypes: r },
      };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.engage.settings.get',
    access: 'view',
    app: 'required',
    async handler(c) {
      return { status: 200, body: settingsOut(await c.deps.store.getEngageSettings(c.app!.id)) };
    },
  }),
  route({
    // [design] The switch is the operator's (Engage: "module enablement"), not the tenant's.
    method: 'PUT',
    operationId: 'v1.engage.module.set',
    access: 'org',
    app: 'required',
    async handler(c) {
      return { status: 200, body: settingsOut(await c.deps.store.setEngageModule(c.app!.id, c.body.enabled === true, c.now)) };
    },
  }),
  route({
    // [design] Like a signing secret: a `secrets` token (or the operator) sets and rotates it. It is
    // shown in this answer only; afterwards the API says whether one is set, never what it is.
    method: 'PUT',
    operationId: 'v1.engage.encryption-key.set',
    access: 'secrets',
    app: 'required',
    async handler(c) {
      // The contract already refused anything but 32 alphanumerics (422 naming body.key).
      const key = (c.body.key as string | null | undefined) ?? generateEncryptionKey();
      // Encrypted payloads cannot be matched by content filters: the tenant removes those first.
      const filtered = await filteredEndpoints(c);
      if (filtered.length > 0) {
        throw conflict(
          `Endpoints with a content filter cannot receive encrypted payloads; remove the filter from ${filtered.join(', ')} first.`,
          'endpoints_filtered',
        );
      }
      const s = await c.deps.store.setEngageKey(c.app!.id, key, c.now);
      return { status: 200, body: { key, keySetAt: iso(s.keySetAt) } };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.engage.encryption-key.delete',
    access: 'secrets',
    app: 'required',
    async handler(c) {
      await c.deps.store.setEngageKey(c.app!.id, null, c.now);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.engage.contact.upsert',
    access: 'org',
    app: 'required',
    handler: (c) =>
      emit(c, {
        state: { kind: 'contact', key: c.body.contactId },
        detect: (prev: ContactState | undefined) => detectContactUpsert(prev, c.body, { now: c.now }),
      }),
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.engage.contact.delete',
    access: 'org',
    app: 'required',
    handler: (c) =>
      emit(c, {
        state: { kind: 'contact', key: c.params.contact_id! },
        detect: (prev: ContactState | undefined) => {
          if (prev === undefined) throw notFound('Contact');
          return detectContactDelete(prev);
        },
      }),
  }),
  route({
    // [design] Stateless: a transaction does not move the stored balance (point-follower setups).
    method: 'POST',
    operationId: 'v1.engage.point-transaction.create',
    access: 'org',
    app: 'required',
    handler: (c) => emit(c, { contact: c.body.contactId, detect: () => ({ ...detectPointTransaction(c.body), changed: false }) }),
  }),
  route({
    method: 'POST',
    operationId: 'v1.engage.point-balance.set',
    access: 'org',
    app: 'required',
    handler: (c) =>
      emit(c, {
        contact: c.body.contactId,
        state: { kind: 'pointAccount', key: String(c.body.accountId) },
        detect: (prev: PointAccountState | undefined) => detectBalanceChange(prev, c.body),
      }),
  }),
  route({
    method: 'POST',
    operationId: 'v1.engage.reward-voucher.create',
    access: 'org',
    app: 'required',
    handler: (c) =>
      emit(c, {
        contact: c.body.contactId,
        state: { kind: 'voucher', key: c.body.id },
        detect: (prev: RewardVoucherState | undefined) => detectVoucherCreated(prev, c.body),
      }),
  }),
  route({
    method: 'POST',
    operationId: 'v1.engage.promotion-assignment.create',
    access: 'org',
    app: 'required',
    handler: (c) =>
      emit(c, {
        contact: c.body.contactId,
        // A contact holds a promotion once: keyed by the pair, unambiguously (ids may hold any character).
        state: { kind: 'promotion', key: JSON.stringify([c.body.contactId, c.body.promotionId]) },
        detect: (prev: PromotionAssignmentState | undefined) => detectPromotionAssignment(prev, c.body),
      }),
  }),
];
