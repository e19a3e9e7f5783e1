import { useEffect, useRef, useState } from 'react';
import { ApiError, appPath, enc, type Api, type Attempt, type Endpoint, type EndpointHealth, type EndpointStats, type Page } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, CircuitBadge, ErrorText, StateBadge } from '../ui';
import { statusText, t, tn } from '../i18n';

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
  /** The endpoint read again (rows the list poll does not cover); 'gone' once deleted. */
  endpoint?: Endpoint | 'gone' | null;
  /** Its circuit breaker (Herald). */
  health?: EndpointHealth | null;
}

async function detailsOf(api: Api, appId: string, endpointId: string, readOwn: boolean): Promise<Details> {
  const [endpoint, stats, last, health] = await Promise.all([
    readOwn
      ? limited(() => api.get<Endpoint>(appPath(appId, `/endpoint/${enc(endpointId)}`))).catch((e) =>
          e instanceof ApiError && e.status === 404 ? ('gone' as const) : null,
        )
      : null,
    limited(() => api.get<EndpointStats>(appPath(appId, `/endpoint/${enc(endpointId)}/stats`))).catch(() => null),
    limited(() => api.get<Page<Attempt>>(appPath(appId, `/attempt/endpoint/${enc(endpointId)}?limit=1&with_content=false`)))
      .then((p) => p.data[0] ?? null)
      .catch(() => null),
    limited(() => api.get<EndpointHealth>(appPath(appId, `/endpoint/${enc(endpointId)}/health`))).catch(() => null),
  ]);
  return { stats, last, endpoint, health };
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
function EndpointRow({ endpoint: listed, readOwn }: { endpoint: Endpoint; readOwn: boolean }) {
  const { api, app } = usePortal();
  const ref = useRef<HTMLTableRowElement>(null);
  const visible = useVisible(ref);
  const [details, setDetails] = useState<Details | null>(null);
  useEffect(() => {
    if (!visible) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const d = await detailsOf(api, app.id, listed.id, readOwn);
      if (!live) return;
      setDetails(d);
      timer = setTimeout(run, ROW_POLL_MS);
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [visible, api, app.id, listed.id, readOwn]);
  const last = details?.last ?? null;
  const fresh = details?.endpoint;
  const e = fresh && fresh !== 'gone' ? fresh : listed;
  return (
    <tr ref={ref} data-endpoint={e.id} data-loaded={details ? 'true' : 'false'}>
      <td>
        <a href={`#/endpoints/${enc(e.id)}`} className="url">
          {e.url}
        </a>
        {e.description && <div className="muted">{e.description}</div>}
      </td>
      <td data-label={t('state')}>
        {fresh === 'gone' ? <span className="badge off">{t('deleted')}</span> : <StateBadge endpoint={e} />}
        {fresh !== 'gone' && !e.disabled && <CircuitBadge health={details?.health} />}
      </td>
      <td data-label={t('successRate')}>{details ? rateOf(details.stats) : <span className="muted">…</span>}</td>
      <td data-label={t('colLast')}>
        {!details ? (
          <span className="muted">…</span>
        ) : last ? (
          <>
            <span className={`status s${last.status}`}>{statusText(last.status)}</span> {last.responseStatusCode > 0 && <code>{last.responseStatusCode}</code>}{' '}
            <Ago iso={last.timestamp} />
          </>
        ) : (
          <span className="muted">{t('never')}</span>
        )}
      </td>
    </tr>
  );
}

interface Older {
  endpoints: Endpoint[];
  iterator: string | null;
  done: boolean;
}

export function Endpoints() {
  const { api, app, can } = usePortal();
  // Only the first page is read again every 5 s: new endpoints appear at its top, and its rows'
  // states stay current. Pages loaded with "Load more" are read once; their rows, while on
  // screen, read their own endpoint again with their stats (EndpointRow).
  const list = useLoad(() => api.get<Page<Endpoint>>(appPath(app.id, `/endpoint?limit=${PAGE_SIZE}`)), [app.id], 5000);
  const [older, setOlder] = useState<Older | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const first = list.data;
  const seen = new Set<string>();
  const rows = first
    ? [...first.data.map((e) => ({ e, polled: true })), ...(older?.endpoints ?? []).map((e) => ({ e, polled: false }))].filter(
        (r) => !seen.has(r.e.id) && seen.add(r.e.id),
      )
    : undefined;
  const more = older ? !older.done : !!first && !first.done && !!first.iterator;

  async function loadMore() {
    const iterator = older ? older.iterator : first?.iterator;
    if (!iterator) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.get<Page<Endpoint>>(appPath(app.id, `/endpoint?limit=${PAGE_SIZE}&iterator=${enc(iterator)}`));
      setOlder({ endpoints: [...(older?.endpoints ?? []), ...page.data], iterator: page.iterator, done: page.done || !page.iterator });
    } catch (e) {
      setMoreError((e as Error).message);
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <section aria-labelledby="eph">
      <div className="head">
        <h1 id="eph">{t('navEndpoints')}</h1>
        {can('manage') && (
          <a className="button primary" href="#/endpoints/new">
            {t('addEndpointButton')}
          </a>
        )}
      </div>
      <ErrorText error={list.error ?? moreError} />
      {rows && rows.length === 0 && (
        <p className="empty">
          {t('noEndpoints')} {can('manage') ? t('addOne') : ''}
        </p>
      )}
      {rows && rows.length > 0 && (
        <div className="scroll">
          <table className="list">
            <caption className="sr">{t('endpointsCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colEndpoint')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">{t('successRate')}</th>
                <th scope="col">{t('colLast')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ e, polled }) => (
                <EndpointRow key={e.id} endpoint={e} readOwn={!polled} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows && rows.length > 0 && (
        <p className="muted" role="status">
          {tn('endpointsShown', rows.length, { more: more ? t('moreToLoad') : '' })}
        </p>
      )}
      {more && (
        <div className="actions">
          <button type="button" onClick={loadMore} disabled={loadingMore} aria-busy={loadingMore}>
            {t('loadMore')}
          </button>
        </div>
      )}
    </section>
  );
}
