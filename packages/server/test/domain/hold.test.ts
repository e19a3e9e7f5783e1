// Holding deliveries and the circuit breaker as pure rules (domain/hold.ts), adaptive concurrency
// (domain/concurrency.ts) and the overload penalty on retries (domain/retry.ts).
import { describe, expect, it } from 'vitest';
import { nextLimit, placesFor } from '../../src/domain/concurrency.js';
import {
  afterAttempt,
  CLOSED_CIRCUIT,
  countsAgainst,
  gate,
  MODULE_RECHECK_MS,
  overloaded,
  pristine,
  type Circuit,
  type CircuitPolicy,
} from '../../src/domain/hold.js';
import { nextStep, OVERLOAD_PENALTY } from '../../src/domain/retry.js';

const NOW = 1_700_000_000_000;
const policy: CircuitPolicy = { failures: 3, cooldownMs: 30_000, maxCooldownMs: 100_000 };
const PROBE = 60_000;

function failTimes(n: number, c: Circuit = CLOSED_CIRCUIT, at = NOW) {
  let r = { circuit: c, change: null as 'opened' | 'closed' | null };
  const changes: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    r = afterAttempt(r.circuit, true, false, at, policy);
    changes.push(r.change);
  }
  return { ...r, changes };
}

describe('domain: holding deliveries', () => {
  it('the module holds only an application whose Engage module is off; no settings never holds', () => {
    expect(gate(false, CLOSED_CIRCUIT, NOW, PROBE, policy)).toEqual({ kind: 'hold', by: 'module', until: NOW + MODULE_RECHECK_MS });
    expect(gate(null, CLOSED_CIRCUIT, NOW, PROBE, policy)).toEqual({ kind: 'send' });
    expect(gate(true, CLOSED_CIRCUIT, NOW, PROBE, policy)).toEqual({ kind: 'send' });
    // The module comes first, whatever the circuit says.
    const open = failTimes(3).circuit;
    expect(gate(false, open, NOW, PROBE, policy)).toMatchObject({ by: 'module' });
  });

  it('counts timeouts, connection errors, 5xx and 429 against the circuit; other answers not', () => {
    for (const code of [0, 429, 500, 502, 503, 599]) expect(countsAgainst(code)).toBe(true);
    for (const code of [200, 204, 301, 400, 401, 404, 410, 422]) expect(countsAgainst(code)).toBe(false);
    expect(overloaded(429, false)).toBe(true);
    expect(overloaded(0, true)).toBe(true);
    expect(overloaded(503, false)).toBe(false);
    expect(overloaded(0, false)).toBe(false);
  });

  it('opens at the threshold of failures in a row, once, and a success before resets the count', () => {
    const two = failTimes(2);
    expect(two.circuit).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    expect(afterAttempt(two.circuit, false, false, NOW, policy)).toEqual({ circuit: { ...CLOSED_CIRCUIT, consecutiveFailures: 0 }, change: null });
    const r = failTimes(4);
    expect(r.changes).toEqual([null, null, 'opened', null]);
    expect(r.circuit).toEqual({
      state: 'open',
      consecutiveFailures: 4,
      since: NOW,
      nextProbeAt: NOW + 30_000,
      probeUntil: null,
      cooldownMs: 30_000,
      version: 0,
    });
  });

  it('holds while open until the cool-down ends, then one delivery may probe; half-open holds until the probe’s deadline', () => {
    const open = failTimes(3).circuit;
    expect(gate(true, open, NOW + 29_999, PROBE, policy)).toEqual({ kind: 'hold', by: 'circuit', until: NOW + 30_000 });
    expect(gate(null, open, NOW + 30_000, PROBE, policy)).toEqual({ kind: 'probe', until: NOW + 30_000 + PROBE });
    const half: Circuit = { ...open, state: 'half-open', probeUntil: NOW + 90_000 };
    expect(gate(null, half, NOW + 40_000, PROBE, policy)).toEqual({ kind: 'hold', by: 'circuit', until: NOW + 90_000 });
    // A probe that never reported (its worker died) is taken over after its deadline.
    expect(gate(null, half, NOW + 90_000, PROBE, policy)).toEqual({ kind: 'probe', until: NOW + 90_000 + PROBE });
  });

  it('a failed probe re-opens with the cool-down doubled up to the maximum; a success closes from any state', () => {
    let c: Circuit = { ...failTimes(3).circuit, state: 'half-open', probeUntil: NOW + 90_000 };
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = afterAttempt({ ...c, state: 'half-open' }, true, true, NOW, policy);
      expect(r.change).toBeNull();
      expect(r.circuit.state).toBe('open');
      expect(r.circuit.since).toBe(NOW);
      seen.push(r.circuit.nextProbeAt! - NOW);
      c = r.circuit;
    }
    expect(seen).toEqual([60_000, 100_000, 100_000]);
    // A failure that is not the probe (sent before the circuit opened) only counts.
    expect(afterAttempt({ ...c, state: 'half-open' }, true, false, NOW, policy).circuit.state).toBe('half-open');
    for (const state of ['open', 'half-open'] as const) {
      const r = afterAttempt({ ...c, state }, false, state === 'half-open', NOW + 5, policy);
      expect(r).toEqual({ circuit: { ...CLOSED_CIRCUIT, since: NOW + 5, version: c.version }, change: 'closed', failures: c.consecutiveFailures });
    }
  });

  it('HERALD_CIRCUIT_FAILURES=0 turns the breaker off: it never opens and never holds', () => {
    const off: CircuitPolicy = { ...policy, failures: 0 };
    let c = CLOSED_CIRCUIT;
    for (let i = 0; i < 10; i++) c = afterAttempt(c, true, false, NOW, off).circuit;
    expect(c.state).toBe('closed');
    expect(gate(null, failTimes(3).circuit, NOW, PROBE, off)).toEqual({ kind: 'send' });
    expect(pristine(CLOSED_CIRCUIT)).toBe(true);
    expect(pristine({ ...CLOSED_CIRCUIT, consecutiveFailures: 1 })).toBe(false);
  });
});

describe('domain: adaptive concurrency per endpoint (AIMD)', () => {
  it('halves on overload down to 1, adds one place per round of other answers up to the cap', () => {
    expect(nextLimit(64, true, 64)).toBe(32);
    expect(nextLimit(1.5, true, 64)).toBe(1);
    expect(nextLimit(1, true, 64)).toBe(1);
    let l = 1;
    const places: number[] = [];
    for (let i = 0; i < 10; i++) {
      l = nextLimit(l, false, 4);
      places.push(placesFor(l));
    }
    // 1 → 2 after one answer, → 3 after about two more, … never past the cap.
    expect(places[0]).toBe(2);
    expect(places.at(-1)).toBe(4);
    expect(places).toEqual([...places].sort((a, b) => a - b));
    expect(nextLimit(4, false, 4)).toBe(4);
  });
});

describe('domain: the overload penalty on retries', () => {
  it('an overloaded answer waits OVERLOAD_PENALTY times the scheduled delay; Retry-After still decides within its bounds', () => {
    const schedule = [5_000, 60_000];
    expect(nextStep({ kind: 'retry' }, 1, NOW, schedule, 0.5)).toEqual({ kind: 'retry', atMs: NOW + 5_000 });
    expect(nextStep({ kind: 'retry' }, 1, NOW, schedule, 0.5, false, true)).toEqual({ kind: 'retry', atMs: NOW + 5_000 * OVERLOAD_PENALTY });
    expect(nextStep({ kind: 'retry', retryAfterMs: 8_000 }, 1, NOW, schedule, 0.5, false, true)).toEqual({ kind: 'retry', atMs: NOW + 8_000 });
    expect(nextStep({ kind: 'retry' }, 3, NOW, schedule, 0.5, false, true)).toEqual({ kind: 'exhausted' });
  });
});
