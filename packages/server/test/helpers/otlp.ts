// Reads the OTLP trace exports a loopback Receiver recorded on `/v1/traces`: OTLP/JSON
// (http/json) and OTLP/protobuf (http/protobuf, decoded here from the wire format of
// opentelemetry/proto/collector/trace/v1 ExportTraceServiceRequest), into one flat list of spans.
import type { ReceivedRequest } from './receiver.js';

export type AttrValue = string | number | boolean;

export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttrValue>;
  /** The exporting process's resource (service.name, service.instance.id, …). */
  resource: Record<string, AttrValue>;
}

/** Every span in every export the receiver recorded on `path`. */
export function exportedSpans(requests: ReceivedRequest[]): ExportedSpan[] {
  return requests.flatMap((r) => (String(r.headers['content-type']).includes('json') ? fromJson(r.text) : fromProtobuf(r.body)));
}

// ---- OTLP/JSON: ids are hex strings, enums numbers, int64 values numbers or decimal strings.

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}

function jsonAttrs(kvs: JsonKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const { key, value } of kvs ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue ?? '';
  }
  return out;
}

function fromJson(text: string): ExportedSpan[] {
  const body = JSON.parse(text) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: JsonKeyValue[] }[] }[];
    }[];
  };
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = jsonAttrs(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind,
        attributes: jsonAttrs(s.attributes),
        resource,
      })),
    );
  });
}

// ---- OTLP/protobuf: a minimal reader of the protobuf wire format, enough for the fields used.

type Field = { no: number; varint?: bigint; bytes?: Buffer; fixed64?: Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 1) out.push({ no, fixed64: buf.subarray(i, (i += 8)) });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, bytes: buf.subarray(i, (i += len)) });
    } else if (wire === 5) i += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const sub = (fs: Field[], no: number) => fs.filter((f) => f.no === no && f.bytes).map((f) => f.bytes!);

function protoAttrs(kvs: Buffer[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs) {
    const f = fields(kv);
    const key = sub(f, 1)[0]?.toString('utf8') ?? '';
    const any = fields(sub(f, 2)[0] ?? Buffer.alloc(0));
    const v = any[0];
    if (!v) continue;
    // AnyValue: 1 string, 2 bool, 3 int64, 4 double.
    out[key] =
      v.no === 1 ? v.bytes!.toString('utf8') : v.no === 2 ? v.varint === 1n : v.no === 3 ? Number(BigInt.asIntN(64, v.varint!)) : v.fixed64!.readDoubleLE(0);
  }
  return out;
}

function fromProtobuf(body: Buffer): ExportedSpan[] {
  // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.resource = 1, scope_spans = 2;
  // Resource.attributes = 1; ScopeSpans.spans = 2; Span: trace_id 1, span_id 2, parent_span_id 4,
  // name 5, kind 6, attributes 9.
  return sub(fields(body), 1).flatMap((rsBuf) => {
    const rs = fields(rsBuf);
    const resource = protoAttrs(sub(fields(sub(rs, 1)[0] ?? Buffer.alloc(0)), 1));
    return sub(rs, 2).flatMap((ssBuf) =>
      sub(fields(ssBuf), 2).map((spanBuf) => {
        const s = fields(spanBuf);
        const hex = (no: number) => sub(s, no)[0]?.toString('hex') ?? '';
        return {
          traceId: hex(1),
          spanId: hex(2),
          parentSpanId: hex(4),
          name: sub(s, 5)[0]?.toString('utf8') ?? '',
          kind: Number(s.find((f) => f.no === 6)?.varint ?? 0n),
          attributes: protoAttrs(sub(s, 9)),
          resource,
        };
      }),
    );
  });
}

/**
 * The latest value of every counter and histogram count in the OTLP/JSON metric exports on
 * record, by `name` or `name{outcome}`, summed over the processes that exported it (identified by
 * service.instance.id). Counters are cumulative, so the latest export of each process holds its total.
 */
export function exportedMetricTotals(requests: ReceivedRequest[]): Record<string, number> {
  const latest = new Map<string, number>();
  for (const r of requests) {
    const body = JSON.parse(r.text) as {
      resourceMetrics?: {
        resource?: { attributes?: JsonKeyValue[] };
        scopeMetrics?: {
          metrics?: {
            name: string;
            sum?: { dataPoints?: { attributes?: JsonKeyValue[]; asInt?: number | string; asDouble?: number }[] };
            histogram?: { dataPoints?: { attributes?: JsonKeyValue[]; count?: number | string }[] };
          }[];
        }[];
      }[];
    };
    for (const rm of body.resourceMetrics ?? []) {
      const instance = String(jsonAttrs(rm.resource?.attributes)['service.instance.id'] ?? '');
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const points = m.sum?.dataPoints ?? m.histogram?.dataPoints ?? [];
          for (const p of points) {
            const outcome = jsonAttrs(p.attributes).outcome;
            const key = outcome === undefined ? m.name : `${m.name}{${outcome}}`;
            const value = 'count' in p ? Number(p.count) : Number((p as { asInt?: number | string }).asInt ?? (p as { asDouble?: number }).asDouble);
            latest.set(`${instance}\n${key}`, value);
          }
        }
      }
    }
  }
  const totals: Record<string, number> = {};
  for (const [k, v] of latest) {
    const key = k.slice(k.indexOf('\n') + 1);
    totals[key] = (totals[key] ?? 0) + v;
  }
  return totals;
}
