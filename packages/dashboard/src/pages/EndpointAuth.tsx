// How Herald authenticates to the endpoint beyond the signature: Basic, a bearer token or OAuth
// client credentials (one of them), a client certificate (mTLS) and the CA the receiver's
// certificate must chain to. Edited under the `secrets` permission; credentials are write-only
// (the server answers only whether each is set).
import { useState, type FormEvent } from 'react';
import { type Api, ApiError } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText } from '../ui';
import { t } from '../i18n';

interface AuthState {
  http: { type: 'basic'; username: string } | { type: 'bearer' } | null;
  oauth: { tokenUrl: string; clientId: string; scopes: string[] | null } | null;
  mtls: boolean;
  ca: boolean;
}

/** null when the server answers 404 (the setting is not there). */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

async function loadState(api: Api, base: string): Promise<AuthState> {
  const [http, oauth, mtls, ca] = await Promise.all([
    orNull(api.get<AuthState['http']>(`${base}/auth`)),
    orNull(api.get<AuthState['oauth']>(`${base}/oauth`)),
    api.get<{ enabled: boolean }>(`${base}/mtls`),
    api.get<{ cert: string | null }>(`${base}/ca`),
  ]);
  return { http, oauth, mtls: mtls.enabled, ca: ca.cert !== null };
}

type Kind = 'none' | 'basic' | 'bearer' | 'oauth';

export function Authentication({ base }: { base: string }) {
  const { api, can } = usePortal();
  const allowed = can('secrets');
  const state = useLoad(() => (allowed ? loadState(api, base) : Promise.resolve(null)), [base, allowed]);
  const [kind, setKind] = useState<Kind>('none');
  const [f, setF] = useState({
    username: '',
    password: '',
    token: '',
    tokenUrl: '',
    clientId: '',
    clientSecret: '',
    scopes: '',
    audience: '',
    identity: '',
    ca: '',
  });
  const [error, setError] = useState<string | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (ev: { target: { value: string } }) => setF({ ...f, [k]: ev.target.value });

  async function run(steps: [string, string, unknown?][]) {
    setError(null);
    setMsg(null);
    try {
      for (const [method, path, body] of steps) await api.call(method as 'PUT', `${base}${path}`, body);
      setMsg(t('saved'));
      setF({ ...f, password: '', token: '', clientSecret: '', identity: '', ca: '' });
      state.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  }

  async function saveAuthorization(ev: FormEvent) {
    ev.preventDefault();
    const s = state.data;
    // One writer of Authorization: remove the other kind first.
    const clear: [string, string][] = [];
    if (s?.http && kind !== 'basic' && kind !== 'bearer') clear.push(['DELETE', '/auth']);
    if (s?.oauth && kind !== 'oauth') clear.push(['DELETE', '/oauth']);
    if (kind === 'basic') await run([...clear, ['PUT', '/auth', { type: 'basic', username: f.username, password: f.password }]]);
    else if (kind === 'bearer') await run([...clear, ['PUT', '/auth', { type: 'bearer', token: f.token }]]);
    else if (kind === 'oauth') {
      const scopes = f.scopes.split(/[\s,]+/).filter(Boolean);
      await run([
        ...clear,
        [
          'PUT',
          '/oauth',
          {
            grantType: 'clientCredentials',
            authMethod: 'clientSecretBasic',
            tokenUrl: f.tokenUrl.trim(),
            clientId: f.clientId,
            clientSecret: f.clientSecret || null,
            scopes: scopes.length ? scopes : null,
            audience: f.audience.trim() || null,
          },
        ],
      ]);
    } else await run(clear);
  }

  if (!allowed) {
    return (
      <div className="card wide">
        <h2>{t('authentication')}</h2>
        <p className="muted">{t('cannotAuthentication')}</p>
      </div>
    );
  }
  const s = state.data;
  const current = !s
    ? ''
    : s.oauth
      ? t('authOauthSet', { url: s.oauth.tokenUrl, client: s.oauth.clientId })
      : s.http?.type === 'basic'
        ? t('authBasicSet', { user: s.http.username })
        : s.http?.type === 'bearer'
          ? t('authBearerSet')
          : t('authNoneSet');
  return (
    <div className="card wide">
      <h2>{t('authentication')}</h2>
      <ErrorText error={state.error} />
      {s && (
        <ul className="headers" data-testid="auth-state">
          <li>{current}</li>
          <li>{s.mtls ? t('mtlsSet') : t('mtlsNotSet')}</li>
          <li>{s.ca ? t('caSet') : t('caNotSet')}</li>
        </ul>
      )}
      <form onSubmit={saveAuthorization}>
        <div className="inline">
          <label htmlFor="auth-kind">{t('authKind')}</label>
          <select id="auth-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="none">{t('authKindNone')}</option>
            <option value="basic">{t('authKindBasic')}</option>
            <option value="bearer">{t('authKindBearer')}</option>
            <option value="oauth">{t('authKindOauth')}</option>
          </select>
        </div>
        {kind === 'basic' && (
          <div className="inline">
            <label htmlFor="auth-user">{t('username')}</label>
            <input id="auth-user" value={f.username} onChange={set('username')} autoComplete="off" />
            <label htmlFor="auth-pass">{t('password')}</label>
            <input id="auth-pass" type="password" value={f.password} onChange={set('password')} autoComplete="new-password" />
          </div>
        )}
        {kind === 'bearer' && (
          <div className="inline">
            <label htmlFor="auth-token">{t('bearerToken')}</label>
            <input id="auth-token" type="password" value={f.token} onChange={set('token')} autoComplete="off" />
          </div>
        )}
        {kind === 'oauth' && (
          <div className="inline">
            <label htmlFor="oauth-url">{t('tokenUrl')}</label>
            <input id="oauth-url" type="url" value={f.tokenUrl} onChange={set('tokenUrl')} placeholder="https://auth.example.com/oauth/token" />
            <label htmlFor="oauth-client">{t('clientId')}</label>
            <input id="oauth-client" value={f.clientId} onChange={set('clientId')} autoComplete="off" />
            <label htmlFor="oauth-secret">{t('clientSecret')}</label>
            <input id="oauth-secret" type="password" value={f.clientSecret} onChange={set('clientSecret')} autoComplete="off" />
            <label htmlFor="oauth-scopes">{t('scopes')}</label>
            <input id="oauth-scopes" value={f.scopes} onChange={set('scopes')} placeholder="webhooks:write" />
            <label htmlFor="oauth-audience">{t('audience')}</label>
            <input id="oauth-audience" value={f.audience} onChange={set('audience')} />
          </div>
        )}
        <div className="actions">
          <button type="submit">{t('saveAuthentication')}</button>
        </div>
      </form>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void run([['PUT', '/mtls', { identity: f.identity }]]);
        }}
      >
        <label htmlFor="mtls-identity">{t('mtlsIdentity')}</label>
        <textarea id="mtls-identity" rows={4} value={f.identity} onChange={set('identity')} placeholder="-----BEGIN CERTIFICATE-----" />
        <div className="actions">
          <button type="submit">{t('saveMtls')}</button>
          {s?.mtls && (
            <button type="button" className="danger" onClick={() => void run([['DELETE', '/mtls']])}>
              {t('removeMtls')}
            </button>
          )}
        </div>
      </form>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void run([['PUT', '/ca', { cert: f.ca }]]);
        }}
      >
        <label htmlFor="server-ca">{t('serverCa')}</label>
        <textarea id="server-ca" rows={4} value={f.ca} onChange={set('ca')} placeholder="-----BEGIN CERTIFICATE-----" />
        <div className="actions">
          <button type="submit">{t('saveCa')}</button>
          {s?.ca && (
            <button type="button" onClick={() => void run([['PUT', '/ca', { cert: null }]])}>
              {t('useStandardCas')}
            </button>
          )}
        </div>
      </form>
      {msg && <p role="status">{msg}</p>}
      <ErrorText error={error} />
    </div>
  );
}
