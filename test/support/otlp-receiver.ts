import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

/**
 * The parts of OTLP's trace.proto (opentelemetry-proto, `collector/trace/v1`, `trace/v1`, `common/v1`,
 * `resource/v1`) tests read, with the specification's field numbers: no npm package ships the .proto
 * files, and protobufjs skips the fields left out (events, links, trace state).
 */
const traceProto = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; }
}
message ArrayValue { repeated AnyValue values = 1; }
`;
const exportRequest = protobuf.parse(traceProto).root.lookupType('ExportTraceServiceRequest');

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
  /** Requests that were not POST /v1/traces with JSON or protobuf. */
  rejected: string[];
  /** The body format of each request taken, in order. */
  formats: Array<'json' | 'protobuf'>;
  close(): Promise<void>;
}

/** An OTLP/HTTP trace receiver on loopback: every POST to /v1/traces, decoded as the OTLP JSON or protobuf it is. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver = { spans: [] as OtlpSpan[], rejected: [] as string[], formats: [] as OtlpReceiver['formats'] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      const format = type.includes('json') ? 'json' : type.includes('protobuf') ? 'protobuf' : undefined;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !format) {
        receiver.rejected.push(`${req.method} ${req.url} ${type}`);
        res.writeHead(415).end();
        return;
      }
      receiver.formats.push(format);
      const body = Buffer.concat(chunks);
      const request = format === 'json' ? (JSON.parse(body.toString('utf8')) as OtlpRequest) : fromProtobuf(body);
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

/** A protobuf ExportTraceServiceRequest in OTLP/JSON's shape: ids in hex, 64-bit numbers as strings. */
function fromProtobuf(body: Buffer): OtlpRequest {
  const request = exportRequest.toObject(exportRequest.decode(body), { longs: String, arrays: true }) as OtlpRequest;
  const hex = (bytes: unknown) =>
    bytes instanceof Uint8Array && bytes.length ? Buffer.from(bytes).toString('hex') : undefined;
  for (const span of request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))) {
    const parentSpanId = hex(span.parentSpanId);
    Object.assign(span, { traceId: hex(span.traceId), spanId: hex(span.spanId), parentSpanId });
  }
  return request;
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
