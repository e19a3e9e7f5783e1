// What an attempt records of the request it sent: the headers, so a tenant can see beside the
// response exactly what the receiver got (the body is the message's payload, kept with the message).
// Custom endpoint headers and any Authorization carry credentials as often as not, so only their
// names are kept; Herald's own headers (signature, id, timestamp, content type, user agent, trace
// context, herald-*) are kept as sent.

/** What replaces the value of a header that may be a credential. */
export const HEADER_MASK = '••••';

/**
 * The headers of a request as an attempt records them, as JSON object text (stored as is, one
 * column). `signingPrefixes` are the signature header families sent (`webhook`, `svix`).
 */
export function recordedRequestHeaders(sent: Readonly<Record<string, string>>, signingPrefixes: readonly string[]): string {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(sent)) out[name] = isHeraldHeader(name.toLowerCase(), signingPrefixes) ? value : HEADER_MASK;
  return JSON.stringify(out);
}

/** The signature headers (`<prefix>-id`, `-timestamp`, `-signature`) of a prefix list, built once per list: this runs for every attempt. */
const signatureNames = new WeakMap<readonly string[], ReadonlySet<string>>();

function isHeraldHeader(name: string, prefixes: readonly string[]): boolean {
  if (name === 'content-type' || name === 'user-agent' || name === 'traceparent' || name.startsWith('herald-')) return true;
  let names = signatureNames.get(prefixes);
  if (!names) signatureNames.set(prefixes, (names = new Set(prefixes.flatMap((p) => [`${p}-id`, `${p}-timestamp`, `${p}-signature`]))));
  return names.has(name);
}
