// Transformations: an endpoint may carry JavaScript that rewrites each delivery before it is signed,
// as Svix's hosted transformations do. The code declares `function handler(webhook)`; it receives
//
//   {method: "POST", url, eventType, payload, headers}
//
// (`payload` the message's payload as JSON, `headers` the endpoint's custom headers) and returns
// the webhook, changed: another `payload` (sent as its JSON text, and signed as such), another
// `url` (checked like an endpoint URL, then by the SSRF guard when it is sent), other `headers`
// (they replace the custom headers; Herald's own still win), `method` "POST" or "PUT", or
// `cancel: true` to send nothing (the delivery ends canceled). The code runs in a sandbox
// (transform/), never in Node itself. The rules about what comes back are here, once.
import { ValidationError } from './errors.js';
import { checkEndpointUrl, checkHeaders, truncate } from './validation.js';

/** An endpoint's transformation as stored: the code (null when none) and whether it runs. */
export interface EndpointTransformation {
  code: string | null;
  enabled: boolean;
  /** When the code or switch last changed (epoch ms). */
  updatedAt: number;
}

/** The largest code accepted, in UTF-8 bytes. */
export const TRANSFORMATION_MAX_BYTES = 64 * 1024;
/** The CPU time and memory one run may use. */
export const TRANSFORMATION_CPU_MS = 50;
export const TRANSFORMATION_MEMORY_BYTES = 16 * 1024 * 1024;
/** The largest body a transformation may make: as large as an accepted payload may be. */
export const TRANSFORMED_BODY_MAX_BYTES = 2 * 1024 * 1024;

export type TransformMethod = 'POST' | 'PUT';

/** What the handler receives. */
export interface WebhookInput {
  method: TransformMethod;
  url: string;
  eventType: string;
  payload: unknown;
  headers: Record<string, string>;
}

/** What a delivery becomes after its transformation. */
export type Transformed =
  | { kind: 'send'; method: TransformMethod; url: string; body: string; headers: Record<string, string> }
  | { kind: 'cancel' }
  | { kind: 'invalid'; error: string };

/** The PATCH body (`{code?, enabled?}`, Svix's shape) applied to what is stored; 422 naming the field. */
export function patchTransformation(current: EndpointTransformation | null, body: { code?: unknown; enabled?: unknown }, now: number): EndpointTransformation {
  let code = current?.code ?? null;
  let enabled = current?.enabled ?? false;
  if (body.code !== undefined) {
    if (body.code !== null && typeof body.code !== 'string') throw invalidField('code', 'must be a string or null');
    if (typeof body.code === 'string') {
      if (body.code.trim() === '') throw invalidField('code', 'must not be empty (null removes the code)');
      if (new TextEncoder().encode(body.code).length > TRANSFORMATION_MAX_BYTES)
        throw invalidField('code', `must be at most ${TRANSFORMATION_MAX_BYTES} bytes of UTF-8`);
    }
    code = body.code;
  }
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw invalidField('enabled', 'must be a boolean');
    enabled = body.enabled;
  }
  // Without code there is nothing to run: enabling it alone is a mistake worth naming.
  if (enabled && code === null) throw invalidField('enabled', 'cannot be true without code');
  return { code, enabled, updatedAt: now };
}

function invalidField(field: string, msg: string): ValidationError {
  return new ValidationError([{ loc: ['body', field], msg, type: 'value_error' }]);
}

/** Whether deliveries to an endpoint go through its transformation. */
export function transformationOf(t: EndpointTransformation | null | undefined): string | null {
  return t?.enabled && t.code ? t.code : null;
}

/** The webhook object a handler receives for a delivery. */
export function webhookInput(url: string, eventType: string, payloadText: string, headers: Record<string, string>): WebhookInput {
  return { method: 'POST', url, eventType, payload: JSON.parse(payloadText), headers: { ...headers } };
}

/**
 * What the handler returned (its JSON text, or undefined when it returned nothing JSON can hold),
 * as the delivery to make: sent changed, canceled, or invalid with the reason.
 */
export function transformed(outputText: string | undefined, input: WebhookInput): Transformed {
  let out: unknown;
  try {
    out = outputText === undefined ? undefined : JSON.parse(outputText);
  } catch {
    return { kind: 'invalid', error: 'the handler returned something that is not JSON' };
  }
  if (out === null || typeof out !== 'object' || Array.isArray(out)) return { kind: 'invalid', error: 'the handler must return the webhook object' };
  const w = out as Record<string, unknown>;
  if (w.cancel !== undefined && typeof w.cancel !== 'boolean') return { kind: 'invalid', error: '`cancel` must be a boolean' };
  if (w.cancel === true) return { kind: 'cancel' };
  const method = w.method ?? input.method;
  if (method !== 'POST' && method !== 'PUT') return { kind: 'invalid', error: '`method` must be "POST" or "PUT"' };
  const url = w.url ?? input.url;
  if (typeof url !== 'string') return { kind: 'invalid', error: '`url` must be a string' };
  const headers = w.headers ?? input.headers;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return { kind: 'invalid', error: '`headers` must be an object' };
  for (const v of Object.values(headers)) if (typeof v !== 'string') return { kind: 'invalid', error: '`headers` values must be strings' };
  try {
    checkEndpointUrl(url);
    checkHeaders(headers as Record<string, string>);
  } catch (e) {
    const issues = e instanceof ValidationError ? e.issues : [];
    return { kind: 'invalid', error: issues.map((i) => `${i.loc.slice(1).join('.')}: ${i.msg}`).join('; ') || String(e) };
  }
  // An absent payload keeps the message's; anything else is sent as its JSON text.
  const body = JSON.stringify(w.payload === undefined ? input.payload : w.payload);
  // A UTF-16 unit is at most 3 bytes of UTF-8: most bodies need no counting.
  const bytes = body.length * 3 <= TRANSFORMED_BODY_MAX_BYTES ? 0 : new TextEncoder().encode(body).length;
  if (bytes > TRANSFORMED_BODY_MAX_BYTES) return { kind: 'invalid', error: `the payload is ${bytes} bytes; at most ${TRANSFORMED_BODY_MAX_BYTES} are sent` };
  return { kind: 'send', method, url, body, headers: headers as Record<string, string> };
}

/** The attempt's response text for a delivery its transformation canceled. */
export const CANCELED_BY_TRANSFORMATION = 'Canceled by the endpoint’s transformation';

/** The attempt's response text for a transformation that failed: the error, whole words, bounded. */
export function transformationFailure(error: string): string {
  return `Transformation failed: ${truncate(error, 2000)}`;
}
