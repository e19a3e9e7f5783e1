import { useState, type FormEvent } from 'react';
import { ApiError, appPath, enc, listAll, type BrokerType, type Destination, type EventType } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText, EventPicker, Field } from '../ui';
import { t, type Key } from '../i18n';

const TYPES: [BrokerType, Key][] = [
  ['rabbitMq', 'typeRabbitMq'],
  ['redisStream', 'typeRedisStream'],
  ['natsJetStream', 'typeNatsJetStream'],
];
const typeName = (type: string) => t(TYPES.find(([k]) => k === type)?.[1] ?? 'destType');

const URI_EXAMPLE: Record<BrokerType, string> = {
  rabbitMq: 'amqps://user:password@rabbit.example.com:5671/vhost',
  redisStream: 'rediss://:password@redis.example.com:6380/0',
  natsJetStream: 'nats://nats.example.com:4222',
};

/** Where a destination publishes, as the server shows it (no credentials). */
function target(d: Destination): string {
  const c = d.config;
  if (d.type === 'rabbitMq') return `${c.uri} → ${c.routingKey}`;
  if (d.type === 'redisStream') return `${c.uri} → ${c.stream}`;
  return `${(c.servers ?? []).join(', ')} → ${c.subject}${c.credentialsSet ? ` (${t('credentialsSet')})` : ''}`;
}

/** The broker's own setting (routing key, stream, subject) by type. */
const TARGET_FIELD: Record<BrokerType, ['routingKey' | 'stream' | 'subject', Key]> = {
  rabbitMq: ['routingKey', 'routingKey'],
  redisStream: ['stream', 'streamName'],
  natsJetStream: ['subject', 'natsSubject'],
};

function AddDestination({ onAdded }: { onAdded: () => void }) {
  const { api, app } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type'), []);
  const [type, setType] = useState<BrokerType>('rabbitMq');
  const [uri, setUri] = useState('');
  const [name, setName] = useState('');
  const [maxLen, setMaxLen] = useState('');
  const [credentials, setCredentials] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [field, label] = TARGET_FIELD[type];

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setDone(false);
    const config: Record<string, unknown> = {
      [type === 'natsJetStream' ? 'servers' : 'uri']: type === 'natsJetStream' ? [uri.trim()] : uri.trim(),
      [field]: name.trim(),
    };
    if (type === 'redisStream' && maxLen.trim() !== '') config.maxLen = Number(maxLen);
    if (type === 'natsJetStream' && credentials.trim() !== '') config.credentials = credentials;
    try {
      await api.call('POST', appPath(app.id, '/destination'), { type, config, eventTypes: events.length ? events : undefined });
      setErrors({});
      setUri('');
      setName('');
      setMaxLen('');
      setCredentials('');
      setDone(true);
      onAdded();
    } catch (err) {
      setErrors(err instanceof ApiError && Object.keys(err.fields).length ? err.fields : { form: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card form" aria-labelledby="adddh">
      <h2 id="adddh">{t('addDestination')}</h2>
      <Field label={t('destType')} error={errors.type}>
        {(p) => (
          <select {...p} name="type" value={type} onChange={(e) => setType(e.target.value as BrokerType)}>
            {TYPES.map(([k, l]) => (
              <option key={k} value={k}>
                {t(l)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('brokerUri')} hint={t('brokerUriHint')}>
        {(p) => <input {...p} name="uri" value={uri} onChange={(e) => setUri(e.target.value)} placeholder={URI_EXAMPLE[type]} autoComplete="off" />}
      </Field>
      <Field label={t(label)}>{(p) => <input {...p} name={field} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      {type === 'redisStream' && (
        <Field label={t('maxLen')} hint={t('maxLenHint')}>
          {(p) => <input {...p} name="maxLen" inputMode="numeric" value={maxLen} onChange={(e) => setMaxLen(e.target.value)} />}
        </Field>
      )}
      {type === 'natsJetStream' && (
        <Field label={t('natsCredentials')} hint={t('natsCredentialsHint')}>
          {(p) => <textarea {...p} name="credentials" rows={4} value={credentials} onChange={(e) => setCredentials(e.target.value)} autoComplete="off" />}
        </Field>
      )}
      <ErrorText error={catalog.error} />
      {catalog.data && <EventPicker types={catalog.data.filter((et) => !et.archived)} chosen={events} onChange={setEvents} error={errors.eventTypes} />}
      {/* The server names the setting in its answer (config.uri, config.subject, …). */}
      <ErrorText error={errors.config ?? errors.form} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('creating') : t('create')}
        </button>
        <span role="status">{done ? t('destinationCreated') : ''}</span>
      </div>
    </form>
  );
}

function SecretButton({ id }: { id: string }) {
  const { api, app } = usePortal();
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (secret) return <code data-testid="destination-secret">{secret}</code>;
  return (
    <>
      <button
        type="button"
        className="small"
        onClick={() =>
          api
            .get<{ key: string }>(appPath(app.id, `/destination/${enc(id)}/secret`))
            .then((r) => setSecret(r.key))
            .catch((e: Error) => setError(e.message))
        }
      >
        {t('showSecret')}
      </button>
      <ErrorText error={error} />
    </>
  );
}

export function Destinations() {
  const { api, app, can } = usePortal();
  const list = useLoad(() => listAll<Destination>(api, appPath(app.id, '/destination?include_herald_types=true')), [app.id], 5000);
  const [error, setError] = useState<string | null>(null);
  const rows = list.data?.filter((d) => d.type !== 'pollingEndpoint');

  async function remove(d: Destination) {
    if (!window.confirm(t('confirmDeleteDestination'))) return;
    try {
      await api.call('DELETE', appPath(app.id, `/destination/${enc(d.id)}`));
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section aria-labelledby="desth">
      <div className="head">
        <h1 id="desth">{t('pageDestinations')}</h1>
      </div>
      <p className="muted">{t('destinationsIntro')}</p>
      <ErrorText error={list.error ?? error} />
      {rows && rows.length === 0 && <p className="empty">{t('noDestinations')}</p>}
      {rows && rows.length > 0 && (
        <div className="scroll">
          <table className="list" data-testid="destinations">
            <caption className="sr">{t('destinationsCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('destType')}</th>
                <th scope="col">{t('colTarget')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">
                  <span className="sr">{t('deleteDestination')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-destination={d.id}>
                  <td>{typeName(d.type)}</td>
                  <td data-label={t('colTarget')}>
                    <code className="url">{target(d)}</code>
                    {can('secrets') && (
                      <div>
                        <SecretButton id={d.id} />
                      </div>
                    )}
                  </td>
                  <td data-label={t('state')}>
                    <span className={`badge ${d.status === 'enabled' ? 'ok' : 'off'}`}>{d.status === 'enabled' ? t('enabled') : t('disabled')}</span>
                  </td>
                  <td>
                    {can('manage') && (
                      <button
                        type="button"
                        className="small"
                        onClick={() => remove(d)}
                        aria-label={`${t('deleteDestination')} ${typeName(d.type)} ${target(d)}`}
                      >
                        {t('deleteDestination')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can('manage') ? <AddDestination onAdded={list.reload} /> : <p className="muted">{t('cannotAddDestination')}</p>}
    </section>
  );
}
