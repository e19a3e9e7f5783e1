// Random upsert/delete sequences against a tiny independent model of the rules: which events
// must fire, which must not, and that a consent once set is never unset. Seeded, so reproducible.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import {
  CONTACT_PREFERENCES,
  detectContactDelete,
  detectContactUpsert,
  type ConsentInput,
  type ContactInput,
  type ContactState,
  type DetectedEvent,
} from '../src/index.js';
import { payloadErrors } from './schemas.js';

/** A seeded source of floats in [0, 1), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}

const ID = 'c-1';
const CONSENT_IDS = ['memberConsent', 'smsConsent', 'profiling'];
const ATTRIBUTES: Record<string, (string | number | null | undefined)[]> = {
  firstName: ['Anna', 'Bo', null, undefined, undefined],
  city: ['Malmö', 'Umeå', null, undefined, undefined],
  shoeSize: [41, 42, '42', null, undefined],
};

function randomInput(rand: () => number): ContactInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const input: ContactInput = { contactId: ID };
  if (rand() < 0.2) input.contactType = pick(['Member', 'Contact', null]);
  if (rand() < 0.6) {
    const attributes: NonNullable<ContactInput['attributes']> = {};
    for (const [name, values] of Object.entries(ATTRIBUTES)) {
      const v = pick(values);
      if (v !== undefined) attributes[name] = v;
    }
    input.attributes = attributes;
  }
  if (rand() < 0.6) {
    const preferences: NonNullable<ContactInput['preferences']> = {};
    for (const p of CONTACT_PREFERENCES) {
      const v = pick([true, false, null, undefined]);
      if (v !== undefined) preferences[p] = v;
    }
    input.preferences = preferences;
  }
  if (rand() < 0.6) {
    const consents: ConsentInput[] = [];
    for (const id of CONSENT_IDS) {
      if (rand() < 0.5) consents.push({ id, value: pick([true, false, null]), date: rand() < 0.5 ? '2024-01-01T00:00:00Z' : null });
    }
    input.consents = consents;
  }
  return input;
}

/** The model: a flat map of path → value, built without the detector's code. */
function flatten(s: ContactState): Map<string, unknown> {
  const m = new Map<string, unknown>([['contactType', s.contactType]]);
  for (const [k, v] of Object.entries(s.attributes)) m.set(`attributes.${k}`, v);
  for (const [k, v] of Object.entries(s.preferences)) m.set(`preferences.${k}`, v);
  for (const [k, v] of Object.entries(s.consents)) m.set(`consents.${k}`, v.value);
  return m;
}

function diff(a: ContactState, b: ContactState): string[] {
  const fa = flatten(a);
  const fb = flatten(b);
  return [...new Set([...fa.keys(), ...fb.keys()])].filter((k) => fa.get(k) !== fb.get(k)).sort();
}

function expectedEvents(previous: ContactState | undefined, next: ContactState): string[] {
  if (previous === undefined) return ['contact.created'];
  const changed = diff(previous, next);
  if (changed.length === 0) return [];
  return [
    'contact.updated',
    ...CONTACT_PREFERENCES.filter((p) => changed.includes(`preferences.${p}`)).map((p) => `contact.${p}.changed`),
    ...changed.filter((k) => k.startsWith('consents.')).map(() => 'contact.consent.changed'),
  ];
}

describe('contact upserts, 300 random sequences of 40 steps', () => {
  it('emit exactly the events the rules call for, and nothing when nothing changed', () => {
    let steps = 0;
    let updates = 0;
    let silent = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      let state: ContactState | undefined;
      for (let step = 0; step < 40; step++, steps++) {
        const where = `seed ${seed} step ${step}`;
        if (state !== undefined && rand() < 0.03) {
          const deleted = detectContactDelete(state);
          expect(
            deleted.events.map((e) => e.eventType),
            where,
          ).toEqual(['contact.deleted']);
          state = undefined;
          continue;
        }
        const input = randomInput(rand);
        const previous = state;
        const result = detectContactUpsert(previous, input, { now: Date.UTC(2024, 0, 1) + step * 1000 });
        const types = result.events.map((e) => e.eventType);

        expect(types, where).toEqual(expectedEvents(previous, result.state));
        for (const e of result.events) expect(payloadErrors(e.eventType, e.payload), where).toBe('');

        if (previous !== undefined) {
          // A consent once set stays set.
          for (const id of Object.keys(previous.consents)) expect(result.state.consents, where).toHaveProperty(id);
          // changed ⇔ events ⇔ the state differs.
          const differs = diff(previous, result.state).length > 0;
          expect(result.changed, where).toBe(differs);
          expect(result.events.length > 0, where).toBe(differs);
          if (!differs) {
            expect(result.state, where).toBe(previous);
            silent++;
          } else {
            updates++;
            const updated = result.events[0] as DetectedEvent<'contact.updated'>;
            expect(updated.payload.changedFields, where).toEqual(diff(previous, result.state));
          }
        }
        // The same input right away changes nothing.
        expect(detectContactUpsert(result.state, input, { now: 0 }).events, where).toEqual([]);
        // What is stored survives JSON.
        state = JSON.parse(JSON.stringify(result.state)) as ContactState;
      }
    }
    // The generator reaches both branches often, or this test proves little.
    expect(steps).toBe(12_000);
    expect(updates).toBeGreaterThan(2_000);
    expect(silent).toBeGreaterThan(1_000);
  });
});
