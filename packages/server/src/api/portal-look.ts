// How the portal looks for the host product: the operator's portal-access call may pass
// `branding: {displayName, logoUrl, accentColor}` and `locale`. They travel in the portal link's
// query (`/portal/?look=<data>.<signature>`), signed with the portal-token key, so the server
// can allow the logo's origin in the page's Content-Security-Policy before any token is seen,
// and serves no page for a look it did not sign.
import { invalidBody } from '../domain/errors.js';

export const LOCALES = ['en', 'sv'] as const;
export type Locale = (typeof LOCALES)[number];

export interface PortalLook {
  displayName?: string;
  logoUrl?: string;
  accentColor?: string;
  locale?: Locale;
}

const MAX_NAME = 80;
const MAX_LOGO_URL = 2048;

/** The look a portal-access body asks for (null for none); a bad value is a 422 naming the field. */
export function lookOf(branding: unknown, locale: unknown): PortalLook | null {
  const look: PortalLook = {};
  if (branding !== undefined && branding !== null) {
    if (typeof branding !== 'object' || Array.isArray(branding)) throw invalidBody(['branding'], 'must be an object');
    const b = branding as Record<string, unknown>;
    for (const k of Object.keys(b)) {
      if (!['displayName', 'logoUrl', 'accentColor'].includes(k))
        throw invalidBody(['branding', k], 'is not a branding field (displayName, logoUrl, accentColor)');
    }
    if (b.displayName !== undefined && b.displayName !== null) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is to refuse control characters in a display name
      if (typeof b.displayName !== 'string' || !b.displayName.trim() || b.displayName.length > MAX_NAME || /[\u0000-\u001f]/.test(b.displayName)) {
        throw invalidBody(['branding', 'displayName'], `must be text of 1 to ${MAX_NAME} characters`);
      }
      look.displayName = b.displayName.trim();
    }
    if (b.logoUrl !== undefined && b.logoUrl !== null) {
      if (typeof b.logoUrl !== 'string' || b.logoUrl.length > MAX_LOGO_URL || !isImageUrl(b.logoUrl)) {
        throw invalidBody(['branding', 'logoUrl'], 'must be an https:// URL (http:// only on loopback) without credentials');
      }
      look.logoUrl = b.logoUrl;
    }
    if (b.accentColor !== undefined && b.accentColor !== null) {
      if (typeof b.accentColor !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(b.accentColor))
        throw invalidBody(['branding', 'accentColor'], 'must be a colour as #rrggbb');
      look.accentColor = b.accentColor.toLowerCase();
    }
  }
  if (locale !== undefined && locale !== null) {
    if (!LOCALES.includes(locale as Locale)) throw invalidBody(['locale'], `must be one of ${LOCALES.join(', ')}`);
    look.locale = locale as Locale;
  }
  return Object.keys(look).length ? look : null;
}

function isImageUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** The link's `look` parameter: the look as base64url JSON, then its signature. */
export function encodeLook(look: PortalLook, sign: (data: string) => string): string {
  const data = Buffer.from(JSON.stringify(look)).toString('base64url');
  return `${data}.${sign(data)}`;
}

/** The look a `look` parameter carries, if its signature holds and it is still a valid look. */
export function decodeLook(param: string, verify: (data: string, sig: string) => boolean): PortalLook | null {
  const [data, sig, extra] = param.split('.');
  if (!data || !sig || extra !== undefined || !verify(data, sig)) return null;
  try {
    const raw = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as Record<string, unknown>;
    return lookOf({ displayName: raw.displayName, logoUrl: raw.logoUrl, accentColor: raw.accentColor }, raw.locale);
  } catch {
    return null;
  }
}

/** The OpenAPI description of the two fields (Herald extensions of AppPortalAccessIn). */
export function addPortalLookSchema(schemas: Record<string, any>): void {
  schemas.AppPortalAccessIn.properties.branding = {
    type: 'object',
    nullable: true,
    description: 'Herald extension: how the portal presents itself in the host product. The logo is loaded from its own origin, which the portal page allows.',
    properties: {
      displayName: { type: 'string', maxLength: MAX_NAME, nullable: true },
      logoUrl: { type: 'string', format: 'uri', maxLength: MAX_LOGO_URL, nullable: true, description: 'https:// (http:// on loopback only)' },
      accentColor: { type: 'string', pattern: '^#[0-9a-fA-F]{6}$', nullable: true },
    },
  };
  schemas.AppPortalAccessIn.properties.locale = {
    type: 'string',
    enum: [...LOCALES],
    nullable: true,
    description: "Herald extension: the portal's language; when absent, the browser's.",
  };
}
