/** Header access that works the same on a plain object, node's IncomingHttpHeaders and a fetch Headers. */

export interface HeadersGetter {
  get(name: string): string | null;
}

export type HeaderValue = string | readonly string[] | number | undefined;

/** A plain object (any key case), node IncomingHttpHeaders, or a fetch `Headers` instance. */
export type HeadersLike = HeadersGetter | { readonly [name: string]: HeaderValue };

function isGetter(headers: HeadersLike): headers is HeadersGetter {
  return typeof (headers as HeadersGetter).get === 'function';
}

/** Case-insensitive lookup; `name` must be lower case. Repeated headers are joined with ", " as HTTP does. */
export function getHeader(headers: HeadersLike, name: string): string | undefined {
  if (isGetter(headers)) return headers.get(name) ?? undefined;
  // Node lower-cases names already: try the fast path before scanning.
  let value: HeaderValue = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.length === name.length && key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.join(', ');
}
