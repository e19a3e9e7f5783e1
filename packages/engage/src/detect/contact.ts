/**
 * The change detector, contacts: pure functions that take the last known state and a new input and return
 * exactly the events Engage would emit, plus the state to persist. No I/O, no clock (pass `now`),
 * no ids minted here (the caller supplies them), so the same inputs always give the same output.
 *
 */
import type { EngageEventType } from '../events.js';
import { byCodeUnit, checkContactInput, fail, isoTime, normaliseDateTime, own } from './checks.js';
import { CONTACT_PREFERENCES, DEFAULT_CONTACT_TYPE, IMMUTABLE_ATTRIBUTES } from './fields.js';
import type { ContactInput, ContactPreference, ContactState, DetectedEvent, Detection } from './types.js';

/**
 * Upserts a contact. New (`previous` undefined): `contact.created` only. Existing: nothing when
 * nothing changed; otherwise `contact.updated`, then one `contact.<preference>.changed` per
 * preference that changed (email, SMS, postal), then one `contact.consent.changed` per consent
 * that changed (by consent id). `options.now` (epoch ms) dates consents given without a date.
 */
export function detectContactUpsert(previous: ContactState | undefined, input: ContactInput, options: { now: number }): Detection<ContactState> {
  checkContactInput(input);
  const now = isoTime(options.now);
  if (previous !== undefined && previous.contactId !== input.contactId) {
    fail('contactId', `does not match the stored contact ${previous.contactId}`);
  }
  const base: ContactState = previous ?? {
    contactId: input.contactId,
    contactType: DEFAULT_CONTACT_TYPE,
    attributes: {},
    preferences: { acceptsEmail: false, acceptsSms: false, acceptsPostal: false },
    consents: {},
  };

  const attributes: ContactState['attributes'] = { ...base.attributes };
  for (const [name, value] of Object.entries(input.attributes ?? {})) {
    if (value === null) delete attributes[name];
    else attributes[name] = value;
  }
  if (previous !== undefined) {
    for (const name of IMMUTABLE_ATTRIBUTES) {
      if (own(attributes, name) !== own(previous.attributes, name)) fail(`attributes.${name}`, 'cannot be changed once the contact exists');
    }
  }

  const preferences = { ...base.preferences };
  for (const p of CONTACT_PREFERENCES) {
    const value = input.preferences?.[p];
    if (typeof value === 'boolean') preferences[p] = value;
  }

  const consents: ContactState['consents'] = { ...base.consents };
  for (const c of input.consents ?? []) {
    if (c.value === null) continue; // never back to "not set"
    if (own(consents, c.id)?.value === c.value) continue; // same value: keep when and where it was given
    consents[c.id] = { value: c.value, date: normaliseDateTime(c.date ?? now), source: c.source ?? null, comment: c.comment ?? null };
  }

  const state: ContactState = {
    contactId: input.contactId,
    contactType: input.contactType ?? base.contactType,
    attributes,
    preferences,
    consents,
  };
  const { contactId, contactType } = state;

  if (previous === undefined) {
    return { events: [{ eventType: 'contact.created', payload: { contactId, contactType } }], state, changed: true };
  }

  const changedFields: string[] = [];
  if (state.contactType !== previous.contactType) changedFields.push('contactType');
  for (const name of new Set([...Object.keys(previous.attributes), ...Object.keys(attributes)])) {
    if (own(previous.attributes, name) !== own(attributes, name)) changedFields.push(`attributes.${name}`);
  }
  const changedPreferences = CONTACT_PREFERENCES.filter((p) => previous.preferences[p] !== preferences[p]);
  for (const p of changedPreferences) changedFields.push(`preferences.${p}`);
  const changedConsents = Object.keys(consents)
    .filter((id) => own(previous.consents, id)?.value !== consents[id].value)
    .sort(byCodeUnit);
  for (const id of changedConsents) changedFields.push(`consents.${id}`);

  if (changedFields.length === 0) return { events: [], state: previous, changed: false };

  const events: DetectedEvent[] = [{ eventType: 'contact.updated', payload: { contactId, contactType, changedFields: changedFields.sort(byCodeUnit) } }];
  for (const p of changedPreferences) {
    events.push({ eventType: PREFERENCE_EVENTS[p], payload: { contactId, value: preferences[p] } });
  }
  for (const consentId of changedConsents) {
    const c = consents[consentId];
    events.push({
      eventType: 'contact.consent.changed',
      payload: { contactId, consentId, value: c.value, date: c.date, source: c.source, comment: c.comment },
    });
  }
  return { events, state, changed: true };
}

const PREFERENCE_EVENTS = {
  acceptsEmail: 'contact.acceptsEmail.changed',
  acceptsSms: 'contact.acceptsSms.changed',
  acceptsPostal: 'contact.acceptsPostal.changed',
} as const satisfies { [P in ContactPreference]: EngageEventType };

/**
 * Deletes a contact: `contact.deleted` and no state left. Deleting a contact that is not known
 * fires nothing (the caller answers 404). [design] Recreating the id later is a new contact.
 */
export function detectContactDelete(previous: ContactState | undefined): Detection<undefined> {
  if (previous === undefined) return { events: [], state: undefined, changed: false };
  return {
    events: [{ eventType: 'contact.deleted', payload: { contactId: previous.contactId } }],
    state: undefined,
    changed: true,
  };
}
