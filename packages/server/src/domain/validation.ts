// Rules the contract's JSON Schemas cannot say.

import { invalidBody, ValidationError } from './errors.js';
import { ID_PREFIXES, type IdKind } from './ids.js';

/** A uid may not start with the prefix of its kind's ids, so that id and uid look-ups never collide. */
export function checkUid(kind: IdKind, uid: string | null | undefined, field: (string | number)[] = ['uid']): void {
  if (uid?.startsWith(ID_PREFIXES[kind])) {
    throw invalidBody(field, `uid must not start with '${ID_PREFIXES[kind]}'`);
  }
}

const METADATA_MAX_BYTES = 4096;
export function checkMetadata(metadata: Record<string, string> | undefined, field = 'metadata'): void {
  if (!metadata) return;
  if (new TextEncoder().encode(JSON.stringify(metadata)).length > METADATA_MAX_BYTES) {
    throw invalidBody([field], `metadata must be at most ${METADATA_MAX_BYTES} bytes when serialized`);
  }
}

/** Endpoint URLs must be absolute http(s) URLs with a host. */
export function checkEndpointUrl(url: string, field: (string | number)[] = ['url']): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidBody(field, `'${truncate(url)}' is not a valid URL`, 'value_error.url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw invalidBody(field, `URL scheme must be http or https, not '${u.protocol.slice(0, -1)}'`, 'value_error.url.scheme');
  }
  if (!u.hostname) throw invalidBody(field, 'URL must have a host', 'value_error.url.host');
  if (u.username || u.password) throw invalidBody(field, 'URL must not contain credentials', 'value_error.url');
  return url;
}

// Custom endpoint headers: the same limits Svix applies, so a tenant can never override the
// signature, content or hop-by-hop headers that Herald itself sets.
const FORBIDDEN_HEADERS = new Set([
  'user-agent',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'age',
  'cache-control',
  'clear-site-data',
  'expires',
  'pragma',
  'warning',
  'content-length',
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
  'host',
  'connection',
]);
const FORBIDDEN_PREFIXES = ['x-amz-', 'x-amzn-', 'x-google', 'x-goog-', 'x-gfe', 'x-azure-', 'x-fd-', 'x-svix-', 'svix-', 'webhook-', 'x-herald-'];
export const SENSITIVE_HEADERS = new Set([
  'x-auth-token',
  'x-api-key',
  'www-authenticate',
  'authorization',
  'proxy-authenticate',
  'proxy-authorization',
  'cookie',
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_MAX = 4096;
/** What the HTTP client (undici, like Node's http) sends as a header value: tab, 0x20-0x7E, 0x80-0xFF. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function checkHeaders(headers: Record<string, string | null>, field = 'headers'): void {
  const issues = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const loc = ['body', field, name];
    if (!HEADER_NAME.test(name)) issues.push({ loc, msg: `'${truncate(name)}' is not a valid header name`, type: 'value_error' });
    else if (FORBIDDEN_HEADERS.has(lower) || FORBIDDEN_PREFIXES.some((p) => lower.startsWith(p)))
      issues.push({ loc, msg: `the header '${name}' is reserved and cannot be set`, type: 'value_error' });
    if (value === null) continue;
    if (!HEADER_VALUE.test(value)) {
      issues.push({
        loc,
        msg: 'header values may hold only tab, visible ASCII, space and Latin-1 text (no control characters such as CR, LF, NUL or DEL)',
        type: 'value_error',
      });
    } else if (new TextEncoder().encode(value).length > HEADER_VALUE_MAX)
      issues.push({ loc, msg: `header values must be at most ${HEADER_VALUE_MAX} bytes`, type: 'value_error' });
  }
  if (issues.length) throw new ValidationError(issues);
}

export function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * How deeply a request body's JSON may nest: serde_json's default recursion limit, so a body Svix
 * accepts Herald accepts too. Deeper bodies parse (V8's JSON.parse does not recurse) but would
 * overflow the stack wherever they are serialised or walked again, so they are refused up front.
 */
export const MAX_JSON_DEPTH = 128;

/** A 422 if `value` (parsed JSON) nests objects and arrays more than `max` deep. Iterative. */
export function checkJsonDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  if (value === null || typeof value !== 'object') return;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) throw invalidBody([], `JSON nested deeper than ${max} levels`, 'value_error.json_depth');
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}
