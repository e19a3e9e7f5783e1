/**
 * The change detector, loyalty: point balances and transactions, reward vouchers and promotion
 * assignments. Pure, like the contact detector: state in, events and state out.
 */
import { EngageInputError } from '../errors.js';
import { checkBalanceInput, checkPromotionInput, checkTransactionInput, checkVoucherInput, definitionIdOf, fail, normaliseDateTime, round4 } from './checks.js';
import type {
  DetectedEvent,
  Detection,
  PointAccountState,
  PointBalanceInput,
  PointTransactionInput,
  PromotionAssignmentInput,
  PromotionAssignmentState,
  RewardVoucherInput,
  RewardVoucherState,
} from './types.js';

/**
 * Sets a point account's balance. `point.balance.updated` fires only when the balance moved
 * (compared at 4 decimals, so float noise is not a move). [design] An account not seen before
 * starts from 0, as Engage's accounts do: its first balance fires unless it is 0. A change of
 * `balanceExpires` alone is stored but fires nothing (the event is about the balance).
 */
export function detectBalanceChange(previous: PointAccountState | undefined, input: PointBalanceInput): Detection<PointAccountState> {
  checkBalanceInput(input);
  const definitionId = definitionIdOf(input.definitionId);
  if (previous !== undefined) {
    const given = { contactId: input.contactId, accountId: input.accountId, definitionId };
    for (const field of ['contactId', 'accountId', 'definitionId'] as const) {
      if (previous[field] !== given[field]) fail(field, `does not match the stored point account (${previous[field]})`);
    }
  }
  const state: PointAccountState = {
    contactId: input.contactId,
    accountId: input.accountId,
    definitionId,
    balance: round4(input.balance),
    balanceExpires: input.balanceExpires === undefined ? (previous?.balanceExpires ?? null) : normaliseDateTime(input.balanceExpires),
  };
  const moved = state.balance !== (previous?.balance ?? 0);
  const changed = previous === undefined || moved || state.balanceExpires !== previous.balanceExpires;
  const events: DetectedEvent[] = moved
    ? [
        {
          eventType: 'point.balance.updated',
          // Voyado's documented field order.
          payload: {
            balance: state.balance,
            contactId: state.contactId,
            accountId: state.accountId,
            definitionId: state.definitionId,
            balanceExpires: state.balanceExpires,
          },
        },
      ]
    : [];
  return { events, state: changed ? state : previous!, changed };
}

/**
 * A point transaction fires `loyalty.addPoints` carrying it, in Voyado's field order.
 * [design] It keeps no state and does not move the stored balance: Voyado sends this event only
 * in point-follower setups, where the point master owns the balance and reports it back
 * (`detectBalanceChange`). A transaction of 0 points changes nothing and fires nothing. Negative
 * amounts are refused ([design]: the event reports points added, as Voyado describes it; a
 * deduction reaches receivers as the new balance, `point.balance.updated`).
 */
export function detectPointTransaction(input: PointTransactionInput): { events: DetectedEvent[] } {
  checkTransactionInput(input);
  const amount = round4(input.amount);
  if (amount === 0) return { events: [] };
  return {
    events: [
      {
        eventType: 'loyalty.addPoints',
        payload: {
          amount,
          contactId: input.contactId,
          pointDefinitionId: input.pointDefinitionId,
          source: input.source,
          description: input.description,
          userId: input.userId,
          userName: input.userName,
          reason: input.reason,
          sourceId: input.sourceId,
        },
      },
    ],
  };
}

/**
 * Creates a reward voucher: `reward.voucher.created` with Voyado's PascalCase payload.
 * `previous` is the stored voucher with the same id. [design] Vouchers are created once (Engage
 * has no voucher-updated event): the same voucher again is a no-op, the same id with other content
 * is a `conflict`.
 */
export function detectVoucherCreated(previous: RewardVoucherState | undefined, input: RewardVoucherInput): Detection<RewardVoucherState> {
  checkVoucherInput(input);
  const state: RewardVoucherState = {
    id: input.id,
    contactId: input.contactId,
    amount: round4(input.amount),
    currency: input.currency,
    uniqueCode: input.uniqueCode,
    validFrom: normaliseDateTime(input.validFrom),
    validTo: normaliseDateTime(input.validTo),
  };
  if (previous !== undefined) {
    if (previous.id !== state.id) fail('id', `does not match the stored voucher ${previous.id}`);
    // Compared in the normalised form, so a voucher stored before dates were normalised still matches.
    const before = { ...previous, validFrom: normaliseDateTime(previous.validFrom), validTo: normaliseDateTime(previous.validTo) };
    const differs = (Object.keys(state) as (keyof RewardVoucherState)[]).find((k) => before[k] !== state[k]);
    if (differs !== undefined) {
      throw new EngageInputError('conflict', differs, `reward voucher ${state.id} already exists with another ${differs}`);
    }
    return { events: [], state: previous, changed: false };
  }
  return {
    events: [
      {
        eventType: 'reward.voucher.created',
        payload: {
          Amount: state.amount,
          ContactId: state.contactId,
          Currency: state.currency,
          Id: state.id,
          UniqueCode: state.uniqueCode,
          ValidFrom: state.validFrom,
          ValidTo: state.validTo,
        },
      },
    ],
    state,
    changed: true,
  };
}

/**
 * Assigns a promotion: `promotion.multichannel.assigned`. `previous` is the contact's stored
 * assignment of the same promotion. [design] A contact holds a promotion once: assigning it again
 * fires nothing and keeps the first instance (its id stays the one to redeem).
 */
export function detectPromotionAssignment(
  previous: PromotionAssignmentState | undefined,
  input: PromotionAssignmentInput,
): Detection<PromotionAssignmentState> {
  checkPromotionInput(input);
  if (previous !== undefined) {
    for (const field of ['contactId', 'promotionId'] as const) {
      if (previous[field] !== input[field]) fail(field, `does not match the stored assignment (${previous[field]})`);
    }
    return { events: [], state: previous, changed: false };
  }
  const state: PromotionAssignmentState = {
    id: input.id,
    contactId: input.contactId,
    promotionId: input.promotionId,
    externalId: input.externalId ?? null,
    validFrom: normaliseDateTime(input.validFrom ?? null),
    validTo: normaliseDateTime(input.validTo ?? null),
  };
  return {
    events: [
      {
        eventType: 'promotion.multichannel.assigned',
        payload: {
          contactId: state.contactId,
          id: state.id,
          promotionId: state.promotionId,
          externalId: state.externalId,
          validFrom: state.validFrom,
          validTo: state.validTo,
        },
      },
    ],
    state,
    changed: true,
  };
}
