// Small shared pieces: state badge, relative times, error text, the grouped event picker.
import { useId } from 'react';
import type { Endpoint, EventType } from './api';

export function StateBadge({ endpoint: e }: { endpoint: Endpoint }) {
  if (!e.disabled) return <span className="badge ok">Enabled</span>;
  return (
    <span>
      <span className="badge off">Disabled</span>
      {e.disabledReason && <span className="muted"> {e.disabledReason}</span>}
    </span>
  );
}

export function Ago({ iso }: { iso: string }) {
  const d = new Date(iso);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const text = s < 60 ? `${Math.max(0, s)} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : s < 86400 ? `${Math.floor(s / 3600)} h ago` : d.toLocaleString();
  return <time dateTime={iso} title={d.toLocaleString()}>{text}</time>;
}

export function ErrorText({ error, id }: { error: string | null | undefined; id?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" id={id}>
      {error}
    </p>
  );
}

/** Event types grouped by their groupName, or else the prefix before the first dot. */
export function groupEvents(types: EventType[]): [string, EventType[]][] {
  const groups = new Map<string, EventType[]>();
  for (const t of types) {
    const g = t.groupName || t.name.split('.')[0]!;
    groups.set(g, [...(groups.get(g) ?? []), t]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Checkboxes for the catalog, grouped by prefix; none chosen means every event. */
export function EventPicker({
  types,
  chosen,
  onChange,
  disabled,
  error,
}: {
  types: EventType[];
  chosen: string[];
  onChange(next: string[]): void;
  disabled?: boolean;
  error?: string;
}) {
  const id = useId();
  const toggle = (name: string, on: boolean) => onChange(on ? [...chosen, name] : chosen.filter((n) => n !== name));
  return (
    <fieldset className="events" aria-describedby={`${id}-hint${error ? ` ${id}-err` : ''}`} disabled={disabled}>
      <legend>Events</legend>
      <p className="hint" id={`${id}-hint`}>
        {chosen.length === 0 ? 'No event chosen: this endpoint receives every event.' : `${chosen.length} chosen.`}
      </p>
      {groups(types).map(([group, list]) => (
        <fieldset key={group} className="group">
          <legend>{group}</legend>
          {list.map((t) => (
            <label key={t.name} className="check">
              <input type="checkbox" checked={chosen.includes(t.name)} onChange={(e) => toggle(t.name, e.target.checked)} />
              <span>
                <code>{t.name}</code>
                {t.description && <span className="muted"> — {t.description}</span>}
              </span>
            </label>
          ))}
        </fieldset>
      ))}
      {error && <ErrorText error={error} id={`${id}-err`} />}
    </fieldset>
  );
}

const groups = groupEvents;

/** The first example of an event type's schema, if it has one. */
export function exampleOf(t: EventType | undefined): unknown {
  if (!t?.schemas) return undefined;
  const schema = t.schemas['1'] ?? Object.values(t.schemas)[0];
  return schema?.examples?.[0];
}

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string;
  hint?: string;
  children: (props: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => React.ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': described })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && <ErrorText error={error} id={`${id}-err`} />}
    </div>
  );
}
