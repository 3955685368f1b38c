import { createServer, type Server, type Socket } from 'node:net';
import {
  context,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  JobName,
  JobProducer,
  QueueName,
  WEBHOOK_BACKOFF,
  accountLinkedJob,
  auditDeliveryJob,
  auditFanoutJob,
  defaultGroupJob,
  defaultJobOptions,
  defineJob,
  jobDefinitions,
  traceCarrierSchema,
} from '../src/index.js';

/** Enough of a context manager for `context.with` to make a context active (no SDK in this package). */
class StackContextManager implements ContextManager {
  private current = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

const trace0 = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
const settings = { AUDIT_WEBHOOK_ATTEMPTS: 5 };
const prefix = `jobs-def-test-${process.pid}-${Date.now().toString(36)}`;

describe('job definitions', () => {
  it('state each job once: names, queues and the names the worker dispatches on', () => {
    expect(jobDefinitions.map((d) => [d.name, d.queue])).toEqual([
      ['user.default-group', QueueName.provisioning],
      ['account.linked', QueueName.provisioning],
      ['audit.fanout', QueueName.audit],
      ['audit.deliver', QueueName.auditDelivery],
    ]);
    expect(JobName).toEqual({
      defaultGroup: 'user.default-group',
      accountLinked: 'account.linked',
      auditFanout: 'audit.fanout',
      auditDelivery: 'audit.deliver',
    });
  });

  it('parse returns the typed payload and refuses a bad one or another job unrecoverably', () => {
    const data = { v: 1, orgId: 'o', eventId: 'e', trace: trace0 };
    expect(auditFanoutJob.parse({ name: 'audit.fanout', data })).toEqual(data);
    for (const bad of [
      { ...data, v: 2 },
      { ...data, eventId: 'a:b' },
      { ...data, trace: undefined },
      undefined,
    ]) {
      const refuse = () => auditFanoutJob.parse({ name: 'audit.fanout', data: bad });
      expect(refuse).toThrow(UnrecoverableError);
      // The worker's failure metric labels these `invalid_payload` by this prefix.
      expect(refuse).toThrow(/^invalid audit\.fanout payload: /);
    }
    expect(() => defaultGroupJob.parse({ name: 'audit.fanout', data })).toThrow(UnrecoverableError);
  });

  it('bulkEntry carries the envelope, the job id and the options', () => {
    const entry = defaultGroupJob.bulkEntry({
      orgId: 'o',
      userId: 'u',
      groupDisplayName: 'Everyone',
      eventId: 'e1',
      trace: trace0,
    });
    expect(entry).toEqual({
      name: 'user.default-group',
      data: { v: 1, orgId: 'o', userId: 'u', groupDisplayName: 'Everyone', eventId: 'e1', trace: trace0 },
      opts: { ...defaultJobOptions, jobId: 'default-group-e1' },
    });
    expect(accountLinkedJob.bulkEntry({ orgId: 'o', userId: 'u', tokenId: 't', eventId: 'e1' }).opts).toEqual(
      {
        ...defaultJobOptions,
        jobId: 'account-linked-e1',
      },
    );
    expect(() => auditFanoutJob.bulkEntry({ orgId: 'o', eventId: 'has:colon' })).toThrow(z.ZodError);
  });

  it('fills trace from the active context when the caller does not pass one', () => {
    const span = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    context.setGlobalContextManager(new StackContextManager());
    try {
      const entry = context.with(trace.setSpanContext(ROOT_CONTEXT, span), () =>
        auditFanoutJob.bulkEntry({ orgId: 'o', eventId: 'e' }),
      );
      expect(entry.data.trace).toEqual(trace0);
    } finally {
      context.disable();
    }
    // Without an active span: a fresh root, still a valid carrier.
    const fresh = auditFanoutJob.payload({ orgId: 'o', eventId: 'e' }).trace;
    expect(fresh.traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-00$/);
    const given = { traceparent: trace0.traceparent, tracestate: 'k=v' };
    expect(auditFanoutJob.payload({ orgId: 'o', eventId: 'e', trace: given }).trace).toEqual(given);
  });

  it("derives a delivery's options from the settings and its id from the sink and re-drive", () => {
    const input = { eventId: 'e1', orgId: 'o', sink: 'siem:main', sinks: ['siem:main'], trace: trace0 };
    const entry = auditDeliveryJob.bulkEntry(input, { settings });
    expect(entry.opts).toEqual({
      attempts: 5,
      backoff: { type: WEBHOOK_BACKOFF },
      removeOnComplete: defaultJobOptions.removeOnComplete,
      removeOnFail: defaultJobOptions.removeOnFail,
      jobId: 'deliver-e1-siem%3Amain',
    });
    expect(auditDeliveryJob.bulkEntry(input, { settings, redrive: 3 }).opts.jobId).toBe(
      'deliver-e1-siem%3Amain-redrive-3',
    );
    expect(auditDeliveryJob.options({ settings }).attempts).toBe(5);
  });

  it('define a job whose id reads only what the payload carries', () => {
    const schema = z.object({ v: z.literal(1), trace: traceCarrierSchema, eventId: z.string() });
    const job = defineJob({
      name: 'x',
      queue: QueueName.audit,
      schema,
      jobId: ({ eventId }: { eventId: string }) => `x-${eventId}`,
      options: { attempts: 2 },
    });
    expect(job.bulkEntry({ eventId: 'e', trace: trace0 })).toEqual({
      name: 'x',
      data: { v: 1, eventId: 'e', trace: trace0 },
      opts: { attempts: 2, jobId: 'x-e' },
    });
  });
});

// Never called: `pnpm typecheck` fails if any of these mistakes compiles.
export function compileTimeChecks(producer: JobProducer, queue: Queue): void {
  const delivery = { eventId: 'e1', orgId: 'o', sink: 's', sinks: ['s'] };
  // @ts-expect-error a delivery's options need the worker's settings
  auditDeliveryJob.bulkEntry(delivery);
  // @ts-expect-error likewise for enqueue
  void auditDeliveryJob.enqueue(queue, delivery, { timeoutMs: 1 });
  // @ts-expect-error the envelope is added by the definition, not by the caller
  auditFanoutJob.bulkEntry({ orgId: 'o', eventId: 'e', v: 1 });
  // @ts-expect-error a payload field is missing
  defaultGroupJob.bulkEntry({ orgId: 'o', userId: 'u', eventId: 'e' });
  // @ts-expect-error the producer owns no delivery queue
  void producer.enqueue(auditDeliveryJob, delivery);
  const schema = z.object({ v: z.literal(1), trace: traceCarrierSchema, eventId: z.string() });
  // @ts-expect-error the job id may only read what the payload (and the extras) carry
  defineJob({
    name: 'x',
    queue: QueueName.audit,
    schema,
    jobId: (p: { userId: string }) => p.userId,
    options: {},
  });
}

describe('enqueue', () => {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  const audit = new Queue(QueueName.audit, { connection, prefix });
  const producer = new JobProducer({ connection, prefix });
  afterAll(async () => {
    await audit.obliterate({ force: true });
    await audit.close();
    await producer.close();
    await connection.quit();
  });

  it('adds the job with its id and options, once, on a queue or through a producer', async () => {
    const eventId = `e${Date.now()}`;
    expect(await auditFanoutJob.enqueue(audit, { orgId: 'o', eventId, trace: trace0 })).toEqual({
      ok: true,
      jobId: `audit-${eventId}`,
    });
    expect(await producer.enqueue(auditFanoutJob, { orgId: 'o', eventId })).toEqual({
      ok: true,
      jobId: `audit-${eventId}`,
    });
    const jobs = await audit.getJobs(['wait']);
    expect(jobs.filter((job) => job.id === `audit-${eventId}`)).toHaveLength(1);
    const job = await audit.getJob(`audit-${eventId}`);
    expect(job?.data).toEqual({ v: 1, orgId: 'o', eventId, trace: trace0 });
    expect(job?.opts).toMatchObject({
      attempts: defaultJobOptions.attempts,
      backoff: defaultJobOptions.backoff,
    });
  });

  it('throws for an invalid payload at once and rejects the wrong queue, without touching Redis', async () => {
    expect(() => auditFanoutJob.enqueue(audit, { orgId: 'o', eventId: 'has:colon' })).toThrow(z.ZodError);
    await expect(
      defaultGroupJob.enqueue(audit, { orgId: 'o', userId: 'u', groupDisplayName: 'G', eventId: 'e' }),
    ).rejects.toThrow(/user\.default-group jobs go on queue "scim-provisioning", not "scim-audit"/);
    const delivery = { eventId: 'e1', orgId: 'o', sink: 's', sinks: ['s'] };
    await expect(auditDeliveryJob.enqueue(producer, delivery, { settings })).rejects.toThrow(
      'the producer has no queue "scim-audit-delivery"',
    );
  });

  it('resolves { ok: false } after the timeout when Redis accepts the connection but never answers', async () => {
    // A black hole: the TCP connection opens, no reply ever comes, so only the timeout ends the wait.
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const silent = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, lazyConnect: true });
    silent.on('error', () => undefined);
    const queue = new Queue(QueueName.audit, { connection: silent, prefix, skipWaitingForReady: true });
    queue.on('error', () => undefined);
    try {
      const started = Date.now();
      const result = await auditFanoutJob.enqueue(
        queue,
        { orgId: 'o', eventId: 'e-silent' },
        { timeoutMs: 300 },
      );
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ ok: false, jobId: 'audit-e-silent' });
      expect(result.ok === false && result.error.message).toBe(
        'enqueue of audit-e-silent timed out after 300 ms',
      );
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2_000);
    } finally {
      silent.disconnect();
      await Promise.race([queue.close().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('resolves { ok: false } instead of rejecting when Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, lazyConnect: true });
    down.on('error', () => undefined);
    const queue = new Queue(QueueName.auditDelivery, { connection: down, prefix, skipWaitingForReady: true });
    queue.on('error', () => undefined);
    const input = { eventId: 'e1', orgId: 'o', sink: 's', sinks: ['s'] };
    const result = await auditDeliveryJob.enqueue(queue, input, { settings, redrive: 1, timeoutMs: 500 });
    expect(result).toMatchObject({ ok: false, jobId: 'deliver-e1-s-redrive-1' });
    await queue.close().catch(() => undefined);
    down.disconnect();
  });
});
