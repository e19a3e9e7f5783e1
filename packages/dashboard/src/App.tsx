import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api, ApiError, appPath, forgetToken, takeToken, type Application, type EngageSettings, type Session } from './api';
import { PortalContext, useRoute, type Portal } from './hooks';
import { AddEndpoint } from './pages/AddEndpoint';
import { Catalog } from './pages/Catalog';
import { EndpointPage } from './pages/Endpoint';
import { Endpoints } from './pages/Endpoints';
import { Settings } from './pages/Settings';

type Boot = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; api: Api; session: Session; app: Application };

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const [engage, setEngage] = useState<EngageSettings | null>(null);

  useEffect(() => {
    const token = takeToken();
    if (!token) {
      setBoot({ state: 'error', message: 'No access key. Open the dashboard through the link your administrator gave you.' });
      return;
    }
    const api = new Api(token);
    (async () => {
      try {
        const session = await api.get<Session>('/api/v1/auth/session');
        const app = await api.get<Application>(appPath(session.appId));
        setBoot({ state: 'ready', api, session, app });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) forgetToken();
        setBoot({ state: 'error', message: e instanceof ApiError && e.status === 401 ? 'This link has expired or was revoked. Ask for a new one.' : String((e as Error).message) });
      }
    })();
  }, []);

  const refreshEngage = useCallback(() => {
    if (boot.state !== 'ready') return;
    boot.api
      .get<EngageSettings>(appPath(boot.app.id, '/engage'))
      .then(setEngage)
      .catch(() => setEngage(null));
  }, [boot]);
  useEffect(refreshEngage, [refreshEngage]);

  const portal = useMemo<Portal | null>(() => {
    if (boot.state !== 'ready') return null;
    return {
      api: boot.api,
      session: boot.session,
      app: boot.app,
      engage,
      can: (p) => boot.session.permissions.includes(p),
      moduleOff: engage !== null && !engage.moduleEnabled,
      refreshEngage,
    };
  }, [boot, engage, refreshEngage]);

  if (boot.state === 'loading') return <main className="center" aria-busy="true">Loading…</main>;
  if (boot.state === 'error') {
    return (
      <main className="center">
        <h1>Webhooks</h1>
        <p role="alert">{boot.message}</p>
      </main>
    );
  }
  return (
    <PortalContext.Provider value={portal}>
      <Shell />
    </PortalContext.Provider>
  );
}

const NAV = [
  ['/endpoints', 'Endpoints'],
  ['/catalog', 'Event catalog'],
  ['/settings', 'Settings'],
] as const;

function Shell() {
  const route = useRoute();
  return (
    <PortalContext.Consumer>
      {(p) => (
        <>
          <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
            Skip to content
          </a>
          <header className="top">
            <div className="brand">
              <span className="crumbs">Administration → Webhooks</span>
              <strong>{p!.app.name}</strong>
            </div>
            <nav aria-label="Webhooks">
              {NAV.map(([path, label]) => (
                <a key={path} href={`#${path}`} aria-current={route.startsWith(path) ? 'page' : undefined}>
                  {label}
                </a>
              ))}
            </nav>
            <span className="perm" title="What this session may do">
              {p!.can('manage') ? (p!.can('secrets') ? 'Full access' : 'Can manage') : 'Read only'}
            </span>
          </header>
          {p!.moduleOff && (
            <div className="banner" role="status">
              The webhooks module is turned off for this account: Engage sends no events, and testing, resending and recovering are unavailable. Ask your administrator to turn it on.
            </div>
          )}
          <main id="main" tabIndex={-1}>
            <Page route={route} />
          </main>
        </>
      )}
    </PortalContext.Consumer>
  );
}

function Page({ route }: { route: string }) {
  const parts = route.split('/').filter(Boolean);
  if (parts[0] === 'catalog') return <Catalog />;
  if (parts[0] === 'settings') return <Settings />;
  if (parts[0] === 'endpoints' && parts[1] === 'new') return <AddEndpoint />;
  if (parts[0] === 'endpoints' && parts[1]) return <EndpointPage id={decodeURIComponent(parts[1])} tab={parts[2] ?? 'overview'} />;
  return <Endpoints />;
}
