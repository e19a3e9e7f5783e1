import { listAll, type EventType } from '../api';
import { useLoad, usePortal } from '../hooks';
import { ErrorText, exampleOf, groupEvents } from '../ui';
import { t } from '../i18n';

export function Catalog() {
  const { api } = usePortal();
  const catalog = useLoad(() => listAll<EventType>(api, '/api/v1/event-type?with_content=true'), []);
  const types = (catalog.data ?? []).filter((et) => !et.archived);
  return (
    <section aria-labelledby="ch">
      <h1 id="ch">{t('navCatalog')}</h1>
      <ErrorText error={catalog.error} />
      {catalog.data && types.length === 0 && <p className="empty">{t('noEventTypes')}</p>}
      {groupEvents(types).map(([group, list]) => (
        <section key={group} aria-label={group}>
          <h2>{group}</h2>
          {list.map((et) => {
            const schema = et.schemas?.['1'] ?? Object.values(et.schemas ?? {})[0];
            const example = exampleOf(et);
            return (
              <article key={et.name} className="card event" id={`et-${et.name}`}>
                <h3>
                  <code>{et.name}</code> {et.deprecated && <span className="badge off">{t('deprecated')}</span>}
                </h3>
                <p>{et.description}</p>
                {schema && (
                  <details>
                    <summary>{t('schema')}</summary>
                    <pre className="code" tabIndex={0}>
                      {JSON.stringify({ ...schema, examples: undefined }, null, 2)}
                    </pre>
                  </details>
                )}
                {example !== undefined && (
                  <details>
                    <summary>{t('example')}</summary>
                    <pre className="code" tabIndex={0}>
                      {JSON.stringify(example, null, 2)}
                    </pre>
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
