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
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const KSUID_EPOCH_S = 1_400_000_000;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DECODE = new Map<string, bigint>([...ALPHABET].map((c, i) => [c, BigInt(i)]));
const KSUID_LEN = 27;
const PAYLOAD_BITS = 120n;
const PAYLOAD_MASK = (1n << PAYLOAD_BITS) - 1n;

export type RandomSource = (bytes: number) => Uint8Array;

function encode62(n: bigint): string {
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(KSUID_LEN, '0');
}

function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** The 40-bit time prefix (seconds and the 1/256 s fraction) for an epoch-ms instant. */
function timeSlot(ms: number): bigint {
  const secs = Math.floor(ms / 1000) - KSUID_EPOCH_S;
  if (secs < 0 || secs > 0xffffffff) throw new RangeError(`time out of KSUID range: ${ms}`);
  const frac = Math.floor(((ms % 1000) * 256) / 1000);
  return (BigInt(secs) << 8n) | BigInt(frac);
}

export class IdGenerator {
  private lastSlot = -1n;
  private lastPayload = 0n;
  constructor(private readonly random: RandomSource) {}

  /** A new id of the given kind, minted at `nowMs`. */
  next(kind: IdKind, nowMs: number): string {
    return ID_PREFIXES[kind] + this.ksuid(nowMs);
  }

  ksuid(nowMs: number): string {
    let slot = timeSlot(nowMs);
    let payload: bigint;
    if (slot <= this.lastSlot) {
      // Same (or an earlier, if the clock stepped back) slot: keep increasing within the last one.
      slot = this.lastSlot;
      payload = this.lastPayload + 1n;
      if (payload > PAYLOAD_MASK) {
        slot += 1n;
        payload = bytesToBigInt(this.random(15)) >> 1n;
      }
    } else {
      // Leave headroom so increments within one slot never overflow in practice.
      payload = bytesToBigInt(this.random(15)) >> 1n;
    }
    this.lastSlot = slot;
    this.lastPayload = payload;
    return encode62((slot << PAYLOAD_BITS) | payload);
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
