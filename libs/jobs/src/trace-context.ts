import { randomBytes } from 'node:crypto';
import {
  ROOT_CONTEXT,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';
import { z } from 'zod';

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/** W3C trace context carried in every job payload, so one trace spans request → job. */
export const traceCarrierSchema = z.object({
  traceparent: z.string().regex(TRACEPARENT, 'must be a W3C traceparent (00-<trace-id>-<span-id>-<flags>)'),
  tracestate: z.string().optional(),
});
export type TraceCarrier = z.infer<typeof traceCarrierSchema>;

const carried = z.object({ trace: traceCarrierSchema });

/** The trace carrier of any job's data, of any version or validity (a job's span is parented on it). */
export function traceCarrierOf(data: unknown): TraceCarrier | undefined {
  const result = carried.safeParse(data);
  return result.success ? result.data.trace : undefined;
}

/**
 * The carrier for the active context: the registered propagator's output when an OpenTelemetry SDK is set up,
 * else the active span's context, else a fresh root (so the worker's spans still group per job).
 */
export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (carrier.traceparent && TRACEPARENT.test(carrier.traceparent)) {
    return withState(carrier.traceparent, carrier.tracestate);
  }
  const span = trace.getSpanContext(ctx);
  if (span && isSpanContextValid(span))
    return withState(formatTraceparent(span), span.traceState?.serialize());
  return { traceparent: formatTraceparent({ traceId: randomHex(16), spanId: randomHex(8), traceFlags: 0 }) };
}

/** A carrier continuing a stored trace id (an audit event's `traceId`), e.g. when the relay enqueues it later. */
export function traceCarrierForTraceId(traceId: string | null | undefined): TraceCarrier {
  const id = traceId && /^[\da-f]{32}$/.test(traceId) && !/^0+$/.test(traceId) ? traceId : randomHex(16);
  return { traceparent: formatTraceparent({ traceId: id, spanId: randomHex(8), traceFlags: 1 }) };
}

/** The parent context for a job's span; works with or without a registered propagator. */
export function contextFromTraceCarrier(carrier: TraceCarrier, base: Context = ROOT_CONTEXT): Context {
  const extracted = propagation.extract(base, carrier);
  if (trace.getSpanContext(extracted)) return extracted;
  const match = TRACEPARENT.exec(carrier.traceparent);
  if (!match) return base;
  const spanContext: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(base, spanContext) : base;
}

/** The trace id of a carrier, for log lines. */
export function traceIdOf(carrier: TraceCarrier): string {
  return carrier.traceparent.split('-')[1] ?? '';
}

function formatTraceparent(span: Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'>): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function withState(traceparent: string, tracestate: string | undefined): TraceCarrier {
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
