// Per-token API rate limits: the operator token and every portal session each get their own
// GCRA budget (domain/throttle.ts), so one noisy tenant's dashboard cannot starve another, nor
// the producer. Limits live in this process's memory: N API processes behind a load balancer
// allow up to N times the configured rate per token (see docs/SECURITY.md).
import { HttpError } from '../domain/errors.js';
import { RateLimiter } from '../domain/throttle.js';
import type { Config } from '../config/index.js';
import type { Principal } from './auth.js';

export class RateLimited extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'rate_limit_exceeded', `Too many requests with this token; retry after ${retryAfterSeconds} s.`);
  }
}

export class ApiRateLimits {
  private readonly portal: RateLimiter | null;
  private readonly operator: RateLimiter | null;

  constructor(limits: Config['apiRateLimit']) {
    this.portal = limits.portal && new RateLimiter(limits.portal.perSecond, limits.portal.burst);
    this.operator = limits.operator && new RateLimiter(limits.operator.perSecond, limits.operator.burst);
  }

  /** Count one request by `principal`; throws RateLimited when its budget is spent. */
  take(principal: Principal, nowMs: number): void {
    const limiter = principal.kind === 'operator' ? this.operator : this.portal;
    if (!limiter) return;
    const waitMs = limiter.take(principal.kind === 'operator' ? 'operator' : principal.sessionId, nowMs);
    // Whole seconds, rounded up, at least 1: a client that waits that long is let through.
    if (waitMs !== null) throw new RateLimited(Math.max(1, Math.ceil(waitMs / 1000)));
  }
}
