import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JobName, JobProducer, QueueName, auditFanoutJob, jobIds } from '../src/index.js';

const prefix = `jobs-test-${process.pid}-${Date.now().toString(36)}`;

describe('JobProducer against a real Redis', () => {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  const producer = new JobProducer({ connection, prefix });
  afterAll(async () => {
    await producer.provisioning.obliterate({ force: true });
    await producer.audit.obliterate({ force: true });
    await producer.close();
    await connection.quit();
  });

  it('enqueues each contract job once per event id, with the trace context in the payload', async () => {
    const eventId = `e${Date.now()}`;
    const first = await producer.defaultGroup({
      orgId: 'o',
      userId: 'u',
      groupDisplayName: 'Everyone',
      eventId,
    });
    const again = await producer.defaultGroup({
      orgId: 'o',
      userId: 'u',
      groupDisplayName: 'Everyone',
      eventId,
    });
    expect(first).toEqual({ ok: true, jobId: jobIds.defaultGroup(eventId) });
    expect(again.ok).toBe(true);
    expect(await producer.accountLinked({ orgId: 'o', userId: 'u', tokenId: 't', eventId })).toMatchObject({
      ok: true,
    });
    expect(await producer.auditFanout({ orgId: 'o', eventId })).toMatchObject({ ok: true });

    const provisioning = await producer.provisioning.getJobs(['wait']);
    expect(provisioning.map((j) => j.name).sort()).toEqual([JobName.accountLinked, JobName.defaultGroup]);
    const job = await producer.audit.getJob(jobIds.auditFanout(eventId));
    expect(job?.name).toBe(JobName.auditFanout);
    expect(job?.data).toMatchObject({
      v: 1,
      orgId: 'o',
      eventId,
      trace: { traceparent: expect.any(String) },
    });
    expect(job?.opts.attempts).toBeGreaterThan(1);
  });

  it('rejects an invalid payload and a job on the wrong queue before touching Redis', async () => {
    expect(() => producer.auditFanout({ orgId: 'o', eventId: 'has:colon' })).toThrow();
    await expect(auditFanoutJob.enqueue(producer.provisioning, { orgId: 'o', eventId: 'e' })).rejects.toThrow(
      QueueName.audit,
    );
  });

  it('reports a failed enqueue instead of hanging when Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, lazyConnect: true });
    down.on('error', () => undefined);
    const queue = new Queue(QueueName.audit, { connection: down, prefix, skipWaitingForReady: true });
    queue.on('error', () => undefined);
    const started = Date.now();
    const result = await auditFanoutJob.enqueue(queue, { orgId: 'o', eventId: 'e1' }, { timeoutMs: 500 });
    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
    await queue.close().catch(() => undefined);
    down.disconnect();
  });
});

describe('JobProducer on a client that fails fast while disconnected', () => {
  it('recovers once the connection is ready instead of staying broken', async () => {
    // enableOfflineQueue: false is what a request path uses; a queue created before "ready" used to be dead.
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    connection.on('error', () => undefined);
    const producer = new JobProducer({ connection, prefix, enqueue: { timeoutMs: 250 } });
    try {
      await producer.auditFanout({ orgId: 'o', eventId: 'early' });
      await new Promise<void>((resolve) =>
        connection.status === 'ready' ? resolve() : connection.once('ready', () => resolve()),
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(await producer.auditFanout({ orgId: 'o', eventId: 'after-ready' })).toEqual({
        ok: true,
        jobId: 'audit-after-ready',
      });
    } finally {
      await producer.close();
      connection.disconnect();
    }
  });
});
