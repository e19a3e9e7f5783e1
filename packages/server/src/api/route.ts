// How a route is declared: the contract operation it serves, who may call it, which path
// resources it needs resolved, and a handler that returns a value (status and body). Resolution,
// authorisation, validation and idempotency are done once, here, for every route.
import type { Config } from '../config/index.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Application, Endpoint, Message, Permission } from '../domain/types.js';
import type { IdempotencyWrite, Store } from '../store/store.js';
import type { Authenticator, Principal } from './auth.js';
import type { Contract, Operation } from './contract.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SsrfGuard } from '../security/ssrf.js';
import type { OperationalEvents } from '../operational/operational.js';
import type { StoreHealth } from './store-health.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { TransformPool } from '../transform/pool.js';

export interface ApiDeps {
  store: Store;
  config: Config;
  contract: Contract;
  auth: Authenticator;
  ids: IdGenerator;
  /** Epoch ms. Injectable so tests control time without sleeping. */
  now: () => number;
  version: string;
  /** The database schema version this process runs on (the latest migration it ships). */
  schemaVersion: number;
  /** Operational webhooks (endpoint lifecycle), sent to the operator's operational application. */
  operational: OperationalEvents;
  metrics: Metrics;
  ssrf: SsrfGuard;
  /** Turns driver errors into store errors, counts them, and answers the readiness probe. */
  storeHealth: StoreHealth;
  /**
   * This process's own view of an endpoint's deliveries: in flight now and its adaptive concurrency
   * limit (the dispatcher's, when this process runs one).
   */
  endpointLoad?: (endpointId: string) => { inFlight: number; concurrencyLimit: number };
  /** Aborted when the process starts to stop: long polls answer at once instead of holding it up. */
  closing?: AbortSignal;
  /** OpenTelemetry traces (telemetry/tracing.ts); absent when tracing is off. */
  tracing?: Tracing | null;
  /** Runs endpoints' transformations in the sandbox: checking code on save, and simulating a run. */
  transforms: TransformPool;
}

/** `org`: the operator only. Otherwise the portal permission a token needs. */
export type Access = 'public' | 'org' | Permission;

export interface Ctx {
  deps: ApiDeps;
  op: Operation;
  principal: Principal;
  params: Record<string, string>;
  query: Record<string, any>;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  /** The request body's text, when it was JSON. */
  rawBody?: string;
  app: Application | null;
  endpoint: Endpoint | null;
  message: Message | null;
  now: number;
  /**
   * For idempotent POSTs: store the answer in the same commit as the write. With `msgId`, the
   * answer is a message and the route's `replay` renders it again from the store.
   */
  idem<R>(status: number, out: (r: R) => unknown, msgId?: (r: R) => string): IdempotencyWrite<R> | undefined;
}

export interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteDef {
  method: Operation['method'];
  /** The contract's operationId (or `method:path` for operations that have none). */
  operationId: string;
  access: Access;
  /** How the path's app, endpoint and message are resolved; `optional` leaves null when missing (upserts). */
  app?: 'required' | 'optional';
  endpoint?: 'required' | 'optional';
  message?: 'required';
  /** Top-level body members that are the tenant's own JSON (a payload): not held to Herald's text rules. */
  opaque?: readonly string[];
  handler(c: Ctx): Promise<Result>;
  /** The body a repeat of this request answers with, when the stored answer names a message. */
  replay?(c: Ctx, msgId: string): Promise<unknown>;
}

export const route = (def: RouteDef): RouteDef => def;
