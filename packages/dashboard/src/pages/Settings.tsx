import { useState, type FormEvent } from 'react';
import { ApiError, appPath } from '../api';
import { useLoad, usePortal } from '../hooks';
import { CopyButton, ErrorText, Field } from '../ui';
import { t } from '../i18n';

export function Settings() {
  return (
    <section aria-labelledby="sh">
      <h1 id="sh">{t('navSettings')}</h1>
      <div className="stack">
        <EncryptionKey />
        <SourceIps />
      </div>
    </section>
  );
}

function EncryptionKey() {
  const { api, app, can, engage, refreshEngage } = usePortal();
  const [shown, setShown] = useState<string | null>(null);
  const [own, setOwn] = useState('');
  const [error, setError] = useState<string | undefined>();

  async function set(key: string | null) {
    // Replacing a key in use breaks receivers that hold only the old one: ask first.
    if (engage?.encryptionEnabled && !window.confirm(t('confirmReplaceKey'))) {
      return;
    }
    setError(undefined);
    try {
      const r = await api.call<{ key: string }>('PUT', appPath(app.id, '/engage/encryption-key'), key ? { key } : {});
      setShown(r.key);
      setOwn('');
      refreshEngage();
    } catch (err) {
      setError(err instanceof ApiError && err.fields.key ? err.fields.key : (err as Error).message);
    }
  }
  async function clear() {
    if (!window.confirm(t('confirmRemoveKey'))) return;
    setError(undefined);
    try {
      await api.call('DELETE', appPath(app.id, '/engage/encryption-key'));
      setShown(null);
      refreshEngage();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!/^[a-zA-Z0-9]{32}$/.test(own)) return setError(t('keyRule'));
    void set(own);
  }

  return (
    <div className="card">
      <h2>{t('encKey')}</h2>
      <p>
        {engage === null
          ? t('unknown')
          : engage.encryptionEnabled
            ? t('encryptedSince', { when: engage.keySetAt ? new Date(engage.keySetAt).toLocaleString() : '' })
            : t('plaintext')}
      </p>
      {shown && (
        <div className="once" role="status">
          <p>
            <strong>{t('newKeyOnce')}</strong> {t('storeItNow')}
          </p>
          <code className="secret" data-testid="encryption-key">
            {shown}
          </code>{' '}
          <CopyButton text={shown} label={t('copyKey')} />
        </div>
      )}
      {!can('secrets') ? (
        <p className="muted">{t('cannotKey')}</p>
      ) : (
        <>
          <div className="actions">
            <button type="button" className="primary" onClick={() => set(null)}>
              {engage?.encryptionEnabled ? t('rotateKey') : t('generateKey')}
            </button>
            {engage?.encryptionEnabled && (
              <button type="button" className="danger" onClick={clear}>
                {t('removeKey')}
              </button>
            )}
          </div>
          <form onSubmit={submit} className="inline-form">
            <Field label={t('ownKey')} error={error} hint={t('ownKeyHint')}>
              {(p) => <input {...p} value={own} onChange={(e) => setOwn(e.target.value)} autoComplete="off" spellCheck={false} />}
            </Field>
            <div className="actions">
              <button type="submit">{t('setKey')}</button>
            </div>
          </form>
          <p className="hint">{t('keyNote')}</p>
        </>
      )}
    </div>
  );
}

function SourceIps() {
  const { api } = usePortal();
  // No fixed egress addresses configured: the API answers 404 (or, equally, an empty list).
  const ips = useLoad(
    () =>
      api.get<{ addresses?: string[] | null }>('/api/v1/source-ips').then(
        (r) => ({ addresses: Array.isArray(r?.addresses) ? r.addresses : [] }),
        (e) => {
          if (e instanceof ApiError && e.status === 404) return { addresses: [] as string[] };
          throw e;
        },
      ),
    [],
  );
  return (
    <div className="card">
      <h2>{t('sourceIps')}</h2>
      <ErrorText error={ips.error} />
      {ips.data &&
        (ips.data.addresses.length === 0 ? (
          <p className="muted" data-testid="no-source-ips">
            {t('noSourceIps')}
          </p>
        ) : (
          <>
            <p>{t('sourceIpsIntro')}</p>
            <ul className="ips">
              {ips.data.addresses.map((a) => (
                <li key={a}>
                  <code>{a}</code>
                </li>
              ))}
            </ul>
          </>
        ))}
    </div>
  );
}
