// An endpoint's transformation: its JavaScript, whether it runs, and a "try it" that runs the code
// being edited on a sample payload through `…/transformation/simulate` (nothing is saved or sent).
// Edited under the `manage` permission.
import { useState, type FormEvent } from 'react';
import { ApiError, type SimulationOut, type TransformationOut } from '../api';
import { useDraft, useLoad, usePortal } from '../hooks';
import { ErrorText, Field } from '../ui';
import { t } from '../i18n';

const EXAMPLE = `function handler(webhook) {
  webhook.payload = { text: webhook.eventType, data: webhook.payload };
  return webhook;
}`;

export function Transformation({ base }: { base: string }) {
  const { api, can } = usePortal();
  const manage = can('manage');
  const current = useLoad(() => api.get<TransformationOut>(`${base}/transformation`), [base]);
  const draft = useDraft({ code: current.data?.code ?? '', enabled: current.data?.enabled ?? false });
  const v = draft.value;
  const [sample, setSample] = useState('{\n  "id": "c-1"\n}');
  const [eventType, setEventType] = useState('contact.updated');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const [result, setResult] = useState<SimulationOut | null>(null);

  function failed(err: unknown) {
    if (err instanceof ApiError) setErrors(Object.keys(err.fields).length ? err.fields : { form: err.message });
    else setErrors({ form: (err as Error).message });
  }

  async function save(ev: FormEvent) {
    ev.preventDefault();
    setSaved(false);
    setErrors({});
    try {
      await api.call('PATCH', `${base}/transformation`, { code: v.code.trim() === '' ? null : v.code, enabled: v.enabled });
      draft.saved();
      current.reload();
      setSaved(true);
    } catch (err) {
      failed(err);
    }
  }

  async function tryIt() {
    setErrors({});
    setResult(null);
    let payload: unknown;
    try {
      payload = JSON.parse(sample);
    } catch {
      return setErrors({ sample: t('filterNotJson') });
    }
    try {
      setResult(await api.call<SimulationOut>('POST', `${base}/transformation/simulate`, { code: v.code || EXAMPLE, eventType, payload }));
    } catch (err) {
      failed(err);
    }
  }

  return (
    <form className="card wide" onSubmit={save} noValidate aria-labelledby="transformation-h">
      <h2 id="transformation-h">{t('transformation')}</h2>
      <p className="muted">{t('transformationHelp')}</p>
      <ErrorText error={current.error} />
      <Field label={t('transformationCode')} error={errors.code}>
        {(p) => (
          <textarea
            {...p}
            name="code"
            rows={8}
            spellCheck={false}
            className="code"
            placeholder={EXAMPLE}
            value={v.code}
            disabled={!manage}
            onChange={(ev) => {
              setSaved(false);
              draft.set({ ...v, code: ev.target.value });
            }}
          />
        )}
      </Field>
      <label className="inline">
        <input
          type="checkbox"
          name="enabled"
          checked={v.enabled}
          disabled={!manage}
          onChange={(ev) => {
            setSaved(false);
            draft.set({ ...v, enabled: ev.target.checked });
          }}
        />{' '}
        {t('transformationOn')}
      </label>
      <ErrorText error={errors.enabled ?? errors.form} />
      {manage && (
        <>
          <div className="actions">
            <button type="submit" className="primary">
              {t('saveTransformation')}
            </button>
            {saved && <span role="status">{t('saved')}</span>}
          </div>
          <div className="try">
            <Field label={t('sampleEventType')}>
              {(p) => <input {...p} name="sampleEventType" value={eventType} onChange={(ev) => setEventType(ev.target.value)} />}
            </Field>
            <Field label={t('samplePayload')} error={errors.sample ?? errors.payload}>
              {(p) => (
                <textarea {...p} name="sample" rows={4} spellCheck={false} className="code" value={sample} onChange={(ev) => setSample(ev.target.value)} />
              )}
            </Field>
            <div className="actions">
              <button type="button" onClick={() => void tryIt()}>
                {t('tryTransformation')}
              </button>
            </div>
          </div>
        </>
      )}
      {result && (
        <div data-testid="transformation-result" role="status">
          <h3>{t('transformationResult')}</h3>
          {result.cancel ? (
            <p>{t('transformationCanceled')}</p>
          ) : (
            <pre>
              {`${result.method} ${result.url}\n`}
              {Object.entries(result.headers ?? {})
                .map(([k, val]) => `${k}: ${val}\n`)
                .join('')}
              {`\n${result.payload}`}
            </pre>
          )}
        </div>
      )}
    </form>
  );
}
