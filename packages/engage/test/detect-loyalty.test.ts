import { describe, expect, it } from 'vitest';
import {
  detectBalanceChange,
  detectPointTransaction,
  detectPromotionAssignment,
  detectVoucherCreated,
  EngageInputError,
  type DetectedEvent,
  type PointAccountState,
  type PointBalanceInput,
  type PointTransactionInput,
  type PromotionAssignmentInput,
  type RewardVoucherInput,
} from '../src/index.js';
import { payloadErrors } from './schemas.js';

const ID = 'cbe3f42c-c1d0-4721-b8ce-ab35001ce051';

function checked<T extends { events: DetectedEvent[] }>(result: T): T {
  for (const e of result.events) expect(payloadErrors(e.eventType, e.payload), e.eventType).toBe('');
  return result;
}

function inputError(fn: () => unknown): { code: string; field: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngageInputError) return { code: err.code, field: err.field };
    throw err;
  }
  return undefined;
}

describe('point.balance.updated', () => {
  const input: PointBalanceInput = {
    contactId: ID,
    accountId: 999,
    definitionId: 1,
    balance: 2500.75,
    balanceExpires: '2024-12-31T23:59:59.999+01:00',
  };
  const stored = (): PointAccountState => detectBalanceChange(undefined, input).state;

  it('fires for a first balance, with Voyado’s fields in Voyado’s order', () => {
    const { events, state, changed } = checked(detectBalanceChange(undefined, input));
    expect(events).toEqual([
      {
        eventType: 'point.balance.updated',
        payload: { balance: 2500.75, contactId: ID, accountId: 999, definitionId: 1, balanceExpires: '2024-12-31T23:59:59.999+01:00' },
      },
    ]);
    expect(Object.keys(events[0].payload)).toEqual(['balance', 'contactId', 'accountId', 'definitionId', 'balanceExpires']);
    expect(state).toEqual(input);
    expect(changed).toBe(true);
  });

  it('a new account at 0 has not moved: stored, nothing sent', () => {
    const { events, state, changed } = detectBalanceChange(undefined, { ...input, balance: 0, balanceExpires: undefined });
    expect(events).toEqual([]);
    expect(changed).toBe(true);
    expect(state).toEqual({ ...input, balance: 0, balanceExpires: null });
  });

  it('the same balance again sends nothing and needs no write', () => {
    const previous = stored();
    const result = detectBalanceChange(previous, input);
    expect(result).toEqual({ events: [], state: previous, changed: false });
    expect(result.state).toBe(previous);
  });

  it('float noise is not a move; 4 decimals are', () => {
    const previous = detectBalanceChange(undefined, { ...input, balance: 0.3 }).state;
    expect(detectBalanceChange(previous, { ...input, balance: 0.1 + 0.2 }).events).toEqual([]);
    expect(detectBalanceChange(previous, { ...input, balance: 0.3001 }).events).toHaveLength(1);
    expect(detectBalanceChange(undefined, { ...input, balance: 2500.12346 }).state.balance).toBe(2500.1235);
    expect(detectBalanceChange(undefined, { ...input, balance: 2500.123449 }).state.balance).toBe(2500.1234);
  });

  it('a moved balance fires with the new balance, down as well as up', () => {
    const previous = stored();
    const down = checked(detectBalanceChange(previous, { ...input, balance: 2400 }));
    expect(down.events[0].payload).toMatchObject({ balance: 2400 });
    const negative = checked(detectBalanceChange(down.state, { ...input, balance: -50 }));
    expect(negative.events[0].payload).toMatchObject({ balance: -50 });
  });

  it('an expiry change alone is stored but fires nothing; leaving it out keeps it', () => {
    const previous = stored();
    const moved = detectBalanceChange(previous, { ...input, balanceExpires: '2025-06-30T23:59:59+02:00' });
    expect(moved.events).toEqual([]);
    expect(moved.changed).toBe(true);
    expect(moved.state.balanceExpires).toBe('2025-06-30T23:59:59+02:00');
    const kept = detectBalanceChange(moved.state, { ...input, balance: 10, balanceExpires: undefined });
    expect(kept.events[0].payload).toMatchObject({ balance: 10, balanceExpires: '2025-06-30T23:59:59+02:00' });
    const cleared = detectBalanceChange(kept.state, { ...input, balance: 10, balanceExpires: null });
    expect(cleared).toMatchObject({ events: [], changed: true, state: { balanceExpires: null } });
  });

  it.each<[string, Partial<Record<keyof PointBalanceInput, unknown>>, string]>([
    ['another account', { accountId: 1000 }, 'accountId'],
    ['another contact', { contactId: 'x' }, 'contactId'],
    ['another definition', { definitionId: 2 }, 'definitionId'],
  ])('refuses %s than the stored one', (_label, change, field) => {
    expect(inputError(() => detectBalanceChange(stored(), { ...input, ...change } as PointBalanceInput))).toEqual({
      code: 'invalid_input',
      field,
    });
  });

  it('takes definitionId as a number or, as Voyado types it, a string of digits; the event carries the number', () => {
    const fromString = checked(detectBalanceChange(undefined, { ...input, definitionId: '7' }));
    expect(fromString.events[0].payload).toMatchObject({ definitionId: 7 });
    expect(fromString.state.definitionId).toBe(7);
    // The same account given with the number is the same account: no mismatch, no event.
    expect(detectBalanceChange(fromString.state, { ...input, definitionId: 7 }).events).toEqual([]);
  });

  it('normalises date-times to the form Engage sends: T between date and time, upper-case Z', () => {
    const { events, state } = checked(detectBalanceChange(undefined, { ...input, balanceExpires: '2024-01-01 00:00:00z' }));
    expect(events[0].payload).toMatchObject({ balanceExpires: '2024-01-01T00:00:00Z' });
    expect(state.balanceExpires).toBe('2024-01-01T00:00:00Z');
    const offset = checked(detectBalanceChange(undefined, { ...input, balanceExpires: '2024-12-31t23:59:59.999+01:00' }));
    expect(offset.events[0].payload).toMatchObject({ balanceExpires: '2024-12-31T23:59:59.999+01:00' });
  });

  it.each<[string, unknown, string]>([
    ['a fractional accountId', 1.5, 'accountId'],
    ['a definitionId that is not digits', 'one', 'definitionId'],
    ['a fractional definitionId string', '1.5', 'definitionId'],
    ['a NaN balance', Number.NaN, 'balance'],
    ['an infinite balance', Number.POSITIVE_INFINITY, 'balance'],
    ['a date without offset', '2024-12-31T23:59:59', 'balanceExpires'],
  ])('refuses %s', (_label, value, field) => {
    expect(inputError(() => detectBalanceChange(undefined, { ...input, [field]: value }))).toEqual({ code: 'invalid_input', field });
  });
});

describe('loyalty.addPoints', () => {
  const tx: PointTransactionInput = {
    amount: 100,
    contactId: ID,
    pointDefinitionId: 1,
    source: 'Manual',
    description: 'Goodwill',
    userId: 'u-17',
    userName: 'Anna Andersson',
    reason: 'Late delivery',
    sourceId: 'case-4711',
  };

  it('carries the transaction, with Voyado’s fields in Voyado’s order', () => {
    const { events } = checked(detectPointTransaction(tx));
    expect(events).toEqual([{ eventType: 'loyalty.addPoints', payload: tx }]);
    expect(Object.keys(events[0].payload)).toEqual([
      'amount',
      'contactId',
      'pointDefinitionId',
      'source',
      'description',
      'userId',
      'userName',
      'reason',
      'sourceId',
    ]);
  });

  it('the payload serializes to the plaintext of the shared encryption vector', async () => {
    const { readFileSync } = await import('node:fs');
    const vector = JSON.parse(readFileSync(new URL('./vectors/engage-encryption.json', import.meta.url), 'utf8')).engageEncryption[0];
    // Built from the input in another key order, to prove the payload order is the detector's.
    const shuffled = Object.fromEntries(Object.entries(tx).reverse()) as PointTransactionInput;
    expect(JSON.stringify(detectPointTransaction(shuffled).events[0].payload)).toBe(vector.plaintext);
  });

  it('copies no extra input fields into the payload', () => {
    const { events } = checked(detectPointTransaction({ ...tx, secret: 'x' } as PointTransactionInput));
    expect(events[0].payload).not.toHaveProperty('secret');
  });

  it('0 points change nothing and send nothing; negative amounts are refused (the event reports points added)', () => {
    expect(detectPointTransaction({ ...tx, amount: 0 }).events).toEqual([]);
    expect(detectPointTransaction({ ...tx, amount: 0.00001 }).events).toEqual([]);
    expect(inputError(() => detectPointTransaction({ ...tx, amount: -25.5 }))).toEqual({ code: 'invalid_input', field: 'amount' });
  });

  it('allows the empty user of an automation', () => {
    expect(checked(detectPointTransaction({ ...tx, source: 'Automation', userId: '', userName: '' })).events).toHaveLength(1);
  });

  it.each<[string, unknown]>([
    ['amount', '100'],
    ['pointDefinitionId', 1.5],
    ['contactId', ''],
    ['reason', undefined],
    ['userName', null],
  ])('refuses a bad %s', (field, value) => {
    expect(inputError(() => detectPointTransaction({ ...tx, [field]: value }))).toEqual({ code: 'invalid_input', field });
  });
});

describe('reward.voucher.created', () => {
  const voucher: RewardVoucherInput = {
    id: 'af61c5c8-7ff8-4a34-9b67-c75300738cd3',
    contactId: ID,
    amount: 195,
    currency: 'SEK',
    uniqueCode: '2511233093766',
    validFrom: '2024-04-12T07:00:00+02:00',
    validTo: '2024-10-12T23:59:59+02:00',
  };

  it('delivers validFrom/validTo in the form Engage sends, whatever separator and case they came in', () => {
    const { events } = checked(detectVoucherCreated(undefined, { ...voucher, validFrom: '2024-01-01 00:00:00z', validTo: '2024-02-01t00:00:00+01:00' }));
    expect(events[0].payload).toMatchObject({ ValidFrom: '2024-01-01T00:00:00Z', ValidTo: '2024-02-01T00:00:00+01:00' });
  });

  it('fires with the PascalCase payload, in Voyado’s order', () => {
    const { events, state, changed } = checked(detectVoucherCreated(undefined, voucher));
    expect(events).toEqual([
      {
        eventType: 'reward.voucher.created',
        payload: {
          Amount: 195,
          ContactId: ID,
          Currency: 'SEK',
          Id: 'af61c5c8-7ff8-4a34-9b67-c75300738cd3',
          UniqueCode: '2511233093766',
          ValidFrom: '2024-04-12T07:00:00+02:00',
          ValidTo: '2024-10-12T23:59:59+02:00',
        },
      },
    ]);
    expect(Object.keys(events[0].payload)).toEqual(['Amount', 'ContactId', 'Currency', 'Id', 'UniqueCode', 'ValidFrom', 'ValidTo']);
    expect(state).toEqual(voucher);
    expect(changed).toBe(true);
  });

  it('the same voucher again sends nothing', () => {
    const previous = detectVoucherCreated(undefined, voucher).state;
    const again = detectVoucherCreated(previous, { ...voucher });
    expect(again).toEqual({ events: [], state: previous, changed: false });
  });

  it('the same id with other content is a conflict naming the field', () => {
    const previous = detectVoucherCreated(undefined, voucher).state;
    expect(inputError(() => detectVoucherCreated(previous, { ...voucher, amount: 200 }))).toEqual({ code: 'conflict', field: 'amount' });
  });

  it.each<[string, Partial<RewardVoucherInput>, string]>([
    ['a lowercase currency', { currency: 'sek' }, 'currency'],
    ['a currency name', { currency: 'kronor' }, 'currency'],
    ['no unique code', { uniqueCode: '' }, 'uniqueCode'],
    ['a date that is not a date-time', { validFrom: '2024-04-12' }, 'validFrom'],
    ['an end before the start', { validTo: '2024-04-01T00:00:00Z' }, 'validTo'],
    ['a string amount', { amount: '195' as unknown as number }, 'amount'],
  ])('refuses %s', (_label, change, field) => {
    expect(inputError(() => detectVoucherCreated(undefined, { ...voucher, ...change }))).toEqual({ code: 'invalid_input', field });
  });
});

describe('promotion.multichannel.assigned', () => {
  const assignment: PromotionAssignmentInput = {
    id: 'bb247ef7-3c1e-4d7a-9f21-b14d00a1c0de',
    contactId: ID,
    promotionId: '1a50b7aa-8e2f-4b6c-a0d3-b14c00f2e8a1',
    externalId: 'SO-14034',
    validFrom: '2024-06-01T00:00:00+02:00',
    validTo: '2024-06-30T23:59:59+02:00',
  };

  it('fires with the assignment', () => {
    const { events, state, changed } = checked(detectPromotionAssignment(undefined, assignment));
    expect(events).toEqual([{ eventType: 'promotion.multichannel.assigned', payload: assignment }]);
    expect(Object.keys(events[0].payload)).toEqual(['contactId', 'id', 'promotionId', 'externalId', 'validFrom', 'validTo']);
    expect(state).toEqual(assignment);
    expect(changed).toBe(true);
  });

  it('fills what is left out with null', () => {
    const { events } = checked(detectPromotionAssignment(undefined, { id: assignment.id, contactId: ID, promotionId: assignment.promotionId }));
    expect(events[0].payload).toEqual({
      contactId: ID,
      id: assignment.id,
      promotionId: assignment.promotionId,
      externalId: null,
      validFrom: null,
      validTo: null,
    });
  });

  it('assigning a promotion the contact already holds sends nothing and keeps the first instance', () => {
    const previous = detectPromotionAssignment(undefined, assignment).state;
    const again = detectPromotionAssignment(previous, { ...assignment, id: 'another-instance-id' });
    expect(again).toEqual({ events: [], state: previous, changed: false });
  });

  it('refuses a stored assignment of another promotion or contact', () => {
    const previous = detectPromotionAssignment(undefined, assignment).state;
    expect(inputError(() => detectPromotionAssignment(previous, { ...assignment, promotionId: 'p2' }))?.field).toBe('promotionId');
    expect(inputError(() => detectPromotionAssignment(previous, { ...assignment, contactId: 'c2' }))?.field).toBe('contactId');
  });

  it.each<[string, Partial<PromotionAssignmentInput>, string]>([
    ['no instance id', { id: '' }, 'id'],
    ['no promotion id', { promotionId: undefined as unknown as string }, 'promotionId'],
    ['a numeric external id', { externalId: 14034 as unknown as string }, 'externalId'],
    ['an end before the start', { validTo: '2024-05-01T00:00:00Z' }, 'validTo'],
    ['a bad start', { validFrom: 'tomorrow' }, 'validFrom'],
  ])('refuses %s', (_label, change, field) => {
    expect(inputError(() => detectPromotionAssignment(undefined, { ...assignment, ...change }))).toEqual({ code: 'invalid_input', field });
  });
});
