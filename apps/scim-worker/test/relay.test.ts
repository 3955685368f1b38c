import { jobIds } from '@scimbridge/jobs';
import { createLogger } from '@scimbridge/logger';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditRelay } from '../src/relay.js';
import type { WorkerCollections } from '../src/store/collections.js';
import { connectMongo, storeAuditEvent, uniqueName, workerCollections } from './support.js';

const dbName = uniqueName('worker_relay');
let mongo: Connection;
let collections: WorkerCollections;
let redis: Redis;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis.disconnect();
  await mongo.dropDatabase();
  await mongo.close();
});

describe('audit relay', () => {
  it('enqueues at most maxPerPass events a pass, resumes after them, and wraps to the oldest', async () => {
    const orgId = uniqueName('org');
    const base = Date.now() - 60_000;
    const events = [];
    for (let i = 0; i < 5; i++)
      events.push(await storeAuditEvent(collections, orgId, { occurredAt: new Date(base + i * 1_000) }));
    // Dispatched and too recent events are not the relay's.
    await storeAuditEvent(collections, orgId, { occurredAt: new Date(base), dispatchedAt: new Date() });
    await storeAuditEvent(collections, orgId, { occurredAt: new Date() });
    const queue = new Queue('scimbridge-audit', { connection: redis, prefix: uniqueName('relay') });
    const relay = new AuditRelay({
      auditEvents: collections.auditEvents,
      auditQueue: queue,
      intervalMs: 60_000,
      minAgeMs: 10_000,
      maxPerPass: 2,
      logger: createLogger({ service: 'relay-test', level: 'silent' }),
    });
    const queued = async () => new Set((await queue.getJobs(['waiting', 'prioritized'])).map((j) => j.id));
    try {
      expect(await relay.scanOnce()).toBe(2);
      expect(await queued()).toEqual(new Set(events.slice(0, 2).map((e) => jobIds.auditFanout(e._id))));
      expect(await relay.scanOnce()).toBe(2);
      expect(await relay.scanOnce()).toBe(1); // the newest: the walk is complete
      expect(await queued()).toEqual(new Set(events.map((e) => jobIds.auditFanout(e._id))));
      // Dispatched meanwhile → skipped; the next walk starts again from the oldest undispatched.
      await collections.auditEvents.updateOne(
        { _id: events[0]!._id },
        { $set: { dispatchedAt: new Date() } },
      );
      await queue.obliterate({ force: true });
      expect(await relay.scanOnce()).toBe(2);
      expect(await queued()).toEqual(new Set(events.slice(1, 3).map((e) => jobIds.auditFanout(e._id))));
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  });
});
