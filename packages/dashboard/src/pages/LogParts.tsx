// The log's parts: one message's attempts, and recovering failed messages.
import { useEffect, useState, type FormEvent } from 'react';
import { appPath, enc, type Attempt, type Endpoint, type Page } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, ErrorText, Field } from '../ui';
import { statusText, t, tn } from '../i18n';

export const POLL_MS = 2000;

/** The attempts of one message at one endpoint, polled so new ones appear. */
export function Attempts({ msgId, endpointId }: { msgId: string; endpointId: string }) {
  const { api, app } = usePortal();
  const list = useLoad(
    () => api.get<Page<Attempt>>(appPath(app.id, `/attempt/msg/${enc(msgId)}?endpoint_id=${enc(endpointId)}&limit=50`)),
    [msgId, endpointId],
    POLL_MS,
  );
  if (list.error && !list.data) return <ErrorText error={list.error} />;
  if (!list.data) return <p aria-busy="true">{t('loadingAttempts')}</p>;
  if (list.data.data.length === 0)
    return (
      <p className="muted" role="status">
        {t('noAttemptYet')}
      </p>
    );
  return (
    <div className="scroll">
      <table className="attempts">
        <caption className="sr">{t('attempts')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('status')}</th>
            <th scope="col">{t('colCode')}</th>
            <th scope="col">{t('colDuration')}</th>
            <th scope="col">{t('colWhen')}</th>
            <th scope="col">{t('colRequest')}</th>
            <th scope="col">{t('colBody')}</th>
          </tr>
        </thead>
        <tbody>
          {list.data.data.map((a) => (
            <tr key={a.id} data-attempt={a.id}>
              <td>
                <span className={`status s${a.status}`}>{statusText(a.status)}</span>
                {a.triggerType === 1 && <span className="muted"> {t('manual')}</span>}
              </td>
              <td>
                <code>{a.responseStatusCode || '—'}</code>
              </td>
              <td>{t('ms', { n: a.responseDurationMs })}</td>
              <td>
                <Ago iso={a.timestamp} />
              </td>
              <td>
                <RequestSent attempt={a} />
              </td>
              <td>
                {a.response ? (
                  <details>
                    <summary>{t('show')}</summary>
                    <pre className="code" tabIndex={0}>
                      {a.response}
                    </pre>
                  </details>
                ) : (
                  <span className="muted">{t('empty')}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * What an attempt sent: its headers as recorded (custom headers and authorization masked by the
 * server) and the body, which is the message's payload, read from the message when opened.
 */
function RequestSent({ attempt }: { attempt: Attempt }) {
  const [open, setOpen] = useState(false);
  const headers = attempt.requestHeaders;
  return (
    <details data-testid="request" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{t('show')}</summary>
      <p>
        <strong>{t('requestHeaders')}</strong>
      </p>
      {headers ? (
        <>
          <pre className="code" tabIndex={0}>
            {Object.entries(headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n')}
          </pre>
          <p className="muted">{t('maskedNote')}</p>
        </>
      ) : (
        <p className="muted">{t('requestNotKept')}</p>
      )}
      <p>
        <strong>{t('requestBody')}</strong>
      </p>
      {open && <Payload msgId={attempt.msgId} />}
    </details>
  );
}

function Payload({ msgId }: { msgId: string }) {
  const { api, app } = usePortal();
  const msg = useLoad(() => api.get<{ payload: unknown }>(appPath(app.id, `/msg/${enc(msgId)}`)), [msgId]);
  if (msg.error && !msg.data) return <ErrorText error={msg.error} />;
  if (!msg.data) return <p aria-busy="true">{t('loadingPayload')}</p>;
  return (
    <pre className="code" tabIndex={0}>
      {JSON.stringify(msg.data.payload, null, 2)}
    </pre>
  );
}

interface BackgroundTask {
  id: string;
  status: 'running' | 'finished' | 'failed';
  data: { messagesSent?: number; error?: string };
}

/** The recover's progress, polled until it is finished or failed. */
function RecoverProgress({ taskId }: { taskId: string }) {
  const { api } = usePortal();
  const [task, setTask] = useState<BackgroundTask | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const bt = await api.get<BackgroundTask>(`/api/v1/background-task/${enc(taskId)}`);
        if (!live) return;
        setTask(bt);
        setError(null);
        if (bt.status === 'running') timer = setTimeout(run, 1000);
      } catch (e) {
        if (!live) return;
        setError((e as Error).message);
        timer = setTimeout(run, 3000);
      }
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [api, taskId]);
  const text =
    !task || task.status === 'running'
      ? t('recovering')
      : task.status === 'finished'
        ? `${tn('recovered', task.data.messagesSent ?? 0)}${task.data.messagesSent ? '' : ` ${t('retryingNote')}`}`
        : task.data.error
          ? t('recoveryFailedWhy', { error: task.data.error })
          : t('recoveryFailed');
  return (
    <>
      <p role="status" data-testid="recover-result" data-state={task?.status ?? 'running'} aria-busy={!task || task.status === 'running'}>
        {text}
      </p>
      <ErrorText error={error} />
    </>
  );
}

export function Recover({ endpoint }: { endpoint: Endpoint }) {
  const { api, app } = usePortal();
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 24 * 3600 * 1000));
  const [error, setError] = useState<string | undefined>();
  const [note, setNote] = useState<string | null>(null);
  const [taskId, setTaskId] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    setNote(null);
    setTaskId(null);
    const when = new Date(since);
    if (Number.isNaN(when.getTime())) return setError(t('chooseDateTime'));
    try {
      const task = await api.call<BackgroundTask>('POST', appPath(app.id, `/endpoint/${enc(endpoint.id)}/recover`), { since: when.toISOString() });
      setNote(t('recoveringSince', { when: when.toLocaleString() }));
      setTaskId(task.id);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <form className="card inline-form" onSubmit={submit}>
      <h2>{t('recoverTitle')}</h2>
      <Field label={t('recoverSince')} error={error} hint={t('recoverHint')}>
        {(p) => <input {...p} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}
      </Field>
      <div className="actions">
        <button type="submit">{t('recover')}</button>
      </div>
      {note && <p>{note}</p>}
      {taskId && <RecoverProgress key={taskId} taskId={taskId} />}
    </form>
  );
}

function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
