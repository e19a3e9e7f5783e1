// The errors both stores raise for the same reasons, with the same texts: the API answers them
// byte for byte alike whichever backend holds the data.
import { MODULE_DISABLED_DETAIL } from '../../domain/errors.js';
import { StoreConflictError, StorePreconditionError } from '../errors.js';

/** What a unique violation on a table's id or uid means to the caller. */
export const TAKEN = {
  application: 'An application with that id or uid already exists',
  endpoint: 'An endpoint with that id or uid already exists',
  message: 'A message with that eventId already exists in this application',
  destination: 'A destination with that id or uid already exists',
} as const;

/** A write whose uid or id (or eventId) another row already has. */
export const taken = (what: keyof typeof TAKEN): StoreConflictError => new StoreConflictError(TAKEN[what]);

/** An update that found its row deleted by a concurrent request. */
export const deletedConcurrently = (what: 'application' | 'endpoint' | 'destination'): StoreConflictError =>
  new StoreConflictError(`The ${what} was deleted concurrently`);

/** The Engage precondition checked inside the commit: the tenant's webhooks module is off. */
export const moduleDisabled = (): StorePreconditionError => new StorePreconditionError('module_disabled', MODULE_DISABLED_DETAIL);
