// Fair shares of delivery capacity: which due deliveries one claim takes. Pure. SQLite runs
// `fairPick` on the candidates it reads; PostgreSQL ranks the same way inside its one claim
// statement (store/postgres/queue.ts); the conformance suite checks both against `fairPick`.
//
// The rule, so that one tenant's backlog does not delay another's deliveries:
// - An endpoint offers its oldest due deliveries (by due time, then message id), at most as many
//   as it has free places in the claiming dispatcher (its room): a claim never takes more for an
//   endpoint than it can send at once, so nothing is claimed only to be put back.
// - Within an application its endpoints take turns: every endpoint's oldest first, then every
//   endpoint's second, and so on (by due time within a turn).
// - Across applications, likewise: every application's first pick, then every application's
//   second, and so on (by due time within a turn).
// - The claim takes the first `limit` of that order.
// So with two applications due, each gets about half of every claim however many deliveries the
// other has waiting; an application alone gets all of it.
//
// Which endpoints a claim looks at: the stores find the candidates by walking the (application,
// endpoint) pairs with waiting deliveries, due or not, in (application id, endpoint id) order. One
// claim walks at most CLAIM_WALK pairs, from where the previous claim's walk stopped and round to
// the start, and, when that bound stops it, also looks at the pairs of the OLDEST_DUE_PAIRS oldest
// due deliveries wherever they are. So a claim's cost is bounded however many endpoints wait (failing endpoints in retry
// back-off, open circuits): with N pairs waiting, every pair is looked at within ⌈N / CLAIM_WALK⌉
// claims, and the oldest due work in every claim. Up to CLAIM_WALK pairs, every claim sees all of
// them and the rule above holds exactly.

/** The most (application, endpoint) pairs with waiting deliveries one claim walks (the stores' claimWalk). */
export const CLAIM_WALK = 128;
/** A claim whose walk stopped at its bound also looks at the pairs of this many of the oldest due deliveries. */
export const OLDEST_DUE_PAIRS = 16;

/** An (application, endpoint) pair with waiting deliveries, as a claim's walk visits them. */
export interface WalkPair {
  appId: string;
  endpointId: string;
}

/**
 * Where the next claim's walk starts, given the pairs this one visited in order: after the last
 * one if the walk stopped at its bound `cap`, else from the start (null), since it went round.
 */
export function walkAfter(visited: readonly WalkPair[], cap: number): WalkPair | null {
  return visited.length >= cap ? visited[visited.length - 1]! : null;
}

/** How many more deliveries each endpoint may have claimed: `cap` unless `below` names it. */
export interface ClaimRoom {
  /** The room of an endpoint the dispatcher has nothing in flight to and no lowered limit for. */
  cap: number;
  /** Endpoints with less room than `cap` (some in flight, or a lowered adaptive limit); 0: none. */
  below: ReadonlyMap<string, number>;
}

/** The free places of an endpoint: its places (domain/concurrency.ts placesFor) less those in flight. */
export function endpointRoom(places: number, inFlight: number): number {
  return Math.max(0, places - inFlight);
}

export function roomOf(room: ClaimRoom, endpointId: string): number {
  return room.below.get(endpointId) ?? room.cap;
}

/** A due delivery a claim may take. */
export interface FairCandidate {
  appId: string;
  endpointId: string;
  msgId: string;
  /** When it fell due (its next attempt time). */
  dueAt: number;
}

const byDue = (a: FairCandidate, b: FairCandidate) => a.dueAt - b.dueAt || cmp(a.msgId, b.msgId);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The deliveries a claim of `limit` takes from `candidates` (any order; at least each endpoint's
 * oldest `room` due ones), in claim order. Ties break by application, endpoint and message id, as
 * PostgreSQL's `COLLATE "C"` orders them.
 */
export function fairPick<T extends FairCandidate>(candidates: readonly T[], limit: number, room: ClaimRoom): T[] {
  // Each endpoint's turn number for its deliveries (1 = its oldest), within its room.
  const perEndpoint = new Map<string, T[]>();
  for (const c of candidates) {
    const k = `${c.appId} ${c.endpointId}`;
    let l = perEndpoint.get(k);
    if (!l) perEndpoint.set(k, (l = []));
    l.push(c);
  }
  const perApp = new Map<string, { c: T; turn: number }[]>();
  for (const l of perEndpoint.values()) {
    l.sort(byDue);
    const taken = l.slice(0, roomOf(room, l[0]!.endpointId));
    let a = perApp.get(l[0]!.appId);
    if (!a) perApp.set(l[0]!.appId, (a = []));
    taken.forEach((c, i) => a.push({ c, turn: i + 1 }));
  }
  // Each application's turn number for its deliveries: its endpoints' first, then their second...
  const ranked: { c: T; turn: number }[] = [];
  for (const a of perApp.values()) {
    a.sort((x, y) => x.turn - y.turn || x.c.dueAt - y.c.dueAt || cmp(x.c.endpointId, y.c.endpointId) || cmp(x.c.msgId, y.c.msgId));
    a.forEach((x, i) => ranked.push({ c: x.c, turn: i + 1 }));
  }
  ranked.sort(
    (x, y) => x.turn - y.turn || x.c.dueAt - y.c.dueAt || cmp(x.c.appId, y.c.appId) || cmp(x.c.endpointId, y.c.endpointId) || cmp(x.c.msgId, y.c.msgId),
  );
  return ranked.slice(0, Math.max(0, limit)).map((x) => x.c);
}
