import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, appPath, enc, filterOf, listAll, throttleOf, type Endpoint, type EndpointStats, type EventType } from '../api';
import { go, useLoad, usePortal, type Loaded } from '../hooks';
import { ErrorText, EventPicker, Field, StateBadge } from '../ui';
import { rateOf } from './Endpoints';
import { Log } from './Log';
import { Testing } from './Testing';

const TABS = [
  ['overview', 'Overview'],
  ['testing', 'Testing'],
  ['log', 'Log'],
] as const;

export function EndpointPage({ id, tab }: { id: string; tab: string }) {
  const { api, app } = usePortal();
  const base = appPath(app.id, `/endpoint/${enc(id)}`);
  const ep = useLoad(() => api.get<Endpoint>(base), [base]);

  if (ep.error && !ep.data) {
    return (
      <section>
        <p>
          <a href="#/endpoints">← Endpoints</a>
        </p>
        <ErrorText error={ep.error} />
      </section>
    );
  }
  if (!ep.data) return <p aria-busy="true">Loading…</p>;
  const e = ep.data;
  return (
    <section aria-labelledby="eh">
      <p>
        <a href="#/endpoints">← Endpoints</a>
      </p>
      <div className="head">
        <h1 id="eh" className="url">
          {e.url}
        </h1>
        <StateBadge endpoint={e} />
      </div>
      {e.description && <p className="muted">{e.description}</p>}
      <nav className="tabs" aria-label="Endpoint">
        {TABS.map(([t, label]) => (
          <a key={t} href={`#/endpoints/${enc(e.id)}/${t}`} aria-current={tab === t ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === 'testing' ? <Testing endpoint={e} /> : tab === 'log' ? <Log endpoint={e} /> : <Overview ep={ep as Loaded<Endpoint> & { data: Endpoint }} base={base} />}
    </section>
  );
}

function Overview({ ep, base }: { ep: Loaded<Endpoint> & { data: Endpoint }; base: string }) {
  const { api, can } = usePortal();
  const e = ep.data;
  const stats = useLoad(() => api.get<EndpointStats>(`${base}/stats`), [base, e.updatedAt], 5000);
  const [error, setError] = useState<string | null>(null);

  async function patch(body: Record<string, unknown>) {
    setError(null);
    try {
      await api.call('PATCH', base, body);
      ep.reload();
    } catch (err) {
      setError((err as Error).message);
      throw err;
    }
  }

  async function remove() {
    if (!window.confirm(`Delete the endpoint ${e.url}? Its messages will no longer be sent to it.`)) return;
    try {
      await api.call('DELETE', base);
      go('/endpoints');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div className="grid">
      <div className="card">
        <h2>Stats (28 days)</h2>
        <ErrorText error={stats.error} />
        {stats.data && (
          <dl className="stats">
            <div><dt>Success rate</dt><dd>{rateOf(stats.data)}</dd></div>
            <div><dt>Succeeded</dt><dd>{stats.data.success}</dd></div>
            <div><dt>Failed</dt><dd>{stats.data.fail}</dd></div>
            <div><dt>Pending</dt><dd>{stats.data.pending + stats.data.sending}</dd></div>
          </dl>
        )}
      </div>
      <div className="card">
        <h2>State</h2>
        <p>
          <StateBadge endpoint={e} />
        </p>
        <ErrorText error={error} />
        {can('manage') && (
          <div className="actions">
            <button type="button" onClick={() => patch({ disabled: !e.disabled }).catch(() => undefined)}>
              {e.disabled ? 'Enable endpoint' : 'Disable endpoint'}
            </button>
            <button type="button" className="danger" onClick={remove}>
              Delete endpoint
            </button>
          </div>
        )}
      </div>
      <SigningSecret base={base} />
      <FilterAndRate e={e} patch={patch} />
      <Headers base={base} />
    </div>
  );
}

function SigningSecret({ base }: { base: string }) {
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
    setError(null);
    setMsg(null);
    try {
      await api.call('POST', `${base}/secret/rotate`, { gracePeriodSeconds: Number(grace) });
      setSecret(null);
      setMsg(Number(grace) > 0 ? 'Rotated. The old secret keeps signing beside the new one until the grace period ends.' : 'Rotated. The old secret no longer signs.');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div className="card">
      <h2>Signing secret</h2>
      {!can('secrets') ? (
        <p className="muted">This session cannot see or rotate the signing secret.</p>
      ) : (
        <>
          <p>
            <code className="secret" aria-live="polite" data-testid="secret">
              {secret ?? '••••••••••••••••••••••••'}
            </code>
          </p>
          <div className="actions">
            {secret ? (
              <button type="button" onClick={() => setSecret(null)}>Hide</button>
            ) : (
              <button type="button" onClick={reveal}>Reveal secret</button>
            )}
          </div>
          <div className="inline">
            <label htmlFor="grace">Grace period</label>
            <select id="grace" value={grace} onChange={(e) => setGrace(e.target.value)}>
              <option value="0">None: the old secret stops now</option>
              <option value="3600">1 hour</option>
              <option value="86400">24 hours</option>
              <option value="604800">7 days</option>
            </select>
            <button type="button" onClick={rotate}>Rotate secret</button>
          </div>
          {msg && <p role="status">{msg}</p>}
          <ErrorText error={error} />
        </>
      )}
    </div>
  );
}

function FilterAndRate({ e, patch }: { e: Endpoint; patch(b: Record<string, unknown>): Promise<void> }) {
  const { api, can } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type'), []);
  const [events, setEvents] = useState<string[]>(filterOf(e));
  const [rate, setRate] = useState(throttleOf(e)?.toString() ?? '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setEvents(filterOf(e));
    setRate(throttleOf(e)?.toString() ?? '');
  }, [e]);

  async function save(ev: FormEvent) {
    ev.preventDefault();
    setSaved(false);
    if (rate.trim() !== '' && !/^[1-9]\d*$/.test(rate.trim())) {
      setErrors({ throttleRate: 'A whole number of messages per second, 1 or more.' });
      return;
    }
    setErrors({});
    try {
      await patch({ eventTypes: events, throttleRate: rate.trim() ? Number(rate) : null });
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
    }
  }

  const manage = can('manage');
  return (
    <form className="card wide" onSubmit={save}>
      <h2>Events and rate limit</h2>
      {catalog.data && <EventPicker types={catalog.data.filter((t) => !t.archived || events.includes(t.name))} chosen={events} onChange={setEvents} disabled={!manage} error={errors.eventTypes} />}
      <Field label="Rate limit (messages per second)" error={errors.throttleRate} hint="Empty: no limit of its own.">
        {(p) => <input {...p} name="throttleRate" inputMode="numeric" value={rate} onChange={(ev) => setRate(ev.target.value)} disabled={!manage} />}
      </Field>
      {manage && (
        <div className="actions">
          <button type="submit" className="primary">Save events and rate limit</button>
          {saved && <span role="status">Saved.</span>}
        </div>
      )}
    </form>
  );
}

function Headers({ base }: { base: string }) {
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
    if (!name.trim()) return setError('Give the header a name.');
    if (await change({ headers: { [name.trim()]: value } })) {
      setName('');
      setValue('');
    }
  }

  const manage = can('manage');
  const rows = h.data ? [...Object.entries(h.data.headers).map(([k, v]) => [k, v] as const), ...h.data.sensitive.map((k) => [k, null] as const)] : [];
  return (
    <div className="card wide">
      <h2>Custom headers</h2>
      <ErrorText error={h.error} />
      {rows.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="headers">
          {rows.map(([k, v]) => (
            <li key={k}>
              <code>{k}</code>: {v === null ? <span className="muted">(hidden: sensitive)</span> : <code>{v}</code>}
              {manage && (
                <button type="button" className="small" aria-label={`Remove header ${k}`} onClick={() => change({ headers: {}, deleteHeaders: [k] })}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {manage && (
        <form className="inline" onSubmit={add}>
          <label htmlFor="hn">Header name</label>
          <input id="hn" value={name} onChange={(e) => setName(e.target.value)} placeholder="X-Example" />
          <label htmlFor="hv">Value</label>
          <input id="hv" value={value} onChange={(e) => setValue(e.target.value)} />
          <button type="submit">Add header</button>
        </form>
      )}
      <ErrorText error={error} />
    </div>
  );
}
