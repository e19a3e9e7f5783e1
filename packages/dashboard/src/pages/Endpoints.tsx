import { appPath, enc, STATUS_TEXT, type Attempt, type Endpoint, type EndpointStats, type Page } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, ErrorText, StateBadge } from '../ui';

interface Row {
  endpoint: Endpoint;
  stats: EndpointStats | null;
  last: Attempt | null;
}

export function rateOf(s: EndpointStats | null): string {
  if (!s) return '—';
  const done = s.success + s.fail;
  return done === 0 ? '—' : `${((100 * s.success) / done).toFixed(done > 1000 ? 1 : 0)}%`;
}

export function Endpoints() {
  const { api, app, can } = usePortal();
  const rows = useLoad<Row[]>(
    async () => {
      const page = await api.get<Page<Endpoint>>(appPath(app.id, '/endpoint?limit=250'));
      return Promise.all(
        page.data.map(async (endpoint) => {
          const base = appPath(app.id, `/endpoint/${enc(endpoint.id)}`);
          const [stats, last] = await Promise.all([
            api.get<EndpointStats>(`${base}/stats`).catch(() => null),
            api
              .get<Page<Attempt>>(appPath(app.id, `/attempt/endpoint/${enc(endpoint.id)}?limit=1&with_content=false`))
              .then((p) => p.data[0] ?? null)
              .catch(() => null),
          ]);
          return { endpoint, stats, last };
        }),
      );
    },
    [app.id],
    5000,
  );

  return (
    <section aria-labelledby="eph">
      <div className="head">
        <h1 id="eph">Endpoints</h1>
        {can('manage') && (
          <a className="button primary" href="#/endpoints/new">
            + Add Endpoint
          </a>
        )}
      </div>
      <ErrorText error={rows.error} />
      {rows.data && rows.data.length === 0 && (
        <p className="empty">No endpoints yet. {can('manage') ? 'Add one to start receiving events.' : ''}</p>
      )}
      {rows.data && rows.data.length > 0 && (
        <div className="scroll">
          <table className="list">
            <caption className="sr">Endpoints with their state, success rate over 28 days and last attempt</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">State</th>
                <th scope="col">Success rate</th>
                <th scope="col">Last attempt</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map(({ endpoint: e, stats, last }) => (
                <tr key={e.id}>
                  <td>
                    <a href={`#/endpoints/${enc(e.id)}`} className="url">
                      {e.url}
                    </a>
                    {e.description && <div className="muted">{e.description}</div>}
                  </td>
                  <td data-label="State">
                    <StateBadge endpoint={e} />
                  </td>
                  <td data-label="Success rate">{rateOf(stats)}</td>
                  <td data-label="Last attempt">
                    {last ? (
                      <>
                        <span className={`status s${last.status}`}>{STATUS_TEXT[last.status]}</span>{' '}
                        {last.responseStatusCode > 0 && <code>{last.responseStatusCode}</code>} <Ago iso={last.timestamp} />
                      </>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
