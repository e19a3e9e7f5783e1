// The exact text of a top-level member of a JSON object, as the client sent it. Messages keep
// their payload byte for byte (as Svix does): re-serialising a parsed payload would round large
// integers to doubles and change the bytes receivers verify signatures over.

/** Index just past the JSON string starting at `i` (which must be a quote). */
function skipString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return i;
}

const WS = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the JSON value starting at `i` (after leading whitespace). */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return skipString(s, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d === 0x22) {
        i = skipString(s, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // A number, true, false or null: up to the next delimiter.
  while (i < s.length) {
    const d = s.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || WS(d)) break;
    i++;
  }
  return i;
}

/**
 * The raw text of member `key` of the top-level object in `json` (already known to be valid
 * JSON), or undefined. With duplicate keys the last wins, as in JSON.parse.
 */
export function rawMember(json: string, key: string): string | undefined {
  let i = 0;
  while (i < json.length && WS(json.charCodeAt(i))) i++;
  if (json.charCodeAt(i) !== 0x7b) return undefined;
  i++;
  let found: string | undefined;
  // The next backslash at or after i (-1: none): a key with none in it is its text as it stands,
  // compared in place, without a JSON.parse and a slice per member.
  let esc = json.indexOf('\\');
  while (i < json.length) {
    while (i < json.length && (WS(json.charCodeAt(i)) || json.charCodeAt(i) === 0x2c)) i++;
    if (json.charCodeAt(i) !== 0x22) break;
    const keyEnd = skipString(json, i);
    if (esc !== -1 && esc < i) esc = json.indexOf('\\', i);
    const isKey = esc !== -1 && esc < keyEnd ? JSON.parse(json.slice(i, keyEnd)) === key : keyEnd - i - 2 === key.length && json.startsWith(key, i + 1);
    i = keyEnd;
    while (i < json.length && (WS(json.charCodeAt(i)) || json.charCodeAt(i) === 0x3a)) i++;
    const end = skipValue(json, i);
    if (isKey) found = json.slice(i, end);
    i = end;
  }
  return found;
}
