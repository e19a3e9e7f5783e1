// The endpoint's editable parts: URL and description, events and rate limit, custom headers and
// the signing secret. Each form keeps its draft through refreshes of the endpoint (useDraft).
import { useState, type FormEvent } from 'react';
import { ApiError, filterOf, listAll, throttleOf, type Endpoint, type EventType } from '../api';
import { useDraft, useLoad, usePortal } from '../hooks';
import { CopyButton, ErrorText, EventPicker, Field } from '../ui';
import { t, type Key } from '../i18n';

type Patch = (b: Record<string, unknown>) => Promise<void>;

/** Says that the endpoint changed elsewhere while this form holds unsaved edits. */
function Stale({ on, discard }: { on: boolean; discard(): void }) {
  if (!on) return null;
  return (
    <p className="hint" role="status">
      {t('stale')}{' '}
      <button type="button" className="small" onClick={discard}>
        {t('discard')}
      </button>
    </p>
  );
}

/** URL and description: moving a receiver keeps its secret and its log. */
export function Details({ e, patch }: { e: Endpoint; patch: Patch }) {
  const { can } = usePortal();
  const draft = useDraft({ url: e.url, description: e.description });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const manage = can('manage');

  async function save(ev: FormEvent) {
    ev.preventDefault();
    setSaved(false);
    const url = draft.value.url.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) return setErrors({ url: t('enterUrl') });
    setErrors({});
    try {
      await patch({ url, description: draft.value.description });
      draft.saved();
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError) setErrors(Object.keys(err.fields).length ? err.fields : { form: err.message });
    }
  }

  return (
    <form className="card" onSubmit={save} noValidate>
      <h2>{t('urlAndDescription')}</h2>
      <Field label={t('endpointUrl')} error={errors.url}>
        {(p) => (
          <input
            {...p}
            type="url"
            name="url"
            value={draft.value.url}
            disabled={!manage}
            onChange={(ev) => {
              setSaved(false);
              draft.set({ ...draft.value, url: ev.target.value });
            }}
          />
        )}
      </Field>
      <Field label={t('description')} error={errors.description}>
        {(p) => (
          <input
            {...p}
            name="description"
            value={draft.value.description}
            disabled={!manage}
            onChange={(ev) => {
              setSaved(false);
              draft.set({ ...draft.value, description: ev.target.value });
            }}
          />
        )}
      </Field>
      <Stale on={draft.stale} discard={draft.discard} />
      <ErrorText error={errors.form} />
      {manage && (
        <div className="actions">
          <button type="submit" className="primary">
            {t('saveUrl')}
          </button>
          {saved && <span role="status">{t('saved')}</span>}
        </div>
      )}
    </form>
  );
}

export function SigningSecret({ base }: { base: string }) {
  const { api, can } = usePortal();
  const [secret, setSecret] = useState<string | null>(null);
  const [grace, setGrace] = useState('86400');
  const [msg, setMsg] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function reveal() {
    setError(null);
    try {
      setSecret((await api.get<{ key: string }>(`${base}/secret`)).key);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  async function rotate() {
    const question = grace === '0' ? t('confirmRotateNow') : t('confirmRotateGrace', { grace: t(`grace${grace}` as Key) });
    if (!window.confirm(question)) return;
    setError(null);
    setMsg(null);
    try {
      await api.call('POST', `${base}/secret/rotate`, { gracePeriodSeconds: Number(grace) });
      setSecret(null);
      setMsg(Number(grace) > 0 ? t('rotatedGrace') : t('rotatedNow'));
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div className="card">
      <h2>{t('signingSecret')}</h2>
      {!can('secrets') ? (
        <p className="muted">{t('cannotSecret')}</p>
      ) : (
        <>
          <p>
            <code className="secret" aria-live="polite" data-testid="secret">
              {secret ?? '••••••••••••••••••••••••'}
            </code>
          </p>
          <div className="actions">
            {secret ? (
              <>
                <button type="button" onClick={() => setSecret(null)}>
                  {t('hide')}
                </button>
                <CopyButton text={secret} label={t('copySecret')} />
              </>
            ) : (
              <button type="button" onClick={reveal}>
                {t('revealSecret')}
              </button>
            )}
          </div>
          <div className="inline">
            <label htmlFor="grace">{t('gracePeriod')}</label>
            <select id="grace" value={grace} onChange={(e) => setGrace(e.target.value)}>
              <option value="0">{t('graceNone')}</option>
              <option value="3600">{t('grace3600')}</option>
              <option value="86400">{t('grace86400')}</option>
              <option value="604800">{t('grace604800')}</option>
            </select>
            <button type="button" onClick={rotate}>
              {t('rotateSecret')}
            </button>
          </div>
          {msg && <p role="status">{msg}</p>}
          <ErrorText error={error} />
        </>
      )}
    </div>
  );
}

export function FilterAndRate({ e, patch }: { e: Endpoint; patch: Patch }) {
  const { api, can } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type'), []);
  const draft = useDraft({ events: filterOf(e), rate: throttleOf(e)?.toString() ?? '' });
  const { events, rate } = draft.value;
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  async function save(ev: FormEvent) {
    ev.preventDefault();
    setSaved(false);
    if (rate.trim() !== '' && !/^[1-9]\d*$/.test(rate.trim())) {
      setErrors({ throttleRate: t('rateRule') });
      return;
    }
    setErrors({});
    try {
      await patch({ eventTypes: events, throttleRate: rate.trim() ? Number(rate) : null });
      draft.saved();
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
    }
  }

  const manage = can('manage');
  return (
    <form className="card wide" onSubmit={save}>
      <h2>{t('eventsAndRate')}</h2>
      {catalog.data && (
        <EventPicker
          types={catalog.data.filter((et) => !et.archived || events.includes(et.name))}
          chosen={events}
          onChange={(next) => {
            setSaved(false);
            draft.set({ events: next, rate });
          }}
          disabled={!manage}
          error={errors.eventTypes}
        />
      )}
      <Field label={t('rateLimit')} error={errors.throttleRate} hint={t('rateEmpty')}>
        {(p) => (
          <input
            {...p}
            name="throttleRate"
            inputMode="numeric"
            value={rate}
            onChange={(ev) => {
              setSaved(false);
              draft.set({ events, rate: ev.target.value });
            }}
            disabled={!manage}
          />
        )}
      </Field>
      <Stale on={draft.stale} discard={draft.discard} />
      {manage && (
        <div className="actions">
          <button type="submit" className="primary">
            {t('saveEvents')}
          </button>
          {saved && <span role="status">{t('saved')}</span>}
        </div>
      )}
    </form>
  );
}

/** Herald's per-endpoint delivery rules: retry delays, timeout and content filter (empty inherits or means none). */
export function DeliveryRules({ e, patch }: { e: Endpoint; patch: Patch }) {
  const { can } = usePortal();
  const draft = useDraft({
    schedule: (e.retrySchedule ?? []).join(', '),
    none: Array.isArray(e.retrySchedule) && e.retrySchedule.length === 0,
    timeout: e.timeout?.toString() ?? '',
    filter: e.filter ? JSON.stringify(e.filter, null, 2) : '',
  });
  const v = draft.value;
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const manage = can('manage');
  const set = (next: Partial<typeof v>) => {
    setSaved(false);
    draft.set({ ...v, ...next });
  };

  async function save(ev: FormEvent) {
    ev.preventDefault();
    setSaved(false);
    const local: Record<string, string> = {};
    const timeout = v.timeout.trim();
    if (timeout !== '' && !/^([1-9]|[1-5]\d|60)$/.test(timeout)) local.timeout = t('timeoutRule');
    let filter: unknown = null;
    if (v.filter.trim() !== '') {
      try {
        filter = JSON.parse(v.filter);
      } catch {
        local.filter = t('filterNotJson');
      }
    }
    if (Object.keys(local).length) return setErrors(local);
    const parts = v.schedule
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    setErrors({});
    try {
      await patch({ retrySchedule: v.none ? [] : parts.length ? parts : null, timeout: timeout ? Number(timeout) : null, filter });
      draft.saved();
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError) setErrors(Object.keys(err.fields).length ? err.fields : { form: err.message });
    }
  }

  return (
    <form className="card wide" onSubmit={save} noValidate>
      <h2>{t('deliveryRules')}</h2>
      <Field label={t('retrySchedule')} error={errors.retrySchedule} hint={t('retryScheduleHint')}>
        {(p) => (
          <input
            {...p}
            name="retrySchedule"
            value={v.schedule}
            placeholder="30s, 5m, 1h"
            disabled={!manage || v.none}
            onChange={(ev) => set({ schedule: ev.target.value })}
          />
        )}
      </Field>
      <label className="inline">
        <input type="checkbox" name="noRetries" checked={v.none} disabled={!manage} onChange={(ev) => set({ none: ev.target.checked })} /> {t('noRetries')}
      </label>
      <Field label={t('timeoutSeconds')} error={errors.timeout} hint={t('timeoutHint')}>
        {(p) => <input {...p} name="timeout" inputMode="numeric" value={v.timeout} disabled={!manage} onChange={(ev) => set({ timeout: ev.target.value })} />}
      </Field>
      <Field label={t('contentFilter')} error={errors.filter} hint={t('contentFilterHint')}>
        {(p) => (
          <textarea {...p} name="filter" rows={4} spellCheck={false} value={v.filter} disabled={!manage} onChange={(ev) => set({ filter: ev.target.value })} />
        )}
      </Field>
      <Stale on={draft.stale} discard={draft.discard} />
      <ErrorText error={errors.form} />
      {manage && (
        <div className="actions">
          <button type="submit" className="primary">
            {t('saveDeliveryRules')}
          </button>
          {saved && <span role="status">{t('saved')}</span>}
        </div>
      )}
    </form>
  );
}

export function Headers({ base }: { base: string }) {
  const { api, can } = usePortal();
  const h = useLoad(() => api.get<{ headers: Record<string, string>; sensitive: string[] }>(`${base}/headers`), [base]);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function change(body: Record<string, unknown>) {
    setError(null);
    try {
      await api.call('PATCH', `${base}/headers`, body);
      h.reload();
      return true;
    } catch (err) {
      setError((err as Error).message);
      return false;
    }
  }
  async function add(ev: FormEvent) {
    ev.preventDefault();
    if (!name.trim()) return setError(t('nameTheHeader'));
    if (await change({ headers: { [name.trim()]: value } })) {
      setName('');
      setValue('');
    }
  }

  const manage = can('manage');
  const rows = h.data ? [...Object.entries(h.data.headers).map(([k, v]) => [k, v] as const), ...h.data.sensitive.map((k) => [k, null] as const)] : [];
  return (
    <div className="card wide">
      <h2>{t('customHeaders')}</h2>
      <ErrorText error={h.error} />
      {rows.length === 0 ? (
        <p className="muted">{t('none')}</p>
      ) : (
        <ul className="headers">
          {rows.map(([k, v]) => (
            <li key={k}>
              <code>{k}</code>: {v === null ? <span className="muted">{t('hiddenSensitive')}</span> : <code>{v}</code>}
              {manage && (
                <button type="button" className="small" aria-label={t('removeHeader', { name: k })} onClick={() => change({ headers: {}, deleteHeaders: [k] })}>
                  {t('remove')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {manage && (
        <form className="inline" onSubmit={add}>
          <label htmlFor="hn">{t('headerName')}</label>
          <input id="hn" value={name} onChange={(e) => setName(e.target.value)} placeholder="X-Example" />
          <label htmlFor="hv">{t('value')}</label>
          <input id="hv" value={value} onChange={(e) => setValue(e.target.value)} />
          <button type="submit">{t('addHeader')}</button>
        </form>
      )}
      <ErrorText error={error} />
    </div>
  );
}
