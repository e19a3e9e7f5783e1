// `herald simulate`: realistic Engage activity through the producer routes at a chosen rate, for
// demos and benchmarks. It is an ordinary API client (it could run on another machine): contacts
// are created and edited, preferences and consents toggled, points added and balances moved,
// vouchers created and promotions assigned, with a seeded generator so a run can be repeated.
import { randomUUID } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface SimulateOptions {
  /** Herald's base URL, e.g. http://127.0.0.1:8071. */
  url: string;
  /** The operator token. */
  token: string;
  /** The tenant: an application uid (created when missing). */
  tenant: string;
  /** Actions per second, paced open loop. */
  rate: number;
  /** Stop after this many actions... */
  count?: number;
  /** ...or after this long (ms), whichever comes first. */
  durationMs?: number;
  seed?: number;
  /** Install the catalog, create the tenant and turn its webhooks module on first (default true). */
  setup?: boolean;
  /** Most actions in flight at once. */
  concurrency?: number;
  onProgress?: (done: number) => void;
  /** The pacing clock (default: performance.now and setTimeout); tests inject a virtual one. */
  clock?: SimulateClock;
}

export interface SimulateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: SimulateClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface SimulateReport {
  actions: Record<string, number>;
  /** Events Herald emitted, by type (what the producer routes answered). */
  events: Record<string, number>;
  messages: number;
  errors: { status: number; body: string; action: string }[];
  elapsedMs: number;
}

/** Seeded floats in [0, 1): reproducibility is all that matters here. */
function prng(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}

const FIRST = ['Anna', 'Erik', 'Maja', 'Lars', 'Sofia', 'Johan', 'Elin', 'Karl', 'Ida', 'Oskar'];
const LAST = ['Andersson', 'Johansson', 'Karlsson', 'Nilsson', 'Eriksson', 'Larsson', 'Olsson', 'Persson'];
const CITIES = ['Göteborg', 'Stockholm', 'Malmö', 'Uppsala', 'Örebro', 'Lund'];
const CONSENTS = ['memberConsent', 'smsConsent', 'profilingConsent'];
const PREFERENCES = ['acceptsEmail', 'acceptsSms', 'acceptsPostal'] as const;

interface Contact {
  id: string;
  accountId: number;
  balance: number;
  consents: Record<string, boolean>;
  preferences: Record<string, boolean>;
  /**
   * The contact's last request. A real producer changes one contact in order, so each action on a
   * contact is sent once the one before it was answered; only different contacts go in parallel.
   * (Sent blindly, an update could overtake its contact's creation and find no contact.)
   */
  tail: Promise<unknown>;
}

export async function simulate(o: SimulateOptions): Promise<SimulateReport> {
  const rnd = prng(o.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const base = o.url.replace(/\/+$/, '');
  const app = encodeURIComponent(o.tenant);
  const report: SimulateReport = { actions: {}, events: {}, messages: 0, errors: [], elapsedMs: 0 };
  const call = async (action: string, method: string, path: string, body?: unknown): Promise<any> => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 300) {
      report.errors.push({ status: r.status, body: text.slice(0, 500), action });
      return null;
    }
    return text ? JSON.parse(text) : null;
  };

  if (o.setup ?? true) {
    await call('setup', 'POST', '/api/v1/engage/catalog/install');
    await call('setup', 'POST', '/api/v1/app?get_if_exists=true', { name: `Engage tenant ${o.tenant}`, uid: o.tenant });
    await call('setup', 'PUT', `/api/v1/app/${app}/engage/module`, { enabled: true });
    if (report.errors.length) throw new Error(`setup failed: ${JSON.stringify(report.errors)}`);
  }

  const contacts: Contact[] = [];
  let nextAccount = 1000 + Math.floor(rnd() * 1000);
  const bool = () => rnd() < 0.5;

  /** One action, chosen with realistic weights; returns [name, method, path, body, contact]. */
  const next = (): [string, string, string, unknown, Contact] => {
    const r = rnd();
    if (contacts.length < 5 || r < 0.2) {
      const c: Contact = { id: randomUUID(), accountId: nextAccount++, balance: 0, consents: {}, preferences: {}, tail: Promise.resolve() };
      const first = pick(FIRST);
      const last = pick(LAST);
      for (const p of PREFERENCES) c.preferences[p] = bool();
      c.consents.memberConsent = true; // given at sign-up, below
      contacts.push(c);
      return [
        'contact.create',
        'POST',
        `/api/v1/app/${app}/engage/contact`,
        {
          contactId: c.id,
          attributes: { firstName: first, lastName: last, email: `${first}.${last}.${c.id.slice(0, 6)}@example.com`.toLowerCase(), city: pick(CITIES) },
          // A copy: the body is serialized only when the request goes out, after the contact's
          // earlier requests, and a toggle generated meanwhile must not leak into it.
          preferences: { ...c.preferences },
          consents: [{ id: 'memberConsent', value: true, source: 'ECOM' }],
        },
        c,
      ];
    }
    const c = pick(contacts);
    if (r < 0.35) return ['contact.edit', 'POST', `/api/v1/app/${app}/engage/contact`, { contactId: c.id, attributes: { city: pick(CITIES) } }, c];
    if (r < 0.45) {
      const p = pick(PREFERENCES);
      c.preferences[p] = !c.preferences[p];
      return ['contact.preference', 'POST', `/api/v1/app/${app}/engage/contact`, { contactId: c.id, preferences: { [p]: c.preferences[p] } }, c];
    }
    if (r < 0.55) {
      const id = pick(CONSENTS);
      c.consents[id] = !(c.consents[id] ?? false);
      return [
        'contact.consent',
        'POST',
        `/api/v1/app/${app}/engage/contact`,
        {
          contactId: c.id,
          consents: [{ id, value: c.consents[id], source: pick(['ECOM', 'POS', 'APP']) }],
        },
        c,
      ];
    }
    if (r < 0.7) {
      const amount = 10 * (1 + Math.floor(rnd() * 20));
      return [
        'points.add',
        'POST',
        `/api/v1/app/${app}/engage/point-transaction`,
        {
          amount,
          contactId: c.id,
          pointDefinitionId: 1,
          source: pick(['Manual', 'Automation']),
          description: 'Purchase bonus',
          userId: '',
          userName: '',
          reason: 'Campaign',
          sourceId: randomUUID(),
        },
        c,
      ];
    }
    if (r < 0.82) {
      c.balance += 10 * (1 + Math.floor(rnd() * 20));
      return [
        'points.balance',
        'POST',
        `/api/v1/app/${app}/engage/point-balance`,
        {
          contactId: c.id,
          accountId: c.accountId,
          definitionId: 1,
          balance: c.balance,
        },
        c,
      ];
    }
    if (r < 0.9) {
      const from = new Date();
      return [
        'voucher.create',
        'POST',
        `/api/v1/app/${app}/engage/reward-voucher`,
        {
          id: randomUUID(),
          contactId: c.id,
          amount: pick([50, 100, 200]),
          currency: 'SEK',
          uniqueCode: `RV-${Math.floor(rnd() * 1e9)}`,
          validFrom: from.toISOString(),
          validTo: new Date(from.getTime() + 30 * 864e5).toISOString(),
        },
        c,
      ];
    }
    if (r < 0.98) {
      return [
        'promotion.assign',
        'POST',
        `/api/v1/app/${app}/engage/promotion-assignment`,
        {
          id: randomUUID(),
          contactId: c.id,
          promotionId: `promo-${1 + Math.floor(rnd() * 5)}`,
        },
        c,
      ];
    }
    contacts.splice(contacts.indexOf(c), 1);
    return ['contact.delete', 'DELETE', `/api/v1/app/${app}/engage/contact/${encodeURIComponent(c.id)}`, undefined, c];
  };

  const clock = o.clock ?? realClock;
  const started = clock.now();
  const limit = o.count ?? Number.POSITIVE_INFINITY;
  const until = o.durationMs === undefined ? Number.POSITIVE_INFINITY : started + o.durationMs;
  if (limit === Number.POSITIVE_INFINITY && until === Number.POSITIVE_INFINITY) throw new Error('give a count or a duration');
  const maxInFlight = o.concurrency ?? 64;
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  for (let i = 0; i < limit; i++) {
    // Open loop: action i is due at start + i / rate, whatever the answers' latency.
    const due = started + (i * 1000) / o.rate;
    if (due > until) break;
    const wait = due - clock.now();
    if (wait > 0) await clock.sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const [name, method, path, body, contact] = next();
    report.actions[name] = (report.actions[name] ?? 0) + 1;
    const sent = contact.tail.then(() => call(name, method, path, body));
    contact.tail = sent.catch(() => undefined);
    const p: Promise<void> = sent.then((res) => {
      for (const e of (res?.events ?? []) as { eventType?: string; type?: string }[]) {
        const t = e.eventType ?? e.type ?? 'unknown';
        report.events[t] = (report.events[t] ?? 0) + 1;
      }
      report.messages += (res?.messageIds ?? []).length;
      o.onProgress?.(++done);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  report.elapsedMs = Math.round(clock.now() - started);
  return report;
}
