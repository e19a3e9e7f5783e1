import { useState } from 'react';
import { appPath, enc, filterOf, listAll, type Endpoint, type EventType } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText, exampleOf } from '../ui';
import { Attempts } from './LogParts';
import { t } from '../i18n';

interface Sent {
  msgId: string;
  eventType: string;
}

export function Testing({ endpoint }: { endpoint: Endpoint }) {
  const { api, app, can, moduleOff, engage } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type?with_content=true'), []);
  const filter = filterOf(endpoint);
  const types = (catalog.data ?? []).filter((et) => !et.archived && (filter.length === 0 || filter.includes(et.name)));
  // What the tenant picked, or else the first type on offer. Derived, not set by an effect once the
  // catalog arrives: an effect could run after the tenant's own pick and overwrite it.
  const [picked, setChosen] = useState('');
  const [sent, setSent] = useState<Sent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = picked || types[0]?.name || '';

  const type = types.find((et) => et.name === chosen);
  const example = chosen === 'svix.ping' ? { success: true } : exampleOf(type);
  const shown = asSent(example, app.uid ?? app.id, engage?.encryptionEnabled === true);
  const canSend = can('manage') && !moduleOff && !endpoint.disabled;

  async function send() {
    setError(null);
    setBusy(true);
    try {
      const m = await api.call<{ id: string }>('POST', appPath(app.id, `/endpoint/${enc(endpoint.id)}/send-example`), { eventType: chosen });
      setSent((s) => [{ msgId: m.id, eventType: chosen }, ...s]);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="card">
      <h2>{t('sendTest')}</h2>
      <ErrorText error={catalog.error} />
      <div className="inline">
        <label htmlFor="tt">{t('eventType')}</label>
        <select id="tt" value={chosen} onChange={(e) => setChosen(e.target.value)}>
          {types.map((et) => (
            <option key={et.name} value={et.name}>
              {et.name}
            </option>
          ))}
          <option value="svix.ping">{t('ping')}</option>
        </select>
        {canSend && (
          <button type="button" className="primary" onClick={send} disabled={busy || !chosen || (example === undefined && chosen !== 'svix.ping')}>
            {busy ? t('sending') : t('sendExample')}
          </button>
        )}
      </div>
      {moduleOff && <p className="muted">{t('testingOff')}</p>}
      {!moduleOff && endpoint.disabled && can('manage') && (
        <p className="muted" data-testid="why-no-send">
          {t('disabledNoSend')}
        </p>
      )}
      {!can('manage') && <p className="muted">{t('cannotTest')}</p>}
      {type?.description && <p className="muted">{type.description}</p>}
      <h3>{t('examplePayload')}</h3>
      {shown.encrypted && (
        <p className="hint" data-testid="encrypted-note">
          {t('encryptedNote')}
        </p>
      )}
      {example === undefined ? (
        <p className="muted">{t('noExample')}</p>
      ) : (
        <pre className="code" tabIndex={0} data-testid="example">
          {JSON.stringify(shown.body, null, 2)}
        </pre>
      )}
      {shown.encrypted && (
        <>
          <h3>{t('payloadDecrypted')}</h3>
          <pre className="code" tabIndex={0}>
            {JSON.stringify(shown.plaintext, null, 2)}
          </pre>
        </>
      )}
      <ErrorText error={error} />
      {sent.length > 0 && (
        <>
          <h3>{t('sent')}</h3>
          {sent.map((s) => (
            <div key={s.msgId} className="sent">
              <p>
                <code>{s.eventType}</code> · <code>{s.msgId}</code>
              </p>
              <Attempts msgId={s.msgId} endpointId={endpoint.id} />
            </div>
          ))}
        </>
      )}
    </div>
  );
}

/**
 * The example as this tenant's receiver gets it: an Engage envelope is addressed to this tenant
 * and, when the tenant has an encryption key, carries its payload encrypted (the server encrypts
 * at send time; the ciphertext is shown as a placeholder).
 */
function asSent(example: unknown, tenant: string, encrypted: boolean): { body: unknown; encrypted: boolean; plaintext?: unknown } {
  if (!example || typeof example !== 'object' || Array.isArray(example) || !('isEncrypted' in example) || !('payload' in example)) {
    return { body: example, encrypted: false };
  }
  const envelope = example as Record<string, unknown>;
  if (!encrypted) return { body: { ...envelope, tenant }, encrypted: false };
  return {
    body: { ...envelope, tenant, isEncrypted: true, payload: t('encryptedPlaceholder') },
    encrypted: true,
    plaintext: envelope.payload,
  };
}
