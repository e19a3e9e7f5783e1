// engage/catalog: installs the 11 Engage event types (ENGAGE_CATALOG) as Herald event types. Used
// by POST /api/v1/engage/catalog/install and `herald install-engage-catalog`, so both behave the
// same: idempotent, a second run changes nothing and says so.
import { ENGAGE_CATALOG } from '@herald/engage';
import type { EventType } from '../domain/types.js';
import type { Store } from '../store/store.js';

export interface CatalogInstallResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/** The fields the catalog owns; anything else (createdAt) is the installation's. */
function sameAsCatalog(et: EventType, want: EventType): boolean {
  return (
    et.description === want.description &&
    et.archived === want.archived &&
    et.deprecated === want.deprecated &&
    et.featureFlag === want.featureFlag &&
    et.groupName === want.groupName &&
    JSON.stringify(et.schemas) === JSON.stringify(want.schemas)
  );
}

/**
 * Create the missing Engage event types and bring changed ones back to the catalog (an operator's
 * edit of an Engage type, or an archived one, is reset: the catalog is the source of truth for
 * these names). Event types are global to the installation, as in Svix, so one install serves
 * every tenant. Each type is its own write: a run cut short is finished by the next one.
 */
export async function installEngageCatalog(store: Store, now: number): Promise<CatalogInstallResult> {
  const result: CatalogInstallResult = { created: [], updated: [], unchanged: [] };
  for (const entry of ENGAGE_CATALOG) {
    const prior = await store.getEventType(entry.name);
    const want: EventType = {
      name: entry.name,
      description: entry.description,
      archived: false,
      deprecated: false,
      // The catalog is deeply frozen; the store gets a plain copy.
      schemas: JSON.parse(JSON.stringify(entry.schemas)) as Record<string, unknown>,
      featureFlag: null,
      groupName: entry.groupName,
      // The installation's choice, not the catalog's: a re-install keeps it.
      schemaEnforcement: prior?.schemaEnforcement ?? 'off',
      createdAt: prior?.createdAt ?? now,
      updatedAt: now,
    };
    if (prior && sameAsCatalog(prior, want)) {
      result.unchanged.push(entry.name);
      continue;
    }
    await store.putEventType(want);
    (prior ? result.updated : result.created).push(entry.name);
  }
  return result;
}
