// Type-level tests, checked by typecheck.test.ts (tsc), not executed.
import { expectTypeOf } from 'vitest';
import {
  createRouter,
  type ENGAGE_EVENT_TYPES,
  type ContactCreatedPayload,
  type ContactUpdatedPayload,
  type DeliveryContext,
  type EngageEventType,
  type EngagePayloadMap,
  type EngageEvent,
  type PointBalanceUpdatedPayload,
  type RewardVoucherCreatedPayload,
} from '../../src/index.js';

const router = createRouter();

router.on('point.balance.updated', (e) => e.payload.balance);

router.on('point.balance.updated', (e, ctx) => {
  expectTypeOf(e).toEqualTypeOf<EngageEvent<'point.balance.updated'>>();
  expectTypeOf(e.payload).toEqualTypeOf<PointBalanceUpdatedPayload>();
  expectTypeOf(e.payload.balance).toEqualTypeOf<number>();
  expectTypeOf(e.eventType).toEqualTypeOf<'point.balance.updated'>();
  expectTypeOf(ctx).toEqualTypeOf<DeliveryContext>();
});

router.on('reward.voucher.created', (e) => {
  expectTypeOf(e.payload).toEqualTypeOf<RewardVoucherCreatedPayload>();
  // Documented PascalCase survives into the types.
  expectTypeOf(e.payload.UniqueCode).toEqualTypeOf<string>();
  // @ts-expect-error camelCase does not exist on the voucher payload
  e.payload.uniqueCode;
});

router.on('loyalty.addPoints', async (e) => {
  expectTypeOf(e.payload.pointDefinitionId).toEqualTypeOf<number>();
  // @ts-expect-error another event's field is not there
  e.payload.balance;
});

// @ts-expect-error unknown event types are refused at compile time
router.on('point.balance.changed', () => undefined);

router.onUnhandled((e) => {
  expectTypeOf(e.eventType).toEqualTypeOf<string>();
  expectTypeOf(e.payload).toEqualTypeOf<unknown>();
});

// Chaining keeps the router type.
expectTypeOf(router.on('contact.deleted', (e) => e.payload.contactId)).toEqualTypeOf(router);

// A typical handler, and the mistakes it must catch on that event.
router.on('point.balance.updated', (e) => {
  const balance: number = e.payload.balance;
  // @ts-expect-error a misspelt field does not type-check
  e.payload.balanse;
  // @ts-expect-error balance is a number, not a string
  const wrong: string = e.payload.balance;
  return [balance, wrong];
});

// All 11 Engage event types, each with a real payload type (none falls back to unknown or any).
expectTypeOf<(typeof ENGAGE_EVENT_TYPES)['length']>().toEqualTypeOf<11>();
type Untyped = { [T in EngageEventType]: unknown extends EngagePayloadMap[T] ? T : never }[EngageEventType];
expectTypeOf<Untyped>().toEqualTypeOf<never>();

// The contact payloads are exported by name, as the other payloads are.
router.on('contact.created', (e) => expectTypeOf(e.payload).toEqualTypeOf<ContactCreatedPayload>());
router.on('contact.updated', (e) => expectTypeOf(e.payload).toEqualTypeOf<ContactUpdatedPayload>());
