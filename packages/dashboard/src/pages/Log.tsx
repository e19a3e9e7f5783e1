// The endpoint's log: every message sent to it, newest first, a page at a time; filtered by status,
// event type and date range, or found by message id or Engage eventId.
import { useState, type FormEvent } from 'react';
import { ApiError, appPath, enc, filterOf, listAll, type Api, type Endpoint, type EndpointMessage, type EventType, type Page, type Status } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, ErrorText } from '../ui';
import { Attempts, POLL_MS, Recover } from './LogParts';
import { statusText, t, tn } from '../i18n';

/** Messages per page; "Load older messages" reads the next page. */
export const LOG_PAGE = 50;

interface Filters {
  status: '' | `${Status}`;
  eventType: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { status: '', eventType: '', from: '', to: '' };

function queryOf(f: Filters): string {
  const q = new URLSearchParams({ limit: String(LOG_PAGE), with_content: 'false' });
  if (f.status) q.set('status', f.status);
  if (f.eventType) q.set('event_types', f.eventType);
  if (f.from && !Number.isNaN(Date.parse(f.from))) q.set('after', new Date(f.from).toISOString());
  if (f.to && !Number.isNaN(Date.parse(f.to))) q.set('before', new Date(f.to).toISOString());
  return q.toString();
}

interface Older {
  /** The query these pages were read with; a filter change starts over. */
  query: string;
  items: EndpointMessage[];
  iterator: string | null;
  done: boolean;
}

/** The message that id (or Engage eventId) names, as it stands at this endpoint; null when it was not sent here. */
async function findAt(api: Api, appId: string, endpointId: string, q: string): Promise<EndpointMessage | null> {
  let msg: { id: string; eventType: string; eventId?: string | null; timestamp: string };
  try {
    msg = await api.get(appPath(appId, `/msg/${enc(q)}?with_content=false`));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 422)) return null;
    throw e;
  }
  const dests = await listAll<{ id: string; status: Status; nextAttempt?: string | null }>(api, appPath(appId, `/msg/${enc(msg.id)}/endpoint`), 4);
  const here = dests.find((d) => d.id === endpointId);
  return here
    ? { id: msg.id, eventType: msg.eventType, eventId: msg.eventId, status: here.status, nextAttempt: here.nextAttempt, timestamp: msg.timestamp }
    : null;
}

export function Log({ endpoint }: { endpoint: Endpoint }) {
  const { api, app, can, moduleOff } = usePortal();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const query = queryOf(filters);
  const base = appPath(app.id, `/endpoint/${enc(endpoint.id)}/msg`);
  // Only the newest page is polled; older pages are read once, when asked for.
  const head = useLoad(() => api.get<Page<EndpointMessage>>(`${base}?${query}`), [base, query], POLL_MS);
  const [older, setOlder] = useState<Older | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type'), []);
  const [search, setSearch] = useState('');
  const [found, setFound] = useState<{ q: string; msg: EndpointMessage | null } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canSend = can('manage') && !moduleOff && !endpoint.disabled;

  const mine = older?.query === query ? older : null;
  const headPage = head.data;
  const seen = new Set<string>();
  const rows = [...(headPage?.data ?? []), ...(mine?.items ?? [])].filter((m) => !seen.has(m.id) && seen.add(m.id));
  const more = mine ? !mine.done : !!headPage && !headPage.done && !!headPage.iterator;

  async function loadOlder() {
    const iterator = mine ? mine.iterator : headPage?.iterator;
    if (!iterator) return;
    setLoadingOlder(true);
    setError(null);
    try {
      const page = await api.get<Page<EndpointMessage>>(`${base}?${query}&iterator=${enc(iterator)}`);
      setOlder({ query, items: [...(mine?.items ?? []), ...page.data], iterator: page.iterator, done: page.done || !page.iterator });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoadingOlder(false);
    }
  }

  async function find(e: FormEvent) {
    e.preventDefault();
    const q = search.trim();
    setError(null);
    if (!q) return setFound(null);
    try {
      setFound({ q, msg: await findAt(api, app.id, endpoint.id, q) });
    } catch (err) {
      setError((err as Error).message);
    }
  }

  async function resend(msgId: string) {
    setError(null);
    setNote(null);
    try {
      await api.call('POST', appPath(app.id, `/msg/${enc(msgId)}/endpoint/${enc(endpoint.id)}/resend`));
      setNote(t('resending', { id: msgId }));
      setOpen(msgId);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  const filter = filterOf(endpoint);
  const types = (catalog.data ?? []).filter((et) => filter.length === 0 || filter.includes(et.name));
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const shown = found ? (found.msg ? [found.msg] : []) : rows;
  const filtered = query !== queryOf(NO_FILTERS);

  return (
    <div className="stack">
      {canSend && <Recover endpoint={endpoint} />}
      <div className="card">
        <h2>{t('messages')}</h2>
        <form className="filters" onSubmit={find} role="search" aria-label={t('findMessage')}>
          <div className="field">
            <label htmlFor="log-q">{t('msgOrEventId')}</label>
            <div className="inline tight">
              <input id="log-q" value={search} onChange={(e) => setSearch(e.target.value)} spellCheck={false} autoComplete="off" />
              <button type="submit">{t('find')}</button>
              {found && (
                <button
                  type="button"
                  onClick={() => {
                    setFound(null);
                    setSearch('');
                  }}
                >
                  {t('showAll')}
                </button>
              )}
            </div>
          </div>
        </form>
        {!found && (
          <div className="filters" role="group" aria-label={t('filters')}>
            <div className="field">
              <label htmlFor="log-status">{t('status')}</label>
              <select id="log-status" value={filters.status} onChange={(e) => set({ status: e.target.value as Filters['status'] })}>
                <option value="">{t('any')}</option>
                {([0, 1, 3, 2, 4] as Status[]).map((s) => (
                  <option key={s} value={String(s)}>
                    {statusText(s)}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="log-type">{t('eventType')}</label>
              <select id="log-type" value={filters.eventType} onChange={(e) => set({ eventType: e.target.value })}>
                <option value="">{t('any')}</option>
                {types.map((et) => (
                  <option key={et.name} value={et.name}>
                    {et.name}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="log-from">{t('from')}</label>
              <input id="log-from" type="datetime-local" value={filters.from} onChange={(e) => set({ from: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor="log-to">{t('to')}</label>
              <input id="log-to" type="datetime-local" value={filters.to} onChange={(e) => set({ to: e.target.value })} />
            </div>
            {filtered && (
              <button type="button" className="reset" onClick={() => setFilters(NO_FILTERS)}>
                {t('clearFilters')}
              </button>
            )}
          </div>
        )}
        <p className="muted">{t('updatedEvery', { n: POLL_MS / 1000 })}</p>
        {note && <p role="status">{note}</p>}
        <ErrorText error={error ?? head.error} />
        {found && !found.msg && <p role="status">{t('notSentHere', { q: found.q })}</p>}
        {!found && headPage && rows.length === 0 && <p className="muted">{filtered ? t('noMatch') : t('noMessages')}</p>}
        {shown.length > 0 && (
          <ul className="log">
            {shown.map((m) => (
              <li key={m.id} data-msg={m.id}>
                <div className="row">
                  <button type="button" className="link" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? null : m.id)}>
                    <span className={`status s${m.status}`}>{statusText(m.status)}</span> <code>{m.eventType}</code> <span className="muted">{m.id}</span>
                  </button>
                  {m.status === 1 && m.heldBy && (
                    <span className="badge warn" data-testid="held">
                      {m.heldBy === 'circuit' ? t('heldCircuit') : t('heldModule')}
                    </span>
                  )}
                  {m.status === 1 && m.waitingFor && (
                    <span className="badge" data-testid="waiting">
                      {t('waitingFor', { id: m.waitingFor })}
                    </span>
                  )}
                  {m.status === 1 && m.nextAttempt && (
                    <span className="next" data-testid="next-attempt">
                      {t('nextAttempt')} <Ago iso={m.nextAttempt} />
                    </span>
                  )}
                  <Ago iso={m.timestamp} />
                  {canSend && (
                    <button type="button" className="small" onClick={() => resend(m.id)} aria-label={t('resendLabel', { id: m.id })}>
                      {t('resend')}
                    </button>
                  )}
                </div>
                {open === m.id && <Attempts msgId={m.id} endpointId={endpoint.id} />}
              </li>
            ))}
          </ul>
        )}
        {!found && rows.length > 0 && (
          <p className="muted" role="status">
            {tn('messagesShown', rows.length, { more: more ? t('olderToLoad') : '' })}
          </p>
        )}
        {!found && more && (
          <div className="actions">
            <button type="button" onClick={loadOlder} disabled={loadingOlder} aria-busy={loadingOlder}>
              {t('loadOlder')}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
