// What little differs between the two SQL dialects in the queries both stores share: how a
// parameter is written, how a column is tested against a list, and how a JSON array is searched.
// Everything else in those queries (common/lists.ts) is one text for both.

export type DialectName = 'sqlite' | 'postgres';

/**
 * Parameters collected alongside the SQL that names them. SQLite's are positional (`?`), so a
 * query must ask for its placeholders in the order they appear in its text; PostgreSQL's are
 * numbered (`$n`).
 */
export class Params {
  readonly values: unknown[];
  constructor(
    readonly dialect: DialectName,
    ...initial: unknown[]
  ) {
    this.values = initial;
  }

  /** Add a value; returns its placeholder. */
  p(v: unknown): string {
    this.values.push(v);
    return this.dialect === 'sqlite' ? '?' : `$${this.values.length}`;
  }

  /** The placeholder of the n-th value given to the constructor (1-based). */
  initial(n: number): string {
    return this.dialect === 'sqlite' ? '?' : `$${n}`;
  }

  /** `col` is one of `values` (non-empty). */
  oneOf(col: string, values: readonly string[]): string {
    if (this.dialect === 'sqlite') return `${col} IN (${values.map((v) => this.p(v)).join(',')})`;
    return `${col} = ANY(${this.p(values)}::text[])`;
  }

  /** The JSON array in `col` holds the string `value`. */
  jsonHas(col: string, value: string): string {
    if (this.dialect === 'sqlite') return `EXISTS (SELECT 1 FROM json_each(${col}) WHERE value = ${this.p(value)})`;
    return `${col} ? ${this.p(value)}`;
  }
}

/** A query ready to run: its text and its values. */
export interface Query {
  sql: string;
  values: unknown[];
}
