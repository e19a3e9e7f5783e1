// The log's parts: one message's attempts, and recovering failed messages.
import { useEffect, useState, type FormEvent } from 'react';
import { appPath, enc, STATUS_TEXT, type Attempt, type Endpoint, type Page } from '../api';
import { useLoad, usePortal } from '../hooks';
import { Ago, ErrorText, Field } from '../ui';

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
  if (!list.data) return <p aria-busy="true">Loading attempts…</p>;
  if (list.data.data.length === 0) return <p className="muted" role="status">No attempt yet…</p>;
  return (
    <div className="scroll">
      <table className="attempts">
        <caption className="sr">Attempts</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Response code</th>
            <th scope="col">Duration</th>
            <th scope="col">When</th>
            <th scope="col">Response body</th>
          </tr>
        </thead>
        <tbody>
          {list.data.data.map((a) => (
            <tr key={a.id} data-attempt={a.id}>
              <td>
                <span className={`status s${a.status}`}>{STATUS_TEXT[a.status]}</span>
                {a.triggerType === 1 && <span className="muted"> (manual)</span>}
              </td>
              <td>
                <code>{a.responseStatusCode || '—'}</code>
              </td>
              <td>{a.responseDurationMs} ms</td>
              <td>
                <Ago iso={a.timestamp} />
              </td>
              <td>
                {a.response ? (
                  <details>
                    <summary>Show</summary>
                    <pre className="code" tabIndex={0}>{a.response}</pre>
                  </details>
                ) : (
                  <span className="muted">empty</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Why a recover can send nothing although the log shows messages that did not arrive. */
const RETRYING_NOTE = ' Only failed messages are recovered: messages still being retried (Pending) are not failed yet and keep their schedule.';

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
        const t = await api.get<BackgroundTask>(`/api/v1/background-task/${enc(taskId)}`);
        if (!live) return;
        setTask(t);
        setError(null);
        if (t.status === 'running') timer = setTimeout(run, 1000);
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
      ? 'Recovering…'
      : task.status === 'finished'
        ? `Recovered: ${task.data.messagesSent ?? 0} message${task.data.messagesSent === 1 ? '' : 's'} sent again.${task.data.messagesSent ? '' : RETRYING_NOTE}`
        : `Recovery failed${task.data.error ? `: ${task.data.error}` : '.'}`;
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
    const t = new Date(since);
    if (Number.isNaN(t.getTime())) return setError('Choose a date and time.');
    try {
      const task = await api.call<BackgroundTask>('POST', appPath(app.id, `/endpoint/${enc(endpoint.id)}/recover`), { since: t.toISOString() });
      setNote(`Recovering every failed message since ${t.toLocaleString()}.`);
      setTaskId(task.id);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <form className="card inline-form" onSubmit={submit}>
      <h2>Recover failed messages</h2>
      <Field label="Resend everything that failed since" error={error} hint="At most 14 days back.">
        {(p) => <input {...p} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}
      </Field>
      <div className="actions">
        <button type="submit">Recover</button>
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
