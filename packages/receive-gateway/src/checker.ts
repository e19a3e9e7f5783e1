/** Checks configuration values, collecting every problem instead of stopping at the first. */

export type Json = unknown;

/** Collects problems instead of stopping at the first, so one run shows everything to fix. */
export class Checker {
  readonly problems: string[] = [];
  fail(setting: string, message: string): undefined {
    this.problems.push(`${setting}: ${message}`);
    return undefined;
  }
  string(setting: string, value: Json, opts: { optional?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    if (value === undefined && opts.optional) return undefined;
    if (typeof value !== 'string') return this.fail(setting, `must be a string${opts.optional ? ' or absent' : ''}`);
    if (opts.nonEmpty && value.trim() === '') return this.fail(setting, 'must not be empty');
    return value;
  }
  int(setting: string, value: Json, min: number, max: number, fallback?: number): number | undefined {
    if (value === undefined && fallback !== undefined) return fallback;
    const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      return this.fail(setting, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  }
  stringList(setting: string, value: Json, opts: { nonEmpty?: boolean } = {}): string[] | undefined {
    // Environment variables give lists as comma- or space-separated text.
    const list = typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.trim() !== '')) {
      return this.fail(setting, 'must be a list of non-empty strings');
    }
    if (opts.nonEmpty && list.length === 0) return this.fail(setting, 'must list at least one entry');
    return list.map((s: string) => s.trim());
  }
  object(setting: string, value: Json): Record<string, Json> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.fail(setting, 'must be an object');
    return value as Record<string, Json>;
  }
  url(setting: string, value: Json, protocols: string[]): string | undefined {
    const text = this.string(setting, value, { nonEmpty: true });
    if (text === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return this.fail(setting, `must be a URL (${protocols.join(' or ')}), got ${JSON.stringify(text)}`);
    }
    if (!protocols.includes(parsed.protocol)) {
      return this.fail(setting, `must be a ${protocols.join(' or ')} URL, got ${JSON.stringify(parsed.protocol)}`);
    }
    return text;
  }
  unknownKeys(setting: string, object: Record<string, Json>, known: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) this.fail(`${setting}${setting ? '.' : ''}${key}`, `unknown setting; allowed: ${known.join(', ')}`);
    }
  }
}
