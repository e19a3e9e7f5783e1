/**
 * The change detector: pure functions that take the last known state and a new input and return
 * exactly the events Engage would emit, plus the state to persist. No I/O, no clock (pass `now`),
 * no ids minted here (the caller supplies them), so the same inputs always give the same output.
 *
 * What Voyado documents (reference/engage.md §1.1, §4.1) and these functions enforce:
 * - a new contact fires `contact.created` and never a `*.changed`;
 * - `contact.accepts{Email,Sms,Postal}.changed` fire only for an existing contact whose value changed;
 * - `contact.consent.changed` fires per consent-typed field that changed;
 * - once set, a consent is only ever Yes or No: it never reverts to "not set";
 * - `point.balance.updated` fires when the balance changed; `loyalty.addPoints` carries the transaction.
 * Everything marked [design] below is Herald's own decision where Voyado is silent.
 */
export { detectContactDelete, detectContactUpsert } from './detect/contact.js';
export {
  COMPUTED_ATTRIBUTES,
  CONTACT_PREFERENCES,
  DEFAULT_CONTACT_TYPE,
  ENGAGE_STANDARD_ATTRIBUTES,
  RESERVED_ATTRIBUTES,
} from './detect/fields.js';
export { detectBalanceChange, detectPointTransaction, detectPromotionAssignment, detectVoucherCreated } from './detect/loyalty.js';
export type {
  AttributeValue,
  ConsentInput,
  ConsentState,
  ContactInput,
  ContactPreference,
  ContactState,
  DetectedEvent,
  Detection,
  PointAccountState,
  PointBalanceInput,
  PointTransactionInput,
  PromotionAssignmentInput,
  PromotionAssignmentState,
  RewardVoucherInput,
  RewardVoucherState,
} from './detect/types.js';
