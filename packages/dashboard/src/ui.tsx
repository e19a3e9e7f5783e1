// Small shared pieces: state badge, relative times, error text, the grouped event picker.
import { useId, useState } from 'react';
import type { Endpoint, EndpointHealth, EventType } from './api';
import { t } from './i18n';

export function StateBadge({ endpoint: e }: { endpoint: Endpoint }) {
  if (!e.disabled) return <span className="badge ok">{t('enabled')}</span>;
  return (
    <span>
      <span className="badge off">{t('disabled')}</span>
      {e.disabledReason && <span className="muted"> {e.disabledReason}</span>}
    </span>
  );
}

/** An endpoint's circuit when it is not closed: its deliveries are held until a probe succeeds. */
export function CircuitBadge({ health }: { health: EndpointHealth | null | undefined }) {
  if (!health || health.circuit === 'closed') return null;
  return (
    <span data-testid="circuit">
      {' '}
      <span className="badge warn">{health.circuit === 'open' ? t('circuitOpen') : t('circuitHalfOpen')}</span>
      <span className="muted">
        {' '}
        {t('circuitFailures', { n: health.consecutiveFailures })}
        {health.nextProbeAt && (
          <>
            {'; '}
            {t('circuitNextProbe')} <Ago iso={health.nextProbeAt} />
          </>
        )}
      </span>
    </span>
  );
}

export function Ago({ iso }: { iso: string }) {
  const d = new Date(iso);
  const diff = Math.round((Date.now() - d.getTime()) / 1000);
  const s = Math.abs(diff);
  const span =
    s < 60
      ? t('secondsSpan', { n: s })
      : s < 3600
        ? t('minutesSpan', { n: Math.floor(s / 60) })
        : s < 86400
          ? t('hoursSpan', { n: Math.floor(s / 3600) })
          : null;
  // A time in the future (a retry's next attempt) reads "in …"; clock skew of a few seconds reads "0 s ago".
  const text = span === null ? d.toLocaleString() : diff < -5 ? t('inFuture', { span }) : t('ago', { span: diff < 0 ? t('secondsSpan', { n: 0 }) : span });
  return (
    <time dateTime={iso} title={d.toLocaleString()}>
      {text}
    </time>
  );
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
  for (const et of types) {
    const g = et.groupName || et.name.split('.')[0]!;
    groups.set(g, [...(groups.get(g) ?? []), et]);
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
      <legend>{t('events')}</legend>
      <p className="hint" id={`${id}-hint`}>
        {chosen.length === 0 ? t('noEventChosen') : t('nChosen', { n: chosen.length })}
      </p>
      {groups(types).map(([group, list]) => {
        const names = list.map((et) => et.name);
        const all = names.every((n) => chosen.includes(n));
        return (
          <fieldset key={group} className="group">
            <legend>{group}</legend>
            {!disabled && list.length > 1 && (
              <button
                type="button"
                className="small"
                onClick={() => onChange(all ? chosen.filter((n) => !names.includes(n)) : [...chosen, ...names.filter((n) => !chosen.includes(n))])}
              >
                {all ? t('clearGroup', { group }) : t('selectGroup', { group })}
              </button>
            )}
            {list.map((et) => (
              <label key={et.name} className="check">
                <input type="checkbox" checked={chosen.includes(et.name)} onChange={(e) => toggle(et.name, e.target.checked)} />
                <span>
                  <code>{et.name}</code>
                  {et.description && <span className="muted"> — {et.description}</span>}
                </span>
              </label>
            ))}
          </fieldset>
        );
      })}
      {error && <ErrorText error={error} id={`${id}-err`} />}
    </fieldset>
  );
}

const groups = groupEvents;

/** The first example of an event type's schema, if it has one. */
export function exampleOf(et: EventType | undefined): unknown {
  if (!et?.schemas) return undefined;
  const schema = et.schemas['1'] ?? Object.values(et.schemas)[0];
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

/** Copies `text` to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      setDone('failed');
    }
  }
  return (
    <>
      <button type="button" className="small" onClick={copy}>
        {label}
      </button>
      <span role="status" className="muted">
        {done === 'copied' ? ` ${t('copied')}` : done === 'failed' ? ` ${t('copyFailed')}` : ''}
      </span>
    </>
  );
}
