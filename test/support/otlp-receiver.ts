import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** OTLP/JSON as an OTLP/HTTP exporter sends it (ExportTraceServiceRequest), the parts tests read. */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
  /** Nanoseconds since the epoch (a string in OTLP/JSON: they do not fit a double exactly). */
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  /** Not OTLP's: the `service.name` of the resource that sent the span (which process). */
  service?: string;
  /** Not OTLP's: every attribute of the resource that sent the span, as plain values. */
  resource: Record<string, unknown>;
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource?: { attributes?: OtlpSpan['attributes'] };
    scopeSpans: Array<{ spans: Omit<OtlpSpan, 'service' | 'resource'>[] }>;
  }>;
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  endpoint: string;
  /** Every span received so far; assign [] to start over. */
  spans: OtlpSpan[];
  /** Requests that were not POST /v1/traces with JSON. */
  rejected: string[];
  close(): Promise<void>;
}

/** An OTLP/HTTP trace receiver on loopback: every POST to /v1/traces, decoded as the OTLP JSON it is. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver = { spans: [] as OtlpSpan[], rejected: [] as string[] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        receiver.rejected.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(415).end();
        return;
      }
      const request = JSON.parse(body) as OtlpRequest;
      for (const { resource, scopeSpans } of request.resourceSpans) {
        const attributes = Object.fromEntries((resource?.attributes ?? []).map((a) => [a.key, plainValue(a.value)]));
        const service = typeof attributes['service.name'] === 'string' ? attributes['service.name'] : undefined;
        const spans = scopeSpans.flatMap((s) => s.spans);
        receiver.spans.push(
          ...spans.map((span) => ({ ...span, resource: attributes, ...(service === undefined ? {} : { service }) })),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** An OTLP value as a plain one: numbers, strings, booleans, arrays of them. */
function plainValue(value: OtlpValue): unknown {
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plainValue);
  return value.stringValue ?? value.doubleValue ?? value.boolValue;
}

/** A span's start or end in milliseconds since the epoch. */
export const spanMs = (nanos: string | number | undefined): number => Math.round(Number(nanos) / 1e6);

/** One attribute's value, whatever its OTLP type. */
export function spanAttribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : plainValue(value);
}
