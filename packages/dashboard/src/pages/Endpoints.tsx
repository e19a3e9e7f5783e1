import { useEffect, useRef, useState } from 'react';
import { appPath, enc, STATUS_TEXT, type Api, type Attempt, type Endpoint, type EndpointStats, type Page } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, ErrorText, StateBadge } from '../ui';

/** Endpoints per page of the list; "Load more" fetches the next page. */
export const PAGE_SIZE = 50;
/** Requests for rows' stats and last attempts in flight at once, whatever the number of rows. */
const MAX_IN_FLIGHT = 4;
/** How often a visible row's stats and last attempt are read again. */
const ROW_POLL_MS = 10_000;

let inFlight = 0;
const waiting: (() => void)[] = [];

/** Run `fn` when fewer than MAX_IN_FLIGHT limited requests are running. */
function limited<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const start = () => {
      inFlight++;
      fn()
        .then(resolve, reject)
        .finally(() => {
          inFlight--;
          waiting.shift()?.();
        });
    };
    if (inFlight < MAX_IN_FLIGHT) start();
    else waiting.push(start);
  });
}

export function rateOf(s: EndpointStats | null): string {
  if (!s) return '—';
  const done = s.success + s.fail;
  return done === 0 ? '—' : `${((100 * s.success) / done).toFixed(done > 1000 ? 1 : 0)}%`;
}

interface Details {
  stats: EndpointStats | null;
  last: Attempt | null;
}

async function detailsOf(api: Api, appId: string, endpointId: string): Promise<Details> {
  const [stats, last] = await Promise.all([
    limited(() => api.get<EndpointStats>(appPath(appId, `/endpoint/${enc(endpointId)}/stats`))).catch(() => null),
    limited(() => api.get<Page<Attempt>>(appPath(appId, `/attempt/endpoint/${enc(endpointId)}?limit=1&with_content=false`)))
      .then((p) => p.data[0] ?? null)
      .catch(() => null),
  ]);
  return { stats, last };
}

/** Whether the element is on (or near) the screen. */
function useVisible(ref: React.RefObject<Element | null>): boolean {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return setVisible(true);
    const io = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)), { rootMargin: '100px 0px' });
    io.observe(el);
    return () => io.disconnect();
  }, [ref]);
  return visible;
}

/** One endpoint; its stats and last attempt are read only while the row is visible. */
function EndpointRow({ endpoint: e }: { endpoint: Endpoint }) {
  const { api, app } = usePortal();
  const ref = useRef<HTMLTableRowElement>(null);
  const visible = useVisible(ref);
  const [details, setDetails] = useState<Details | null>(null);
  useEffect(() => {
    if (!visible) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const d = await detailsOf(api, app.id, e.id);
      if (!live) return;
      setDetails(d);
      timer = setTimeout(run, ROW_POLL_MS);
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [visible, api, app.id, e.id]);
  const last = details?.last ?? null;
  return (
    <tr ref={ref} data-endpoint={e.id} data-loaded={details ? 'true' : 'false'}>
      <td>
        <a href={`#/endpoints/${enc(e.id)}`} className="url">
          {e.url}
        </a>
        {e.description && <div className="muted">{e.description}</div>}
      </td>
      <td data-label="State">
        <StateBadge endpoint={e} />
      </td>
      <td data-label="Success rate">{details ? rateOf(details.stats) : <span className="muted">…</span>}</td>
      <td data-label="Last attempt">
        {!details ? (
          <span className="muted">…</span>
        ) : last ? (
          <>
            <span className={`status s${last.status}`}>{STATUS_TEXT[last.status]}</span>{' '}
            {last.responseStatusCode > 0 && <code>{last.responseStatusCode}</code>} <Ago iso={last.timestamp} />
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
    </tr>
  );
}

interface Listed {
  endpoints: Endpoint[];
  more: boolean;
}

export function Endpoints() {
  const { api, app, can } = usePortal();
  const [pages, setPages] = useState(1);
  // The pages shown so far, read again every 5 s (one request per page) so new endpoints and
  // state changes appear; the rows read their own details.
  const list = useLoad<Listed>(
    async () => {
      const endpoints: Endpoint[] = [];
      let iterator: string | null = null;
      let more = false;
      for (let i = 0; i < pages; i++) {
        const page: Page<Endpoint> = await api.get(
          appPath(app.id, `/endpoint?limit=${PAGE_SIZE}${iterator ? `&iterator=${enc(iterator)}` : ''}`),
        );
        endpoints.push(...page.data);
        more = !page.done && !!page.iterator;
        if (!more) break;
        iterator = page.iterator;
      }
      return { endpoints, more };
    },
    [app.id, pages],
    5000,
  );
  const rows = list.data?.endpoints;

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
      <ErrorText error={list.error} />
      {rows && rows.length === 0 && (
        <p className="empty">No endpoints yet. {can('manage') ? 'Add one to start receiving events.' : ''}</p>
      )}
      {rows && rows.length > 0 && (
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
              {rows.map((e) => (
                <EndpointRow key={e.id} endpoint={e} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows && rows.length > 0 && (
        <p className="muted" role="status">
          {rows.length} endpoint{rows.length === 1 ? '' : 's'} shown{list.data?.more ? ', more to load' : ''}.
        </p>
      )}
      {list.data?.more && (
        <div className="actions">
          <button type="button" onClick={() => setPages((p) => p + 1)} disabled={list.loading} aria-busy={list.loading}>
            Load more endpoints
          </button>
        </div>
      )}
    </section>
  );
}
