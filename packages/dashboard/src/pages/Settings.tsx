import { useState, type FormEvent } from 'react';
import { ApiError, appPath } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText, Field } from '../ui';

export function Settings() {
  return (
    <section aria-labelledby="sh">
      <h1 id="sh">Settings</h1>
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
    if (
      engage?.encryptionEnabled &&
      !window.confirm(
        'Replace the encryption key? Events accepted from now on are encrypted with the new key: a receiver that holds only the old key cannot read them until it has the new one. Retries of older messages keep the old key.',
      )
    ) {
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
    if (!window.confirm('Stop encrypting payloads? Events from now on are sent in plaintext.')) return;
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
    if (!/^[a-zA-Z0-9]{32}$/.test(own)) return setError('A key is exactly 32 characters of a-z, A-Z and 0-9.');
    void set(own);
  }

  return (
    <div className="card">
      <h2>Payload encryption key</h2>
      <p>
        {engage === null
          ? 'Unknown.'
          : engage.encryptionEnabled
            ? `Payloads are encrypted (AES-256-CBC) with a key set ${engage.keySetAt ? new Date(engage.keySetAt).toLocaleString() : ''}.`
            : 'Payloads are sent in plaintext: no key is set.'}
      </p>
      {shown && (
        <div className="once" role="status">
          <p>
            <strong>Your new key, shown this once.</strong> Store it on the receiving side now; it cannot be shown again.
          </p>
          <code className="secret" data-testid="encryption-key">{shown}</code>
        </div>
      )}
      {!can('secrets') ? (
        <p className="muted">This session cannot set the encryption key.</p>
      ) : (
        <>
          <div className="actions">
            <button type="button" className="primary" onClick={() => set(null)}>
              {engage?.encryptionEnabled ? 'Rotate: generate a new key' : 'Generate a key'}
            </button>
            {engage?.encryptionEnabled && (
              <button type="button" className="danger" onClick={clear}>
                Remove key
              </button>
            )}
          </div>
          <form onSubmit={submit} className="inline-form">
            <Field label="Or set your own key" error={error} hint="32 characters of a-z, A-Z, 0-9.">
              {(p) => <input {...p} value={own} onChange={(e) => setOwn(e.target.value)} autoComplete="off" spellCheck={false} />}
            </Field>
            <div className="actions">
              <button type="submit">Set key</button>
            </div>
          </form>
          <p className="hint">
            A new key applies to events accepted from now on; retries of older messages keep the old key. Accept both keys on the
            receiving side until those retries are over.
          </p>
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
      <h2>Source IP addresses</h2>
      <ErrorText error={ips.error} />
      {ips.data &&
        (ips.data.addresses.length === 0 ? (
          <p className="muted" data-testid="no-source-ips">No fixed source addresses configured.</p>
        ) : (
          <>
            <p>Herald sends webhooks from these addresses. Allow them in your firewall:</p>
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
