// The one place a driver error becomes a store error, for either backend: the API asks here before
// it would answer 500, so a full disk or a database outage gets an honest answer (store/errors.ts).
import { StoreError } from './errors.js';
import { classifyPgError } from './postgres/driver-errors.js';
import { classifySqliteError } from './sqlite/driver-errors.js';

export type StoreErrorClassifier = (err: unknown) => StoreError | null;

/** The classifier for a store of `kind`: the store error `err` is (or means), or null. */
export function storeErrorClassifier(kind: 'sqlite' | 'postgres'): StoreErrorClassifier {
  const driver = kind === 'postgres' ? classifyPgError : classifySqliteError;
  return (err) => (err instanceof StoreError ? err : driver(err));
}
