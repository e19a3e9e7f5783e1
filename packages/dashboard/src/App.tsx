import { useEffect, useMemo, useRef, useState } from 'react';
import { Api, ApiError, appPath, forgetToken, readLook, takeToken, type Application, type EngageSettings, type Look, type Session } from './api';
import { PortalContext, useLoad, useRoute, type Portal } from './hooks';
import { AddEndpoint } from './pages/AddEndpoint';
import { Catalog } from './pages/Catalog';
import { Destinations } from './pages/Destinations';
import { EndpointPage } from './pages/Endpoint';
import { Endpoints } from './pages/Endpoints';
import { Settings } from './pages/Settings';
import { t } from './i18n';

type Boot = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; api: Api; session: Session; app: Application };

const LOOK: Look = readLook();

/** Relative luminance of #rrggbb (WCAG). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/**
 * The host product's accent colour on buttons, tabs and links. Text on it is white or near-black,
 * whichever contrasts more; links keep the default blue when the accent is too light to read on white.
 */
function applyAccent(hex: string | undefined): void {
  if (!hex || !/^#[0-9a-f]{6}$/i.test(hex)) return;
  const root = document.documentElement.style;
  const l = luminance(hex);
  root.setProperty('--accent', hex);
  root.setProperty('--accent-hover', hex);
  root.setProperty('--on-accent', 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#fff' : '#111');
  if (1.05 / (l + 0.05) >= 4.5) root.setProperty('--link', hex);
}
applyAccent(LOOK.accentColor);

/** How often the account's module and key state is read again, so turning the module off shows. */
const ENGAGE_POLL_MS = 10_000;

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });

  useEffect(() => {
    const token = takeToken();
    if (!token) {
      setBoot({ state: 'error', message: t('noKey') });
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
        setBoot({ state: 'error', message: e instanceof ApiError && e.status === 401 ? t('linkExpired') : String((e as Error).message) });
      }
    })();
  }, []);

  if (boot.state === 'loading')
    return (
      <main className="center" aria-busy="true">
        {t('loading')}
      </main>
    );
  if (boot.state === 'error') {
    return (
      <main className="center">
        <h1>{t('webhooks')}</h1>
        <p role="alert">{boot.message}</p>
      </main>
    );
  }
  return <Ready api={boot.api} session={boot.session} app={boot.app} />;
}

function Ready({ api, session, app }: { api: Api; session: Session; app: Application }) {
  const settings = useLoad(() => api.get<EngageSettings>(appPath(app.id, '/engage')), [api, app.id], ENGAGE_POLL_MS);
  const engage = settings.data ?? null;
  const portal = useMemo<Portal>(
    () => ({
      api,
      session,
      app,
      engage,
      can: (p) => session.permissions.includes(p),
      moduleOff: engage !== null && !engage.moduleEnabled,
      refreshEngage: settings.reload,
    }),
    [api, session, app, engage, settings.reload],
  );
  return (
    <PortalContext.Provider value={portal}>
      <Shell />
    </PortalContext.Provider>
  );
}

/** The name of the page a route shows, for the title and for screen readers. */
function pageName(route: string): string {
  const parts = route.split('/').filter(Boolean);
  if (parts[0] === 'catalog') return t('navCatalog');
  if (parts[0] === 'settings') return t('navSettings');
  if (parts[0] === 'destinations') return t('pageDestinations');
  if (parts[1] === 'new') return t('pageAdd');
  if (parts[1]) return parts[2] === 'testing' ? t('pageTesting') : parts[2] === 'log' ? t('pageLog') : t('pageOverview');
  return t('navEndpoints');
}

/**
 * After a route change: announce the new page, name it in the title, and, when the control that
 * was used is gone (focus fell to <body>), put focus on the page's main region, so keyboard and
 * screen-reader users continue from the top of the new page rather than from nowhere.
 */
function useRouteFocus(route: string): string {
  const [said, setSaid] = useState('');
  const first = useRef(true);
  useEffect(() => {
    const name = pageName(route);
    document.title = `${name} · ${LOOK.displayName ?? t('webhooks')}`;
    if (first.current) {
      first.current = false;
      return;
    }
    setSaid(name);
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected) document.getElementById('main')?.focus();
  }, [route]);
  return said;
}

const NAV = [
  ['/endpoints', 'navEndpoints'],
  ['/destinations', 'navDestinations'],
  ['/catalog', 'navCatalog'],
  ['/settings', 'navSettings'],
] as const;

function Shell() {
  const route = useRoute();
  const said = useRouteFocus(route);
  return (
    <PortalContext.Consumer>
      {(p) => (
        <>
          {/* biome-ignore lint/a11y/useValidAnchor: a skip link; the hash router owns #, so it moves focus itself */}
          <a
            className="skip"
            href="#main"
            onClick={(e) => {
              e.preventDefault();
              document.getElementById('main')?.focus();
            }}
          >
            {t('skip')}
          </a>
          <header className="top">
            <div className="brand">
              {LOOK.logoUrl && <img className="logo" src={LOOK.logoUrl} alt="" data-testid="logo" />}
              <span className="crumbs">
                {LOOK.displayName ?? t('administration')} → {t('webhooks')}
              </span>
              <strong>{p!.app.name}</strong>
            </div>
            <nav aria-label={t('webhooks')}>
              {NAV.map(([path, label]) => (
                <a key={path} href={`#${path}`} aria-current={route.startsWith(path) ? 'page' : undefined}>
                  {t(label)}
                </a>
              ))}
            </nav>
            <span className="perm" title={t('permTitle')}>
              {p!.can('manage') ? (p!.can('secrets') ? t('permFull') : t('permManage')) : t('permRead')}
            </span>
          </header>
          {p!.moduleOff && (
            <div className="banner" role="status">
              {t('moduleOff')}
            </div>
          )}
          <p className="sr" role="status" aria-live="polite" data-testid="announcer">
            {said}
          </p>
          <main id="main" tabIndex={-1} aria-label={pageName(route)}>
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
  if (parts[0] === 'destinations') return <Destinations />;
  if (parts[0] === 'endpoints' && parts[1] === 'new') return <AddEndpoint />;
  if (parts[0] === 'endpoints' && parts[1]) return <EndpointPage id={decodeURIComponent(parts[1])} tab={parts[2] ?? 'overview'} />;
  return <Endpoints />;
}
