// Who is calling. The operator's bearer token can do everything; a portal token is scoped to one
// application and a permission set, is signed (so a forged one is refused without a look-up),
// expires, and can be revoked (its session row is checked on every request).
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { unauthorized } from '../domain/errors.js';
import type { Permission, PortalSession } from '../domain/types.js';
import type { Store } from '../store/store.js';

export type Principal = { kind: 'operator' } | { kind: 'portal'; sessionId: string; appId: string; permissions: Permission[] };

export const ALL_PERMISSIONS: Permission[] = ['view', 'manage', 'secrets'];
const PORTAL_PREFIX = 'appsk_';
const OPERATOR: Principal = Object.freeze({ kind: 'operator' });

function digest(s: string): Buffer {
  return hash('sha256', s, 'buffer');
}

export class Authenticator {
  private readonly operatorDigest: Buffer;
  private readonly masterKeys: () => readonly Buffer[];
  private readonly portalKeys = new Map<Buffer, Buffer>();
  /**
   * The Authorization header each connection last authenticated as the operator with. A keep-alive
   * client sends the same header on every request, so later ones skip the digest. The comparison
   * is still constant-time (timingSafeEqual over the bytes, after a length check): behind a reverse
   * proxy one upstream connection carries many clients' requests, so a plain string comparison
   * against an accepted header could leak it to a client that shares the connection.
   */
  private readonly operatorOn = new WeakMap<object, Buffer>();

  /**
   * `masterKey`: the master key, or the key ring (current first) when it can change while running
   * (a master-key rotation): portal tokens are signed with the current key and accepted under any
   * key of the ring, so tokens issued before a rotation keep working until their key is dropped.
   */
  constructor(
    operatorToken: string,
    masterKey: Buffer | (() => readonly Buffer[]),
    private readonly store: Store,
    private readonly now: () => number,
  ) {
    // Compare digests, so the comparison is constant-time whatever the presented token's length.
    this.operatorDigest = digest(operatorToken);
    this.masterKeys = Buffer.isBuffer(masterKey) ? () => [masterKey] : masterKey;
  }

  private portalKey(masterKey: Buffer): Buffer {
    let k = this.portalKeys.get(masterKey);
    if (!k) {
      k = createHmac('sha256', masterKey).update('herald portal tokens v1').digest();
      if (this.portalKeys.size > 16) this.portalKeys.clear();
      this.portalKeys.set(masterKey, k);
    }
    return k;
  }

  private sign(ksuid: string, masterKey = this.masterKeys()[0]!): string {
    return createHmac('sha256', this.portalKey(masterKey)).update(ksuid).digest('base64url');
  }

  /** The bearer token for a portal session. */
  portalToken(session: PortalSession): string {
    const ksuid = session.id.slice('sess_'.length);
    return `${PORTAL_PREFIX}${ksuid}.${this.sign(ksuid)}`;
  }

  /** Sign a portal link's look (portal-look.ts); `look:` keeps it apart from token signatures. */
  readonly signLook = (data: string): string => this.sign(`look:${data}`);

  /** Whether a look's signature holds under any key of the ring. */
  readonly verifyLook = (data: string, sig: string): boolean => {
    const got = Buffer.from(sig);
    return this.masterKeys().some((key) => {
      const want = Buffer.from(this.sign(`look:${data}`, key));
      return want.length === got.length && timingSafeEqual(want, got);
    });
  };

  /** The session id a portal token names, if its signature holds. */
  sessionIdOf(token: string): string | null {
    if (!token.startsWith(PORTAL_PREFIX)) return null;
    const [ksuid, sig] = token.slice(PORTAL_PREFIX.length).split('.');
    if (!ksuid || !sig || !/^[0-9A-Za-z]{27}$/.test(ksuid)) return null;
    const got = Buffer.from(sig);
    for (const key of this.masterKeys()) {
      const want = Buffer.from(this.sign(ksuid, key));
      if (want.length === got.length && timingSafeEqual(want, got)) return `sess_${ksuid}`;
    }
    return null;
  }

  /** `connection`: the request's socket, for the operator fast path (see operatorOn). */
  async authenticate(authorization: string | undefined, connection?: object): Promise<Principal> {
    if (!authorization) throw unauthorized('Missing bearer token: send `Authorization: Bearer <token>`');
    if (connection) {
      const known = this.operatorOn.get(connection);
      if (known && known.length === authorization.length) {
        const presented = Buffer.from(authorization);
        if (presented.length === known.length && timingSafeEqual(presented, known)) return OPERATOR;
      }
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthorized('Malformed Authorization header: expected `Bearer <token>`');
    const token = m[1]!;
    if (timingSafeEqual(digest(token), this.operatorDigest)) {
      if (connection) this.operatorOn.set(connection, Buffer.from(authorization));
      return OPERATOR;
    }
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
