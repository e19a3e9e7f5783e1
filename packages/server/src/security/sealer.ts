// Secrets at rest (signing secrets, custom headers, encryption keys) are sealed with AES-256-GCM
// under the master key. The sealed form names its key id so that a later master-key rotation can
// tell old from new and re-seal without downtime.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

/** The master keys in force: `current` seals, every key (current and previous) unseals. */
export interface KeyRing {
  current: Buffer;
  previous: Buffer[];
}

/**
 * Where a running process learns that the key ring changed (a rotation by `herald
 * rotate-master-key` in another process): returns the new ring, or null when it is unchanged.
 */
export type KeyRingReload = () => KeyRing | null;

/** How often a process with a reloadable key ring looks for a new current key before sealing. */
export const RELOAD_EVERY_MS = 1000;

/**
 * GCM nonces, 12 random bytes each, handed out from a pool the CSPRNG fills 4 KiB at a time: a
 * CSPRNG call per seal was 8% of the CPU of an idempotent POST (its stored answer is sealed).
 * Every nonce is used once; the bytes are as random as a call per seal would give.
 */
const NONCE_BYTES = 12;
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
function nonce(): Buffer {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 341);
    nonceAt = 0;
  }
  const n = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return n;
}

export class Sealer {
  private _keyId = '';
  private keys = new Map<string, Buffer>();
  private checkedAt = Date.now();

  /**
   * `current` seals; `previous` keys still unseal (during a master-key rotation). With `reload`,
   * the ring is looked up again at most every second before sealing, and whenever a value names
   * a key this process does not hold, so a rotation needs no restart.
   */
  constructor(
    current: Buffer,
    previous: Buffer[] = [],
    private readonly reload?: KeyRingReload,
  ) {
    this.use({ current, previous });
  }

  private use(ring: KeyRing): void {
    if (ring.current.length !== 32 || ring.previous.some((k) => k.length !== 32)) throw new Error('a master key must be 32 bytes');
    this._keyId = Sealer.idOf(ring.current);
    this.keys = new Map([[this._keyId, ring.current], ...ring.previous.map((k) => [Sealer.idOf(k), k] as [string, Buffer])]);
  }

  private refresh(): void {
    this.checkedAt = Date.now();
    const ring = this.reload?.();
    if (ring) this.use(ring);
  }

  /** Id of the key that seals now. */
  get keyId(): string {
    return this._keyId;
  }

  /** Every master key this sealer opens values with, the current one first. */
  masterKeys(): Buffer[] {
    if (this.reload && Date.now() - this.checkedAt >= RELOAD_EVERY_MS) this.refresh();
    return [...this.keys.values()];
  }

  static idOf(key: Buffer): string {
    return createHash('sha256').update('herald-master-key-id').update(key).digest('hex').slice(0, 8);
  }

  seal(plain: string): string {
    if (this.reload && Date.now() - this.checkedAt >= RELOAD_EVERY_MS) this.refresh();
    const iv = nonce();
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.keyId)!, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.keyId}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  }

  unseal(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('value is not sealed');
    const rest = sealed.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    let key = this.keys.get(rest.slice(0, colon));
    if (!key && this.reload) {
      this.refresh();
      key = this.keys.get(rest.slice(0, colon));
    }
    if (!key) throw new Error(`value is sealed under an unknown master key (${rest.slice(0, colon)})`);
    const raw = Buffer.from(rest.slice(colon + 1), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Whether `sealed` was sealed under the current key (false means it needs re-sealing). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(this.currentPrefix());
  }

  /** What every value sealed under the current key starts with (for finding the others in SQL). */
  currentPrefix(): string {
    return `${PREFIX}${this._keyId}:`;
  }

  /** Whether `value` is in the sealed form (of any key). */
  isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  /** Unseal a sealed value; a value stored before sealing applied to it passes as it is. */
  openIfSealed(value: string): string {
    return this.isSealed(value) ? this.unseal(value) : value;
  }

  /** Open under whichever key sealed it, and seal again under the current key. */
  reseal(sealed: string): string {
    return this.seal(this.unseal(sealed));
  }
}
