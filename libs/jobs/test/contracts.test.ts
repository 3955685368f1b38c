import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  accountLinkedPayloadSchema,
  auditFanoutPayloadSchema,
  contextFromTraceCarrier,
  currentTraceCarrier,
  defaultGroupPayloadSchema,
  jobIds,
  traceCarrierForTraceId,
  traceIdOf,
} from '../src/index.js';

const trace0 = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

describe('payload schemas v1', () => {
  it('accept the documented shapes', () => {
    expect(
      defaultGroupPayloadSchema.parse({
        v: 1,
        orgId: 'org-1',
        userId: '0190a6c4-7c1e-7000-8000-000000000001',
        groupDisplayName: 'Everyone',
        eventId: '0190a6c4-7c1e-7000-8000-000000000002',
        trace: trace0,
      }),
    ).toMatchObject({ groupDisplayName: 'Everyone' });
    expect(
      accountLinkedPayloadSchema.parse({
        v: 1,
        orgId: 'o',
        userId: 'u',
        tokenId: 't',
        eventId: 'e',
        trace: trace0,
      }),
    ).not.toHaveProperty('externalId');
    expect(auditFanoutPayloadSchema.parse({ v: 1, orgId: 'o', eventId: 'e', trace: trace0 })).toEqual({
      v: 1,
      orgId: 'o',
      eventId: 'e',
      trace: trace0,
    });
  });

  it('reject another version, missing trace context and ids that cannot be part of a job id', () => {
    const base = { v: 1, orgId: 'o', eventId: 'e', trace: trace0 };
    expect(auditFanoutPayloadSchema.safeParse({ ...base, v: 2 }).success).toBe(false);
    expect(auditFanoutPayloadSchema.safeParse({ ...base, trace: undefined }).success).toBe(false);
    expect(auditFanoutPayloadSchema.safeParse({ ...base, trace: { traceparent: 'nope' } }).success).toBe(
      false,
    );
    expect(auditFanoutPayloadSchema.safeParse({ ...base, eventId: 'a:b' }).success).toBe(false);
    expect(auditFanoutPayloadSchema.safeParse({ ...base, orgId: '' }).success).toBe(false);
  });
});

describe('job ids', () => {
  it('are stable per event and never contain ":" (BullMQ 6 rejects it)', () => {
    expect(jobIds.defaultGroup('e1')).toBe('default-group-e1');
    expect(jobIds.accountLinked('e1')).toBe('account-linked-e1');
    expect(jobIds.auditFanout('e1')).toBe('audit-e1');
    expect(jobIds.auditDelivery('e1', 'siem:main')).toBe('deliver-e1-siem%3Amain');
    expect(jobIds.auditDelivery('e1', 'siem', 3)).toBe('deliver-e1-siem-redrive-3');
  });
});

describe('trace context carrier', () => {
  it('carries the active span as a W3C traceparent and back', () => {
    const spanContext = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    const carrier = currentTraceCarrier(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(carrier).toEqual(trace0);
    const parent = trace.getSpanContext(contextFromTraceCarrier(carrier));
    expect(parent).toMatchObject({ ...spanContext, isRemote: true });
  });

  it('starts a fresh root when there is no active span', () => {
    const carrier = currentTraceCarrier(ROOT_CONTEXT);
    expect(carrier.traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-00$/);
    expect(traceIdOf(carrier)).not.toBe('0'.repeat(32));
  });

  it('continues a stored trace id and replaces an invalid one', () => {
    expect(traceIdOf(traceCarrierForTraceId('4bf92f3577b34da6a3ce929d0e0e4736'))).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdOf(traceCarrierForTraceId('0'.repeat(32)))).toMatch(/^(?!0+$)[\da-f]{32}$/);
    expect(traceIdOf(traceCarrierForTraceId(null))).toMatch(/^[\da-f]{32}$/);
  });
});
