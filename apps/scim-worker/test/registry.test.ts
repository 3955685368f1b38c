import {
  QueueName,
  accountLinkedJob,
  auditFanoutJob,
  defaultGroupJob,
  type AuditFanoutPayload,
} from '@scimbridge/jobs';
import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { dispatcher, register } from '../src/processors/registry.js';

const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
const job = (name: string, data: unknown) => ({ name, data, timestamp: 0 }) as Job<unknown>;

describe('processor registrations', () => {
  it('dispatch on the job name, handing each processor its parsed payload', async () => {
    const seen: AuditFanoutPayload[] = [];
    const run = dispatcher(QueueName.audit, [
      register({
        definition: auditFanoutJob,
        processor: async (payload) => {
          seen.push(payload);
          return { outcome: 'done' };
        },
      }),
    ]);
    const data = { v: 1, eventId: 'e', orgId: 'o', trace };
    expect(await run(job('audit.fanout', data), undefined)).toEqual({ outcome: 'done' });
    expect(seen).toEqual([data]);
  });

  it('fail an unknown job name and an invalid payload at once and for good', async () => {
    const run = dispatcher(QueueName.provisioning, [
      register({ definition: defaultGroupJob, processor: async () => ({ outcome: 'done' }) }),
      register({ definition: accountLinkedJob, processor: async () => ({ outcome: 'done' }) }),
    ]);
    await expect(run(job('audit.fanout', {}), undefined)).rejects.toThrow(UnrecoverableError);
    await expect(run(job('audit.fanout', {}), undefined)).rejects.toThrow('unknown job audit.fanout');
    await expect(run(job('account.linked', { v: 1 }), undefined)).rejects.toThrow(
      /^invalid account\.linked payload/,
    );
  });

  it('refuse a definition registered on another queue, or twice', () => {
    const fanout = register({ definition: auditFanoutJob, processor: async () => ({ outcome: 'done' }) });
    expect(() => dispatcher(QueueName.provisioning, [fanout])).toThrow(
      'audit.fanout jobs go on queue "scim-audit", not "scim-provisioning"',
    );
    expect(() => dispatcher(QueueName.audit, [fanout, fanout])).toThrow('audit.fanout is registered twice');
  });
});
