/**
 * The Engage webhook catalog: the 11 event type ids Voyado documents
 * (developer.voyado.com/docs/webhooks/webhooks). Order follows that page.
 */
export const ENGAGE_EVENT_TYPES = [
  'contact.acceptsEmail.changed',
  'contact.acceptsSms.changed',
  'contact.acceptsPostal.changed',
  'contact.consent.changed',
  'loyalty.addPoints',
  'point.balance.updated',
  'reward.voucher.created',
  'promotion.multichannel.assigned',
  'contact.created',
  'contact.updated',
  'contact.deleted',
] as const;

export type EngageEventType = (typeof ENGAGE_EVENT_TYPES)[number];

const known: ReadonlySet<string> = new Set(ENGAGE_EVENT_TYPES);

export function isEngageEventType(value: unknown): value is EngageEventType {
  return typeof value === 'string' && known.has(value);
}
