import { listAll, type EventType } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText, exampleOf, groupEvents } from '../ui';

export function Catalog() {
  const { api } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type?with_content=true'), []);
  const types = (catalog.data ?? []).filter((t) => !t.archived);
  return (
    <section aria-labelledby="ch">
      <h1 id="ch">Event catalog</h1>
      <ErrorText error={catalog.error} />
      {catalog.data && types.length === 0 && <p className="empty">No event types yet.</p>}
      {groupEvents(types).map(([group, list]) => (
        <section key={group} aria-label={group}>
          <h2>{group}</h2>
          {list.map((t) => {
            const schema = t.schemas?.['1'] ?? Object.values(t.schemas ?? {})[0];
            const example = exampleOf(t);
            return (
              <article key={t.name} className="card event" id={`et-${t.name}`}>
                <h3>
                  <code>{t.name}</code> {t.deprecated && <span className="badge off">Deprecated</span>}
                </h3>
                <p>{t.description}</p>
                {schema && (
                  <details>
                    <summary>Schema</summary>
                    <pre className="code" tabIndex={0}>{JSON.stringify({ ...schema, examples: undefined }, null, 2)}</pre>
                  </details>
                )}
                {example !== undefined && (
                  <details>
                    <summary>Example</summary>
                    <pre className="code" tabIndex={0}>{JSON.stringify(example, null, 2)}</pre>
                  </details>
                )}
              </article>
            );
          })}
        </section>
      ))}
    </section>
  );
}
