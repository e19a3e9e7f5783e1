// Secrets at rest (signing secrets, custom headers, encryption keys) are sealed with AES-256-GCM
// under the master key. The sealed form names its key id so that a later master-key rotation can
// tell old from new and re-seal without downtime.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

export class Sealer {
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  /** `current` seals; `previous` keys still unseal (during a master-key rotation). */
  constructor(current: Buffer, previous: Buffer[] = []) {
    if (current.length !== 32) throw new Error('the master key must be 32 bytes');
    this.keyId = Sealer.idOf(current);
    this.keys = new Map([[this.keyId, current], ...previous.map((k) => [Sealer.idOf(k), k] as [string, Buffer])]);
  }

  static idOf(key: Buffer): string {
    return createHash('sha256').update('herald-master-key-id').update(key).digest('hex').slice(0, 8);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.keyId)!, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.keyId}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  }

  unseal(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('value is not sealed');
    const rest = sealed.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    const key = this.keys.get(rest.slice(0, colon));
    if (!key) throw new Error(`value is sealed under an unknown master key (${rest.slice(0, colon)})`);
    const raw = Buffer.from(rest.slice(colon + 1), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Whether `sealed` was sealed under the current key (false means it needs re-sealing). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${PREFIX}${this.keyId}:`);
  }
}
