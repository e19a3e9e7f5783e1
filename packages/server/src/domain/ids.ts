// Ids are a resource prefix plus a 27-character, time-sortable KSUID with millisecond precision,
// the same layout Svix uses so that ids sort by creation time and look alike on the wire:
//   4 bytes  seconds since the KSUID epoch (2014-05-13T16:53:20Z)
//   1 byte   the millisecond fraction scaled to 0..255
//   15 bytes payload, random per millisecond slot and incremented within it, so ids minted by
//            one process are strictly increasing (stable cursors for concurrent inserts).

export const ID_PREFIXES = {
  application: 'app_',
  endpoint: 'ep_',
  message: 'msg_',
  attempt: 'atmpt_',
  eventType: 'evtype_',
  task: 'qtask_',
  session: 'sess_',
  audit: 'audit_',
  destination: 'dest_',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const KSUID_EPOCH_S = 1_400_000_000;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DECODE = new Map<string, bigint>([...ALPHABET].map((c, i) => [c, BigInt(i)]));
const KSUID_LEN = 27;
const PAYLOAD_BITS = 120n;
const PAYLOAD_MASK = (1n << PAYLOAD_BITS) - 1n;

export type RandomSource = (bytes: number) => Uint8Array;

/**
 * Base62 of a 20-byte big-endian value, 27 digits, by long division over five 32-bit limbs. Each
 * step divides `rem * 2^32 + limb` (below 62 * 2^32, well inside a double's exact range), so every
 * intermediate stays a plain number (no BigInt), and a digit costs five divisions instead of twenty.
 */
const limbs = new Float64Array(5);
const ALPHABET_CODES = [...ALPHABET].map((c) => c.charCodeAt(0));
const digits = new Array<number>(KSUID_LEN);
function encodeBytes62(bytes: Uint8Array): string {
  for (let w = 0; w < 5; w++) {
    const i = w * 4;
    limbs[w] = bytes[i]! * 0x1000000 + ((bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  let start = 0;
  for (let d = KSUID_LEN - 1; d >= 0; d--) {
    let rem = 0;
    while (start < 5 && limbs[start] === 0) start++;
    for (let w = start; w < 5; w++) {
      const cur = rem * 0x100000000 + limbs[w]!;
      const q = Math.floor(cur / 62);
      limbs[w] = q;
      rem = cur - q * 62;
    }
    digits[d] = ALPHABET_CODES[rem]!;
  }
  // One flat string from the 27 char codes (measured: about 40% faster than joining 27 strings).
  return String.fromCharCode.apply(null, digits);
}

function encode62(n: bigint): string {
  const bytes = new Uint8Array(20);
  for (let i = 19; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return encodeBytes62(bytes);
}

/** The first and last instants (epoch ms) the id clock can express. */
export const ID_CLOCK_MIN_MS = KSUID_EPOCH_S * 1000;
export const ID_CLOCK_MAX_MS = (KSUID_EPOCH_S + 0xffffffff) * 1000 + 999;

/**
 * The 40-bit time prefix (seconds and the 1/256 s fraction) for an epoch-ms instant. A time filter
 * may name any date: one before the clock's range is clamped to its first slot, one after to its
 * last, so `after` an early date matches every id and `before` it matches none.
 */
function timeSlot(ms: number): bigint {
  if (Number.isNaN(ms)) throw new RangeError('time filter is not a number');
  ms = Math.min(Math.max(ms, ID_CLOCK_MIN_MS), ID_CLOCK_MAX_MS);
  const secs = Math.floor(ms / 1000) - KSUID_EPOCH_S;
  const frac = Math.floor(((ms % 1000) * 256) / 1000);
  return (BigInt(secs) << 8n) | BigInt(frac);
}

export class IdGenerator {
  /** The last id minted, as bytes: 5 bytes of time slot, then 15 bytes of payload. */
  private readonly last = new Uint8Array(20);
  private lastSlot = -1;
  constructor(private readonly random: RandomSource) {}

  /** A new id of the given kind, minted at `nowMs`. */
  next(kind: IdKind, nowMs: number): string {
    return ID_PREFIXES[kind] + this.ksuid(nowMs);
  }

  ksuid(nowMs: number): string {
    const secs = Math.floor(nowMs / 1000) - KSUID_EPOCH_S;
    if (secs < 0 || secs > 0xffffffff) throw new RangeError(`time out of KSUID range: ${nowMs}`);
    const slot = secs * 256 + Math.floor(((nowMs % 1000) * 256) / 1000);
    const b = this.last;
    if (slot > this.lastSlot) {
      this.setSlot(slot);
      this.freshPayload();
    } else if (!this.incrementPayload()) {
      // Same (or, if the clock stepped back, an earlier) slot: keep increasing within the last
      // one, and move to the next slot in the unlikely event its payload space runs out.
      this.setSlot(this.lastSlot + 1);
      this.freshPayload();
    }
    return encodeBytes62(b);
  }

  private setSlot(slot: number): void {
    this.lastSlot = slot;
    const secs = Math.floor(slot / 256);
    const b = this.last;
    b[0] = secs >>> 24;
    b[1] = (secs >>> 16) & 0xff;
    b[2] = (secs >>> 8) & 0xff;
    b[3] = secs & 0xff;
    b[4] = slot & 0xff;
  }

  /** Random payload with the top bit clear, leaving headroom for increments within a slot. */
  private freshPayload(): void {
    this.last.set(this.random(15), 5);
    this.last[5]! &= 0x7f;
  }

  private incrementPayload(): boolean {
    const b = this.last;
    for (let i = 19; i >= 5; i--) {
      if (b[i] !== 0xff) {
        b[i]!++;
        return true;
      }
      b[i] = 0;
    }
    return false;
  }
}

/** The smallest id of `kind` that could have been minted at `ms` (for time filters). */
export function startIdFor(kind: IdKind, ms: number): string {
  return ID_PREFIXES[kind] + encode62(timeSlot(ms) << PAYLOAD_BITS);
}

/** The largest id of `kind` that could have been minted at `ms`. */
export function endIdFor(kind: IdKind, ms: number): string {
  return ID_PREFIXES[kind] + encode62((timeSlot(ms) << PAYLOAD_BITS) | PAYLOAD_MASK);
}

/** Whether `s` is shaped like an id of `kind` (prefix plus 27 base62 characters). */
export function isIdOf(kind: IdKind, s: string): boolean {
  const p = ID_PREFIXES[kind];
  if (!s.startsWith(p) || s.length !== p.length + KSUID_LEN) return false;
  for (let i = p.length; i < s.length; i++) if (!DECODE.has(s[i]!)) return false;
  return true;
}

/** The creation instant (epoch ms, 4 ms resolution) encoded in an id of `kind`, or null. */
export function idTimeMs(kind: IdKind, id: string): number | null {
  if (!isIdOf(kind, id)) return null;
  let n = 0n;
  for (const c of id.slice(ID_PREFIXES[kind].length)) n = n * 62n + DECODE.get(c)!;
  const slot = n >> PAYLOAD_BITS;
  const secs = Number(slot >> 8n) + KSUID_EPOCH_S;
  const frac = Number(slot & 0xffn);
  return secs * 1000 + Math.floor((frac * 1000) / 256);
}
