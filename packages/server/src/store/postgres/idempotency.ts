// PostgreSQL store, idempotency: stored answers and key holds, both rows shared by every process.
import type { IdempotentResponse } from '../../domain/types.js';
import { idempotentResponse } from '../common/rows.js';
import type { IdempotencyStore } from '../store.js';
import { keyHash, PgBase } from './base.js';

export abstract class PgIdempotency extends PgBase implements IdempotencyStore {
  async getIdempotentResponse(key: string, notBefore: number): Promise<IdempotentResponse | null> {
    const r = await this.one(
      this.pool,
      'SELECT status, body, msg_id, created_at FROM idempotency WHERE key_hash = $1 AND key = $2 AND created_at >= $3 ORDER BY id DESC LIMIT 1',
      [keyHash(key), key, notBefore],
    );
    return r ? idempotentResponse(r, this.sealer) : null;
  }

  async putIdempotentResponse(key: string, resp: IdempotentResponse): Promise<void> {
    await this.putIdem(this.pool, { key, status: resp.status, body: () => resp.body, now: resp.createdAt }, null);
  }

  /** Holds are rows, shared by every API process on the database. */
  readonly idempotencyHoldsAreLocal = false;

  async lockIdempotencyKey(key: string, now: number, until: number): Promise<boolean> {
    // Insert the key, or take over a hold that lapsed (its holder crashed); a live hold in another
    // process makes this a no-op. ON CONFLICT waits for a concurrent inserter, so one wins.
    const n = await this.run(
      this.pool,
      `INSERT INTO idempotency_lock AS l (key, locked_until) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until WHERE l.locked_until <= $3`,
      [key, until, now],
    );
    return n === 1;
  }

  async unlockIdempotencyKey(key: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotency_lock WHERE key = $1', [key]);
  }
}
