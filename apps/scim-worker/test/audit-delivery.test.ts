import { createHmac } from 'node:crypto';
import { listDeadLetters, redriveDeadLetters } from '@scimbridge/audit-delivery';
import { JobProducer } from '@scimbridge/jobs';
import { detectStoreProfile } from '@scimbridge/store';
import { waitFor } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyWebhookSignature } from '../src/index.js';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  startTestWorker,
  storeAuditEvent,
  storeOrganisation,
  uniqueName,
  WebhookReceiver,
  workerCollections,
  type TestWorker,
} from './support.js';

const prefix = uniqueName('waudit');
let mongo: Connection;
let collections: WorkerCollections;
let worker: TestWorker;
let producerRedis: Redis;
let producer: JobProducer;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), uniqueName('worker_audit'));
  collections = workerCollections(mongo);
  worker = await startTestWorker(mongo, inject('redisUrl'), {
    QUEUE_PREFIX: prefix,
    AUDIT_WEBHOOK_ATTEMPTS: 3,
    AUDIT_DELIVERY_CONCURRENCY: 4,
    AUDIT_SINK_CONCURRENCY: 2,
  });
  producerRedis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  producer = new JobProducer({ connection: producerRedis, prefix });
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await producer.close();
  producerRedis.disconnect();
  await worker.stop();
  await mongo.dropDatabase();
  await mongo.close();
});

async function receiver(behaviour?: ConstructorParameters<typeof WebhookReceiver>[0]) {
  const r = new WebhookReceiver(behaviour);
  receivers.push(r);
  await r.start();
  return r;
}

/** What the api does per audited write: store the event, then enqueue its fan-out. */
async function auditedWrite(orgId: string, overrides = {}) {
  const event = await storeAuditEvent(collections, orgId, overrides);
  const enqueued = await producer.auditFanout({ orgId, eventId: event._id });
  expect(enqueued.ok).toBe(true);
  return event;
}

async function dispatched(eventId: string, timeoutMs = 20_000) {
  await waitFor(
    `event ${eventId} dispatched`,
    async () => Boolean((await collections.auditEvents.findOne({ _id: eventId }))?.dispatchedAt),
    { timeoutMs, intervalMs: 50 },
  );
}

describe('audit fan-out', () => {
  it('delivers every event once to each webhook with a valid signature and writes it to the JSON-lines stream', async () => {
    const hook = await receiver();
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'siem', url: hook.url, secret: 's3cret-siem' }]);
    const events = [await auditedWrite(orgId), await auditedWrite(orgId, { action: 'group.created' })];
    for (const event of events) await dispatched(event._id);

    expect([...hook.acknowledged().entries()].sort()).toEqual(events.map((e) => [e._id, 1] as const).sort());
    for (const request of hook.requests) {
      const header = String(request.headers['x-scimbridge-signature']);
      expect(verifyWebhookSignature('s3cret-siem', request.body, header)).toBe(true);
      expect(verifyWebhookSignature('other-secret', request.body, header)).toBe(false);
      // The documented recipe, computed independently of the worker's code.
      const [, t, v1] = /^t=(\d+),v1=([\da-f]{64})$/.exec(header)!;
      expect(createHmac('sha256', 's3cret-siem').update(`${t}.${request.body}`).digest('hex')).toBe(v1);
      expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(30);
      expect(request.headers['content-type']).toBe('application/json');
    }
    const body = JSON.parse(hook.requests.find((r) => r.eventId === events[0]!._id)!.body);
    expect(body).toEqual({
      id: events[0]!._id,
      orgId,
      action: 'user.created',
      actor: { type: 'token', id: 'tok-1' },
      resourceType: 'User',
      resourceId: events[0]!.resourceId,
      changedAttributes: ['userName'],
      requestId: events[0]!.requestId,
      traceId: events[0]!.traceId,
      occurredAt: events[0]!.occurredAt.toISOString(),
    });
    const lines = worker
      .auditLines()
      .filter((l) => l.event.id === events[0]!._id || l.event.id === events[1]!._id);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ stream: 'audit', event: { orgId } });
  });

  it('a signature older than the replay window is rejected', () => {
    const body = '{"id":"e"}';
    const t = Math.floor(Date.now() / 1000) - 3600;
    const v1 = createHmac('sha256', 'k').update(`${t}.${body}`).digest('hex');
    expect(verifyWebhookSignature('k', body, `t=${t},v1=${v1}`)).toBe(false);
    expect(verifyWebhookSignature('k', body, `t=${t},v1=${v1}`, { toleranceSeconds: 7200 })).toBe(true);
  });

  it('marks an event of an organisation without webhooks dispatched after writing it to the stream', async () => {
    const orgId = uniqueName('org');
    const event = await auditedWrite(orgId);
    await dispatched(event._id);
    expect(worker.auditLines().filter((l) => l.event.id === event._id)).toHaveLength(1);
  });

  it('retries a 500 and delivers once, with the retry counted', async () => {
    const hook = await receiver((_d, attempt) => ({ status: attempt === 1 ? 500 : 200 }));
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'flaky', url: hook.url, secret: 'k' }]);
    const event = await auditedWrite(orgId);
    await dispatched(event._id);

    expect(hook.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(hook.requests[1]!.headers['x-scimbridge-delivery-attempt']).toBe('2');
    expect(hook.acknowledged().get(event._id)).toBe(1);
    expect(await collections.auditDeliveries.findOne({ _id: `${event._id}:flaky` })).toMatchObject({
      outcome: 'delivered',
      attempts: 2,
    });
    expect(await worker.registry.getSingleMetricAsString('scim_job_failures_total')).toMatch(
      /scim_job_failures_total\{queue="scim-audit-delivery",name="audit.deliver",reason="http_5xx"\} [1-9]/,
    );
  });

  it("waits at least the receiver's Retry-After before the next attempt", async () => {
    const hook = await receiver((_d, attempt) =>
      attempt === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'limited', url: hook.url, secret: 'k' }]);
    const event = await auditedWrite(orgId);
    await dispatched(event._id);
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('dead-letters a delivery whose receiver stays down past the retry budget, and re-drives it after recovery', async () => {
    const hook = await receiver(() => ({ status: 503 }));
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [
      { name: 'down', url: hook.url, secret: 'k' },
      { name: 'up', url: (await receiver()).url, secret: 'k2' },
    ]);
    const event = await auditedWrite(orgId);
    // Dead-lettered counts as settled: the event is dispatched and the relay leaves it alone.
    await dispatched(event._id);
    expect(hook.requests).toHaveLength(3);
    const [letter] = await listDeadLetters(collections, { orgId });
    expect(letter).toMatchObject({
      _id: `${event._id}:down`,
      sink: 'down',
      status: 'dead',
      reason: 'http_5xx',
      lastStatusCode: 503,
      attempts: 3,
    });
    expect(await worker.registry.getSingleMetricAsString('scim_audit_dead_letters')).toContain(
      'scim_audit_dead_letters{sink="down"} 1',
    );

    hook.behaviour = () => ({ status: 200 });
    const redriven = await redriveDeadLetters(
      collections,
      worker.queues.delivery,
      {
        ...(await import('../src/index.js')).defaultWorkerSettings,
        AUDIT_WEBHOOK_ATTEMPTS: 3,
      },
      { orgId },
      await detectStoreProfile(mongo),
    );
    expect(redriven.map((l) => l._id)).toEqual([`${event._id}:down`]);
    await waitFor('dead letter redelivered', async () => {
      const [l] = await listDeadLetters(collections, { orgId, status: 'all' });
      return l?.status === 'redelivered';
    });
    expect(hook.acknowledged().get(event._id)).toBe(1);
    expect(await listDeadLetters(collections, { orgId })).toEqual([]);
  });

  it('dead-letters at once when the receiver rejects the request (4xx), since retrying cannot help', async () => {
    const hook = await receiver(() => ({ status: 410 }));
    const orgId = uniqueName('org');
    await storeOrganisation(mongo, orgId, [{ name: 'gone', url: hook.url, secret: 'k' }]);
    const event = await auditedWrite(orgId);
    await dispatched(event._id);
    expect(hook.requests).toHaveLength(1);
    expect((await listDeadLetters(collections, { orgId }))[0]).toMatchObject({
      reason: 'http_4xx',
      attempts: 1,
    });
  });

  it("a slow webhook of one organisation does not hold up another organisation's deliveries", async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 1_500 }));
    const fast = await receiver();
    const slowOrg = uniqueName('org-slow');
    const fastOrg = uniqueName('org-fast');
    await storeOrganisation(mongo, slowOrg, [{ name: 'slow', url: slow.url, secret: 'k' }]);
    await storeOrganisation(mongo, fastOrg, [{ name: 'fast', url: fast.url, secret: 'k' }]);
    const slowEvents = [];
    for (let i = 0; i < 6; i++) slowEvents.push(await auditedWrite(slowOrg));
    const fastEvents = [];
    for (let i = 0; i < 5; i++) fastEvents.push(await auditedWrite(fastOrg));
    for (const event of fastEvents) await dispatched(event._id);

    // 4 delivery slots, 2 per sink. Without the per-sink limit the slow sink takes all 4 and the fast
    // organisation waits for a whole round (4 slow acknowledgements first); with it, at most one round of 2.
    expect(slow.acknowledged().size).toBeLessThanOrEqual(2);
    const undelivered = await collections.auditEvents.countDocuments({
      _id: { $in: slowEvents.map((e) => e._id) },
      dispatchedAt: null,
    });
    expect(undelivered).toBeGreaterThan(0);
    for (const event of slowEvents) await dispatched(event._id, 30_000);
  });
});
