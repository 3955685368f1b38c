import { JobProducer, jobIds } from '@scimbridge/jobs';
import { startRedis, waitFor, type RedisServer } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  exited,
  spawnWorkerProcess,
  startTestWorker,
  storeAuditEvent,
  storeGroup,
  storeOrganisation,
  storeUser,
  uniqueName,
  uuidv7,
  WebhookReceiver,
  workerCollections,
} from './support.js';

const dbName = uniqueName('worker_faults');
let mongo: Connection;
let collections: WorkerCollections;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
});

afterAll(async () => {
  await mongo.dropDatabase();
  await mongo.close();
});

function mongoUriFor(name: string): string {
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${name}`;
  return uri.toString();
}

async function allDispatched(eventIds: string[], timeoutMs = 40_000) {
  await waitFor(
    `${eventIds.length} events dispatched`,
    async () =>
      (await collections.auditEvents.countDocuments({ _id: { $in: eventIds }, dispatchedAt: null })) === 0,
    { timeoutMs, intervalMs: 100 },
  );
}

describe('Redis outage', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis('redis-worker-outage');
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('events written while Redis is down are delivered exactly once per sink after it returns', async () => {
    const prefix = uniqueName('woutage');
    const hook = new WebhookReceiver();
    await hook.start();
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'siem', url: hook.url, secret: 'k' }]);
    const worker = await startTestWorker(mongo, redis.url, { QUEUE_PREFIX: prefix }, { relay: true });
    const producerRedis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    producerRedis.on('error', () => undefined);
    const producer = new JobProducer({ connection: producerRedis, prefix, enqueue: { timeoutMs: 300 } });
    try {
      // The api's write path: store the event, then try to enqueue; the write succeeds either way.
      const write = async () => {
        const event = await storeAuditEvent(collections, orgId);
        return { event, enqueued: await producer.auditFanout({ orgId, eventId: event._id }) };
      };
      const before = [await write(), await write()];
      expect(before.every((w) => w.enqueued.ok)).toBe(true);
      await allDispatched(before.map((w) => w.event._id));

      await redis.stop();
      const during = [];
      for (let i = 0; i < 10; i++) during.push(await write());
      expect(during.every((w) => !w.enqueued.ok)).toBe(true);
      await redis.restart();

      const ids = [...before, ...during].map((w) => w.event._id);
      await allDispatched(ids);
      const acknowledged = hook.acknowledged();
      expect([...acknowledged.keys()].sort()).toEqual([...ids].sort());
      expect([...acknowledged.values()].every((n) => n === 1)).toBe(true);
      expect(await collections.auditDeliveries.countDocuments({ eventId: { $in: ids } })).toBe(ids.length);
    } finally {
      await producer.close().catch(() => undefined);
      producerRedis.disconnect();
      await worker.stop();
      await hook.stop();
    }
  });
});

describe('worker killed with SIGKILL mid-job', () => {
  it('retries the interrupted jobs on another worker without duplicating their effect', async () => {
    const prefix = uniqueName('wkill');
    const redisUrl = inject('redisUrl');
    // The first attempt of every delivery hangs, so the first worker is mid-job when it dies.
    const hook = new WebhookReceiver((_d, attempt) =>
      attempt === 1 ? { status: 200, delayMs: 60_000 } : { status: 200 },
    );
    await hook.start();
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'siem', url: hook.url, secret: 'k' }]);
    await storeGroup(collections, orgId, 'Everyone');
    const env = {
      MONGODB_URI: mongoUriFor(dbName),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      JOB_LOCK_MS: '2000',
      RELAY_INTERVAL_MS: '60000',
      AUDIT_WEBHOOK_BACKOFF_MS: '50',
    };
    const producerRedis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const producer = new JobProducer({ connection: producerRedis, prefix });
    const first = await spawnWorkerProcess(env);
    let second: Awaited<ReturnType<typeof spawnWorkerProcess>> | undefined;
    try {
      const events = [];
      const users = [];
      for (let i = 0; i < 6; i++) {
        const event = await storeAuditEvent(collections, orgId);
        events.push(event);
        await producer.auditFanout({ orgId, eventId: event._id });
        const userId = await storeUser(collections, orgId);
        users.push(userId);
        await producer.defaultGroup({ orgId, userId, groupDisplayName: 'Everyone', eventId: uuidv7() });
      }
      await waitFor('deliveries in flight', async () => hook.pending() >= 3, { timeoutMs: 20_000 });
      first.kill('SIGKILL');
      await exited(first);

      second = await spawnWorkerProcess(env);
      await allDispatched(events.map((e) => e._id));

      const acknowledged = hook.acknowledged();
      expect([...acknowledged.keys()].sort()).toEqual(events.map((e) => e._id).sort());
      expect([...acknowledged.values()].every((n) => n === 1)).toBe(true);
      // Interrupted deliveries were sent again by the second worker.
      expect(hook.requests.length).toBeGreaterThan(events.length);
      expect(await collections.auditDeliveries.countDocuments({ orgId })).toBe(events.length);
      await waitFor(
        'memberships',
        async () => (await collections.memberships.countDocuments({ orgId })) === users.length,
      );
      expect((await collections.memberships.find({ orgId }).toArray()).map((m) => m.memberId).sort()).toEqual(
        [...users].sort(),
      );
      const job = await producer.audit.getJob(jobIds.auditFanout(events[0]!._id));
      expect(await job?.getState()).toBe('completed');
    } finally {
      first.kill('SIGKILL');
      if (second) {
        second.kill('SIGTERM');
        expect(await exited(second)).toBe(0);
      }
      await producer.close();
      producerRedis.disconnect();
      await hook.stop();
    }
  });
});

describe('start-up without Redis', () => {
  it('a worker started while Redis is down starts, stays Ready (degraded) and delivers once Redis is back', async () => {
    const redis = await startRedis('redis-worker-start');
    await redis.stop();
    const hook = new WebhookReceiver(() => ({ status: 200 }));
    await hook.start();
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'siem', url: hook.url, secret: 'k' }]);
    const event = await storeAuditEvent(collections, orgId);
    const worker = await spawnWorkerProcess({
      MONGODB_URI: mongoUriFor(dbName),
      REDIS_URL: redis.url,
      QUEUE_PREFIX: uniqueName('wstart'),
      RELAY_INTERVAL_MS: '200',
      RELAY_MIN_AGE_MS: '0',
    });
    try {
      const ready = await fetch(`http://127.0.0.1:${worker.port()}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', checks: { redis: 'failing' } });

      await redis.restart();
      await waitFor(
        'the event delivered after Redis came back',
        async () => (await collections.auditEvents.findOne({ _id: event._id }))?.dispatchedAt != null,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(hook.acknowledged().size).toBe(1);
    } finally {
      worker.kill('SIGTERM');
      expect(await exited(worker)).toBe(0);
      await hook.stop();
      await redis.stop();
    }
  });
});

describe('SIGTERM', () => {
  it('serves readiness and queue metrics, then finishes the active delivery before exiting 0, losing nothing', async () => {
    const prefix = uniqueName('wterm');
    const hook = new WebhookReceiver(() => ({ status: 200, delayMs: 1_500 }));
    await hook.start();
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'siem', url: hook.url, secret: 'k' }]);
    const env = {
      MONGODB_URI: mongoUriFor(dbName),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      AUDIT_SINK_CONCURRENCY: '1',
      RELAY_INTERVAL_MS: '60000',
    };
    const producerRedis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    const producer = new JobProducer({ connection: producerRedis, prefix });
    const first = await spawnWorkerProcess(env);
    let second: Awaited<ReturnType<typeof spawnWorkerProcess>> | undefined;
    try {
      const port = first.port();
      expect(port).toBeGreaterThan(0);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);

      const events = [];
      for (let i = 0; i < 3; i++) {
        const event = await storeAuditEvent(collections, orgId);
        events.push(event);
        await producer.auditFanout({ orgId, eventId: event._id });
      }
      await waitFor('a delivery in flight', async () => hook.pending() >= 1, { timeoutMs: 20_000 });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(
        /bullmq_queue_jobs\{queue="scim-audit-delivery",state="active",service="scim-worker"\} [1-9]/,
      );
      expect(metrics).toContain('bullmq_queue_oldest_waiting_age_seconds{queue="scim-audit"');
      expect(metrics).toMatch(
        /scim_job_duration_seconds_count\{[^}]*queue="scim-audit",name="audit.fanout",outcome="done"\} [1-9]/,
      );

      first.kill('SIGTERM');
      expect(await exited(first)).toBe(0);
      // The delivery in flight finished before the exit; the rest wait in Redis for the next worker.
      expect(hook.acknowledged().size).toBeGreaterThanOrEqual(1);
      expect(hook.pending()).toBe(0);

      second = await spawnWorkerProcess(env);
      await allDispatched(events.map((e) => e._id));
      expect([...hook.acknowledged().values()]).toEqual([1, 1, 1]);
      expect(hook.requests).toHaveLength(3);
    } finally {
      first.kill('SIGKILL');
      if (second) {
        second.kill('SIGTERM');
        await exited(second);
      }
      await producer.close();
      producerRedis.disconnect();
      await hook.stop();
    }
  });
});
