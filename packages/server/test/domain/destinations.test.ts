// Destinations as pure rules: what a polling endpoint sees, where its positions start, how a
// temporary destination's lease runs, and which config members are never shown.
import { describe, expect, it } from 'vitest';
import {
  clampPosition,
  destinationMatches,
  isDestinationType,
  isPosition,
  leaseExpired,
  leaseRenewal,
  pollWindow,
  positionAfter,
  positionTimeMs,
  publicConfig,
  startPosition,
  POLL_SETTLE_MS,
  type Destination,
} from '../../src/domain/destinations.js';
import { endIdFor, startIdFor } from '../../src/domain/ids.js';

const T = Date.parse('2026-03-01T00:00:00Z');
const dest = (o: Partial<Destination> = {}): Destination => ({
  id: 'dest_1',
  appId: 'app_1',
  uid: null,
  type: 'pollingEndpoint',
  status: 'enabled',
  eventTypes: null,
  channels: null,
  metadata: {},
  batchSize: 100,
  maxWaitSecs: 0,
  config: { secret: 'whsec_x', note: 'shown' },
  leaseMs: null,
  expiresAt: null,
  createdAt: T,
  updatedAt: T,
  ...o,
});

describe('domain: destinations', () => {
  it('sees messages from its creation until the settle horizon', () => {
    expect(pollWindow(dest(), T + 10_000)).toEqual({ afterMs: T - 1, beforeMs: T + 10_000 - POLL_SETTLE_MS });
    expect(positionTimeMs(startPosition(dest()))).toBe(T);
    // The start sorts before every message id minted at or after the creation, after every earlier one.
    expect(startPosition(dest()) <= startIdFor('message', T)).toBe(true);
    expect(endIdFor('message', T - 10) < startPosition(dest())).toBe(true);
  });

  it('a seek or an old iterator never goes before the creation; only message ids are positions', () => {
    const d = dest();
    expect(positionAfter(d, T - 60_000)).toBe(startPosition(d));
    expect(positionAfter(d, T + 60_000)).toBe(startIdFor('message', T + 60_000));
    const old = startIdFor('message', T - 60_000);
    expect(clampPosition(d, old)).toBe(startPosition(d));
    const later = startIdFor('message', T + 1);
    expect(clampPosition(d, later)).toBe(later);
    expect(isPosition(later)).toBe(true);
    expect(isPosition('ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe')).toBe(false);
    expect(isPosition('nonsense')).toBe(false);
  });

  it('filters as an endpoint does, and a disabled destination sees nothing', () => {
    expect(destinationMatches(dest({ eventTypes: ['a'] }), 'a', null)).toBe(true);
    expect(destinationMatches(dest({ eventTypes: ['a'] }), 'b', null)).toBe(false);
    expect(destinationMatches(dest({ channels: ['eu'] }), 'a', ['us', 'eu'])).toBe(true);
    expect(destinationMatches(dest({ channels: ['eu'] }), 'a', null)).toBe(false);
    expect(destinationMatches(dest({ status: 'disabled' }), 'a', null)).toBe(false);
  });

  it('renews a lease once half of it is gone, and it runs out at its expiry', () => {
    const d = dest({ leaseMs: 60_000, expiresAt: T + 60_000 });
    expect(leaseRenewal(d, T + 29_999)).toBeNull();
    expect(leaseRenewal(d, T + 30_001)).toBe(T + 90_001);
    expect(leaseExpired(d, T + 59_999)).toBe(false);
    expect(leaseExpired(d, T + 60_000)).toBe(true);
    expect(leaseRenewal(dest(), T)).toBeNull();
    expect(leaseExpired(dest(), T + 1e12)).toBe(false);
  });

  it("knows its types and never shows a type's secrets", () => {
    expect(isDestinationType('pollingEndpoint')).toBe(true);
    expect(isDestinationType('toString')).toBe(false);
    expect(publicConfig(dest())).toEqual({ note: 'shown' });
  });
});
