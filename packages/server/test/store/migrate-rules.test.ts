// The migration ledger's rules, shared by both runners: which Herald may run on a schema, and
// what each applied migration records.
import { describe, expect, it } from 'vitest';
import { ANY_HERALD, compareVersions, planMigrations, recordedMinimum, schemaVerdict, SchemaTooNewError, type Migration } from '../../src/store/migrate.js';

const m = (version: number, breaking = false): Migration => ({ version, name: `m${version}`, sql: '', breaking });

describe('store: migration ledger rules', () => {
  it('orders versions numerically, ignoring a pre-release suffix', () => {
    expect(compareVersions('1.10.0', '1.9.2')).toBeGreaterThan(0);
    expect(compareVersions('0.1.0', '0.1')).toBe(0);
    expect(compareVersions('2.0.0-rc.1', '2.0.0')).toBe(0);
    expect(compareVersions('0.0.9', '0.1.0')).toBeLessThan(0);
  });

  it('a schema runs for any Herald at or above every recorded requirement', () => {
    const rows = [
      { version: 1, minHeraldVersion: null },
      { version: 2, minHeraldVersion: '0.2.0' },
      { version: 3, minHeraldVersion: null },
    ];
    expect(schemaVerdict(rows, 3, '0.2.0')).toEqual({ ok: true });
    expect(schemaVerdict(rows, 2, '0.3.1')).toEqual({ ok: false, dbVersion: 3, requires: null, running: '0.3.1' });
    expect(schemaVerdict(rows, 3, '0.1.9')).toEqual({ ok: false, dbVersion: 3, requires: '0.2.0', running: '0.1.9' });
    // A migration this Herald does not know that recorded its requirement (additive): fine.
    expect(schemaVerdict([...rows.slice(0, 2), { version: 7, minHeraldVersion: '0.2.0' }], 3, '0.2.5')).toEqual({ ok: true });
  });

  it('an additive migration keeps the requirement; a breaking one raises it to the Herald that runs it', () => {
    // Never null: an older Herald would take a null on a migration it does not know for one from
    // before the ledger and stop claiming, halting a rolling upgrade's old workers.
    expect(recordedMinimum(m(4), [], '1.0.0')).toBe(ANY_HERALD);
    expect(
      schemaVerdict(
        [
          { version: 3, minHeraldVersion: null },
          { version: 4, minHeraldVersion: recordedMinimum(m(4), [], '1.0.0') },
        ],
        3,
        '0.1.0',
      ),
    ).toEqual({ ok: true });
    expect(recordedMinimum(m(4), [{ version: 3, minHeraldVersion: '0.5.0' }], '1.0.0')).toBe('0.5.0');
    expect(recordedMinimum(m(4, true), [{ version: 3, minHeraldVersion: '0.5.0' }], '1.0.0')).toBe('1.0.0');
  });

  it('plans the pending migrations, refuses to go on without migrating, and refuses a schema it cannot run on', () => {
    const all = [m(1), m(2), m(3)];
    expect(planMigrations(all, [{ version: 1, minHeraldVersion: null }], true, '1.0.0').map((x) => x.version)).toEqual([2, 3]);
    expect(() => planMigrations(all, [{ version: 1, minHeraldVersion: null }], false, '1.0.0')).toThrow(/needs migrations 2, 3.*herald migrate/);
    expect(() => planMigrations(all, [{ version: 9, minHeraldVersion: '2.0.0' }], true, '1.0.0')).toThrow(SchemaTooNewError);
  });
});
