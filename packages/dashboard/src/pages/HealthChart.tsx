// The endpoint's health at a glance: attempts per hour or day (succeeded above failed) and their
// p50/p95 latency, drawn as plain SVG from the server's aggregate (…/stats/timeseries). The
// pictures are for the eye; the summary sentence and the table carry the same numbers for
// screen readers and for anyone who wants exact values.
import { useState } from 'react';
import { useLoad, usePortal } from '../hooks';
import { t } from '../i18n';
import { ErrorText } from '../ui';

export interface HealthBucket {
  start: string;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

type Range = 'hour' | 'day';
const W = 600;
const H = 110;
const PAD = 4;

/** A round upper bound for an axis (1, 2, 5 × 10ⁿ). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v)!;
}

function label(iso: string, range: Range): string {
  const d = new Date(iso);
  return range === 'hour'
    ? d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/** A line through the buckets that have a value; a gap where a bucket has none. */
function linePath(values: (number | null)[], max: number, step: number): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = PAD + step * (i + 0.5);
    const y = H - PAD - ((H - 2 * PAD) * v) / max;
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return d;
}

export function HealthChart({ base }: { base: string }) {
  const { api } = usePortal();
  const [range, setRange] = useState<Range>('hour');
  const series = useLoad(() => api.get<{ buckets: HealthBucket[] }>(`${base}/stats/timeseries?bucket=${range}`), [base, range], 30_000);
  const b = series.data?.buckets ?? [];
  const ok = b.reduce((n, x) => n + x.succeeded, 0);
  const bad = b.reduce((n, x) => n + x.failed, 0);
  const p50s = b.map((x) => x.p50Ms).filter((v): v is number => v !== null);
  const p95s = b.map((x) => x.p95Ms).filter((v): v is number => v !== null);
  const ms = (n: number) => t('msValue', { n });
  const summary =
    ok + bad === 0 ? t('healthEmpty') : t('healthSummary', { ok, bad, lo: ms(Math.min(...p50s)), hi: ms(Math.max(...p50s)), p95: ms(Math.max(...p95s)) });
  const step = b.length ? (W - 2 * PAD) / b.length : 0;
  const countMax = niceMax(Math.max(0, ...b.map((x) => x.succeeded + x.failed)));
  const msMax = niceMax(Math.max(0, ...p95s));
  const y = (v: number, max: number) => ((H - 2 * PAD) * v) / max;

  return (
    <div className="card wide health" data-testid="health">
      <div className="health-head">
        <h2 id="health-h">{t('health')}</h2>
        <div role="group" aria-label={t('healthRange')} className="switch">
          {(['hour', 'day'] as const).map((r) => (
            <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>
              {r === 'hour' ? t('range24h') : t('range14d')}
            </button>
          ))}
        </div>
      </div>
      <ErrorText error={series.error} />
      {series.data && (
        <figure aria-labelledby="health-h health-sum">
          <p id="health-sum" data-testid="health-summary">
            {summary}
          </p>
          <div className="charts" aria-hidden="true">
            <div>
              <h3>
                {t('attemptsOverTime')} <span className="muted">(max {countMax})</span>
              </h3>
              <p className="legend">
                <span className="key ok" /> {t('succeeded')} <span className="key bad" /> {t('failed')}
              </p>
              <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart" data-testid="attempts-chart" aria-hidden="true">
                <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className="axis" />
                {b.map((x, i) => {
                  const hOk = y(x.succeeded, countMax);
                  const hBad = y(x.failed, countMax);
                  const left = PAD + step * i + step * 0.15;
                  const width = step * 0.7;
                  return (
                    <g key={x.start}>
                      {x.succeeded > 0 && <rect className="ok" x={left} width={width} y={H - PAD - hOk} height={hOk} />}
                      {x.failed > 0 && <rect className="bad" x={left} width={width} y={H - PAD - hOk - hBad} height={hBad} />}
                    </g>
                  );
                })}
              </svg>
            </div>
            <div>
              <h3>
                {t('latencyOverTime')} <span className="muted">(max {msMax})</span>
              </h3>
              <p className="legend">
                <span className="key p50" /> p50 <span className="key p95" /> p95
              </p>
              <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart" data-testid="latency-chart" aria-hidden="true">
                <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className="axis" />
                <path
                  className="p95"
                  d={linePath(
                    b.map((x) => x.p95Ms),
                    msMax,
                    step,
                  )}
                />
                <path
                  className="p50"
                  d={linePath(
                    b.map((x) => x.p50Ms),
                    msMax,
                    step,
                  )}
                />
                {b.map((x, i) =>
                  x.p50Ms === null ? null : (
                    <g key={x.start}>
                      <rect className="p95" x={PAD + step * (i + 0.5) - 2} width={4} y={H - PAD - y(x.p95Ms!, msMax) - 2} height={4} />
                      <rect className="p50" x={PAD + step * (i + 0.5) - 2} width={4} y={H - PAD - y(x.p50Ms, msMax) - 2} height={4} />
                    </g>
                  ),
                )}
              </svg>
            </div>
            {b.length > 0 && (
              <p className="axis-labels muted">
                <span>{label(b[0]!.start, range)}</span>
                <span>{label(b.at(-1)!.start, range)}</span>
              </p>
            )}
          </div>
          <details>
            <summary>{t('healthTable')}</summary>
            <table data-testid="health-table">
              <thead>
                <tr>
                  <th scope="col">{t('bucketStart')}</th>
                  <th scope="col">{t('succeeded')}</th>
                  <th scope="col">{t('failed')}</th>
                  <th scope="col">{t('p50')}</th>
                  <th scope="col">{t('p95')}</th>
                </tr>
              </thead>
              <tbody>
                {b
                  .filter((x) => x.succeeded + x.failed > 0)
                  .map((x) => (
                    <tr key={x.start}>
                      <th scope="row">
                        <time dateTime={x.start}>{label(x.start, range)}</time>
                      </th>
                      <td>{x.succeeded}</td>
                      <td>{x.failed}</td>
                      <td>{x.p50Ms ?? '–'}</td>
                      <td>{x.p95Ms ?? '–'}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </details>
        </figure>
      )}
    </div>
  );
}
