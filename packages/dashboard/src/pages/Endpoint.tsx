import { useState } from 'react';
import { appPath, enc, type Endpoint, type EndpointHealth, type EndpointStats } from '../api';
import { go, useLoad, usePortal, type Loaded } from '../hooks';
import { CircuitBadge, CopyButton, ErrorText, StateBadge } from '../ui';
import { Authentication } from './EndpointAuth';
import { DeliveryRules, Details, FilterAndRate, Headers, SigningSecret } from './EndpointForms';
import { HealthChart } from './HealthChart';
import { rateOf } from './Endpoints';
import { Log } from './Log';
import { Testing } from './Testing';
import { Transformation } from './Transformation';
import { t } from '../i18n';

const TABS = [
  ['overview', 'tabOverview'],
  ['testing', 'tabTesting'],
  ['log', 'tabLog'],
] as const;

/** How often the endpoint itself is read again, so a state change (a 410 disabling it) shows. */
const ENDPOINT_POLL_MS = 5000;

export function EndpointPage({ id, tab }: { id: string; tab: string }) {
  const { api, app } = usePortal();
  const base = appPath(app.id, `/endpoint/${enc(id)}`);
  const ep = useLoad(() => api.get<Endpoint>(base), [base], ENDPOINT_POLL_MS);

  if (ep.error && !ep.data) {
    return (
      <section>
        <p>
          <a href="#/endpoints">{t('back')}</a>
        </p>
        <ErrorText error={ep.error} />
      </section>
    );
  }
  if (!ep.data) return <p aria-busy="true">{t('loading')}</p>;
  const e = ep.data;
  return (
    <section aria-labelledby="eh">
      <p>
        <a href="#/endpoints">{t('back')}</a>
      </p>
      <div className="head">
        <h1 id="eh" className="url" tabIndex={-1}>
          {e.url}
        </h1>
        <StateBadge endpoint={e} />
      </div>
      {e.description && <p className="muted">{e.description}</p>}
      <p className="muted ids">
        <code>{e.id}</code> <CopyButton text={e.id} label={t('copyEndpointId')} />
      </p>
      <nav className="tabs" aria-label={t('endpointNav')}>
        {TABS.map(([name, label]) => (
          <a key={name} href={`#/endpoints/${enc(e.id)}/${name}`} aria-current={tab === name ? 'page' : undefined}>
            {t(label)}
          </a>
        ))}
      </nav>
      {tab === 'testing' ? (
        <Testing endpoint={e} />
      ) : tab === 'log' ? (
        <Log endpoint={e} />
      ) : (
        <Overview ep={ep as Loaded<Endpoint> & { data: Endpoint }} base={base} />
      )}
    </section>
  );
}

function Overview({ ep, base }: { ep: Loaded<Endpoint> & { data: Endpoint }; base: string }) {
  const { api, can } = usePortal();
  const e = ep.data;
  const stats = useLoad(() => api.get<EndpointStats>(`${base}/stats`), [base, e.updatedAt], 5000);
  const health = useLoad(() => api.get<EndpointHealth>(`${base}/health`), [base, e.updatedAt], 5000);
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
    if (!window.confirm(t('confirmDelete', { url: e.url }))) return;
    try {
      await api.call('DELETE', base);
      go('/endpoints');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div className="grid">
      <HealthChart base={base} />
      <div className="card">
        <h2>{t('stats28')}</h2>
        <ErrorText error={stats.error} />
        {stats.data && (
          <dl className="stats">
            <div>
              <dt>{t('successRate')}</dt>
              <dd>{rateOf(stats.data)}</dd>
            </div>
            <div>
              <dt>{t('succeeded')}</dt>
              <dd>{stats.data.success}</dd>
            </div>
            <div>
              <dt>{t('failed')}</dt>
              <dd>{stats.data.fail}</dd>
            </div>
            <div>
              <dt>{t('pending')}</dt>
              <dd>{stats.data.pending + stats.data.sending}</dd>
            </div>
          </dl>
        )}
      </div>
      <div className="card">
        <h2>{t('state')}</h2>
        <p data-testid="state">
          <StateBadge endpoint={e} />
          {!e.disabled && <CircuitBadge health={health.data} />}
        </p>
        <ErrorText error={error} />
        {can('manage') && (
          <div className="actions">
            <button type="button" onClick={() => patch({ disabled: !e.disabled }).catch(() => undefined)}>
              {e.disabled ? t('enableEndpoint') : t('disableEndpoint')}
            </button>
            <button type="button" className="danger" onClick={remove}>
              {t('deleteEndpoint')}
            </button>
          </div>
        )}
      </div>
      <Details e={e} patch={patch} />
      <SigningSecret base={base} />
      <FilterAndRate e={e} patch={patch} />
      <DeliveryRules e={e} patch={patch} />
      <Headers base={base} />
      <Transformation base={base} />
      <Authentication base={base} />
    </div>
  );
}
