import { useState, type FormEvent } from 'react';
import { ApiError, appPath, enc, listAll, type Endpoint, type EventType } from '../api';
import { go, useLoad, usePortal } from '../hooks';
import { ErrorText, EventPicker, Field } from '../ui';
import { t } from '../i18n';

export function AddEndpoint() {
  const { api, app, can } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type'), []);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [rate, setRate] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  if (!can('manage')) return <p role="alert">{t('cannotAdd')}</p>;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!/^https?:\/\/\S+$/i.test(url.trim())) local.url = t('enterUrl');
    if (rate.trim() !== '' && !/^[1-9]\d*$/.test(rate.trim())) local.throttleRate = t('rateRule');
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const ep = await api.call<Endpoint>('POST', appPath(app.id, '/endpoint'), {
        url: url.trim(),
        description,
        eventTypes: events.length ? events : undefined,
        throttleRate: rate.trim() ? Number(rate) : undefined,
      });
      go(`/endpoints/${enc(ep.id)}`);
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) {
        const f = { ...err.fields };
        if (f.filterTypes) f.eventTypes = f.filterTypes;
        if (f.rateLimit) f.throttleRate = f.rateLimit;
        const known = ['url', 'description', 'eventTypes', 'throttleRate'];
        if (!Object.keys(f).some((k) => known.includes(k))) f.form = err.message;
        setErrors(f);
      } else setErrors({ form: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="addh">
      <p>
        <a href="#/endpoints">{t('back')}</a>
      </p>
      <h1 id="addh">{t('pageAdd')}</h1>
      <form onSubmit={submit} noValidate className="card form">
        <Field label={t('endpointUrl')} error={errors.url} hint={t('urlHint')}>
          {(p) => (
            <input
              {...p}
              type="url"
              name="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              placeholder="https://example.com/webhooks"
              required
              // biome-ignore lint/a11y/noAutofocus: the page exists to fill in this one field
              autoFocus
            />
          )}
        </Field>
        <Field label={t('description')} error={errors.description}>
          {(p) => <input {...p} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <ErrorText error={catalog.error} />
        {catalog.data && <EventPicker types={catalog.data.filter((et) => !et.archived)} chosen={events} onChange={setEvents} error={errors.eventTypes} />}
        <Field label={t('rateLimit')} error={errors.throttleRate} hint={t('rateEmpty')}>
          {(p) => <input {...p} name="throttleRate" inputMode="numeric" value={rate} onChange={(e) => setRate(e.target.value)} />}
        </Field>
        <ErrorText error={errors.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('creating') : t('create')}
          </button>
          <a className="button" href="#/endpoints">
            {t('cancel')}
          </a>
        </div>
      </form>
    </section>
  );
}
