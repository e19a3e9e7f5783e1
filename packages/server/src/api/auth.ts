// Who is calling. The operator's bearer token can do everything; a portal token is scoped to one
// application and a permission set, is signed (so a forged one is refused without a look-up),
// expires, and can be revoked (its session row is checked on every request).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { unauthorized } from '../domain/errors.js';
import type { Permission, PortalSession } from '../domain/types.js';
import type { Store } from '../store/store.js';

export type Principal =
  | { kind: 'operator' }
  | { kind: 'portal'; sessionId: string; appId: string; permissions: Permission[] };

export const ALL_PERMISSIONS: Permission[] = ['view', 'manage', 'secrets'];
const PORTAL_PREFIX = 'appsk_';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class Authenticator {
  private readonly operatorDigest: Buffer;
  private readonly portalKey: Buffer;

  constructor(
    operatorToken: string,
    masterKey: Buffer,
    private readonly store: Store,
    private readonly now: () => number,
  ) {
    // Compare digests, so the comparison is constant-time whatever the presented token's length.
    this.operatorDigest = digest(operatorToken);
    this.portalKey = createHmac('sha256', masterKey).update('herald portal tokens v1').digest();
  }

  private sign(ksuid: string): string {
    return createHmac('sha256', this.portalKey).update(ksuid).digest('base64url');
  }

  /** The bearer token for a portal session. */
  portalToken(session: PortalSession): string {
    const ksuid = session.id.slice('sess_'.length);
    return `${PORTAL_PREFIX}${ksuid}.${this.sign(ksuid)}`;
  }

  /** The session id a portal token names, if its signature holds. */
  sessionIdOf(token: string): string | null {
    if (!token.startsWith(PORTAL_PREFIX)) return null;
    const [ksuid, sig] = token.slice(PORTAL_PREFIX.length).split('.');
    if (!ksuid || !sig || !/^[0-9A-Za-z]{27}$/.test(ksuid)) return null;
    const want = Buffer.from(this.sign(ksuid));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    return `sess_${ksuid}`;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthorized('Missing bearer token: send `Authorization: Bearer <token>`');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthorized('Malformed Authorization header: expected `Bearer <token>`');
    const token = m[1]!;
    if (timingSafeEqual(digest(token), this.operatorDigest)) return { kind: 'operator' };
    const sessionId = this.sessionIdOf(token);
    if (sessionId) {
      const s = await this.store.getPortalSession(sessionId);
      if (s && s.revokedAt === null && s.expiresAt > this.now()) {
        return { kind: 'portal', sessionId: s.id, appId: s.appId, permissions: s.permissions };
      }
      throw unauthorized('The portal token has expired or was revoked');
    }
    throw unauthorized('Invalid token');
  }
}
