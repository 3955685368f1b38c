import { auditFanoutJob } from '@scimbridge/jobs';
import { createAccount } from '@scimbridge/store';
import { applyOrganisation, issueToken } from '@scimbridge/tenancy';
import { startRedis, waitFor, type RedisServer } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyWebhookSignature } from '../src/index.js';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  exited,
  spawnService,
  startTestWorker,
  uniqueName,
  WebhookReceiver,
  workerCollections,
  type ServiceProcess,
  type TestWorker,
} from './support.js';

// End to end through the api's HTTP create path: IdP → scim-api → MongoDB + Redis → scim-worker → effects.
// A Redis of its own: the api enqueues under the default queue prefix, which other suites may share.
const dbName = uniqueName('worker_e2e');
const orgId = uniqueName('org-e2e');
let mongo: Connection;
let collections: WorkerCollections;
let redis: RedisServer;
let redisClient: Redis;
let api: ServiceProcess;
let worker: TestWorker;
const hook = new WebhookReceiver();
let token: string;
let baseUrl: string;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
  redis = await startRedis('redis-worker-e2e');
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  await hook.start();
  await applyOrganisation(
    mongo,
    orgId,
    {
      displayName: 'E2E',
      defaultGroup: 'Everyone',
      audit: { webhooks: [{ name: 'siem', url: hook.url, secret: 'e2e-secret' }] },
    },
    redisClient,
  );
  token = (await issueToken(mongo, redisClient, orgId)).token;
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  api = await spawnService(
    'scim-api',
    { MONGODB_URI: uri.toString(), REDIS_URL: redis.url },
    /Server listening at/,
  );
  baseUrl = `http://127.0.0.1:${api.port()}/scim/v2`;
  worker = await startTestWorker(mongo, redis.url, { QUEUE_PREFIX: 'scimbridge' }, { relay: true });
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_DUMP)
    (await import('node:fs')).writeFileSync(process.env.E2E_DUMP, api?.output() ?? '');
  api?.kill('SIGTERM');
  if (api) await exited(api);
  await worker?.stop();
  redisClient?.disconnect();
  await redis?.stop();
  await hook.stop();
  await mongo.dropDatabase();
  await mongo.close();
});

async function scim(method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { id?: string; members?: { value: string }[] },
  };
}

const createGroup = async (displayName: string) => {
  const res = await scim('POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

const createUser = async (userName: string, email = userName) => {
  const res = await scim('POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    externalId: `idp-${userName}`,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ type: 'work', value: email, primary: true }],
    active: true,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

const groupsOf = async (userId: string) =>
  (await collections.memberships.find({ orgId, memberId: userId }).toArray()).map((m) => m.groupId).sort();

describe('through the api', () => {
  it('adds users to the default group as configured when each was provisioned', async () => {
    const everyone = await createGroup('Everyone');
    const staff = await createGroup('Staff');
    const early = await createUser('early@example.com');
    await waitFor('early user in Everyone', async () => (await groupsOf(early)).length === 1);
    expect(await groupsOf(early)).toEqual([everyone]);

    await applyOrganisation(
      mongo,
      orgId,
      {
        displayName: 'E2E',
        defaultGroup: 'Staff',
        audit: { webhooks: [{ name: 'siem', url: hook.url, secret: 'e2e-secret' }] },
      },
      redisClient,
    );
    // The api learns of the change through Redis; give it the moment the broadcast takes.
    let late = '';
    await waitFor(
      'a user provisioned into Staff',
      async () => {
        late = await createUser(`late-${Date.now()}@example.com`);
        await waitFor('membership', async () => (await groupsOf(late)).length === 1, { timeoutMs: 10_000 });
        return (await groupsOf(late))[0] === staff;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(await groupsOf(late)).toEqual([staff]);
    expect(await groupsOf(early)).toEqual([everyone]);
    // The event records the setting, so the relay can re-derive the job if the api's enqueue was lost.
    const created = await collections.auditEvents.findOne({
      orgId,
      action: 'user.created',
      resourceId: late,
    });
    expect(created?.details).toMatchObject({ defaultGroup: 'Staff' });
    const res = await scim('GET', `/Groups/${everyone}`);
    expect(res.body.members?.map((m: { value: string }) => m.value)).toContain(early);
  });

  it('links an IdP user to the existing account with the same email: SSO-only, SCIM-managed, one user.linked event', async () => {
    const account = await createAccount(mongo, orgId, {
      userName: 'ada.legacy',
      email: 'ada@example.com',
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    });
    const id = await createUser('ada@idp.example.com', 'ada@example.com');
    expect(id).toBe(account._id);
    await waitFor(
      'user.linked event',
      async () =>
        (await collections.auditEvents.countDocuments({ orgId, action: 'user.linked', resourceId: id })) ===
        1,
    );
    const user = await collections.users.findOne({ _id: id });
    expect(user?.auth).toEqual({ ssoOnly: true });
    expect(user?.scim).toMatchObject({ managed: true, externalId: 'idp-ada@idp.example.com' });
    expect(await collections.users.countDocuments({ orgId, 'emails.valueKey': 'ada@example.com' })).toBe(1);
  });

  it('delivers every audit event of those writes once to the webhook, each with a valid signature', async () => {
    const events = await collections.auditEvents.find({ orgId, action: { $ne: 'auth.failed' } }).toArray();
    expect(events.length).toBeGreaterThanOrEqual(6);
    const ids = events.map((e) => e._id);
    await waitFor(
      'every event dispatched',
      async () =>
        (await collections.auditEvents.countDocuments({ _id: { $in: ids }, dispatchedAt: null })) === 0,
      { timeoutMs: 30_000 },
    );
    const acknowledged = hook.acknowledged();
    for (const id of ids) expect(acknowledged.get(id), id).toBe(1);
    for (const request of hook.requests) {
      expect(
        verifyWebhookSignature('e2e-secret', request.body, String(request.headers['x-scimbridge-signature'])),
      ).toBe(true);
    }
    expect(new Set(events.map((e) => e.action))).toEqual(
      new Set(['group.created', 'user.created', 'user.linked']),
    );
  });
  it('replaying every event of the organisation after job-id eviction changes nothing', async () => {
    const staff = (await collections.groups.findOne({ orgId, displayName: 'Staff' }))!._id;
    const user = await createUser(`replayed-${Date.now()}@example.com`);
    await waitFor('default group applied', async () => (await groupsOf(user)).includes(staff));
    // The IdP takes the user out of the default group; that must stick through any replay.
    const removed = await scim('PATCH', `/Groups/${staff}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${user}"]` }],
    });
    expect(removed.status).toBe(200);
    const settled = async () =>
      (await collections.auditEvents.countDocuments({
        orgId,
        dispatchedAt: null,
        action: { $ne: 'auth.failed' },
      })) === 0;
    await waitFor('every event dispatched', settled, { timeoutMs: 30_000 });
    const snapshot = async () => ({
      memberships: (await collections.memberships.find({ orgId }).toArray()).map((m) => m._id).sort(),
      users: (await collections.users.find({ orgId }).toArray())
        .map((u) => JSON.stringify({ ...u, outbox: [] }))
        .sort(),
      events: await collections.auditEvents.countDocuments({ orgId, action: { $ne: 'auth.failed' } }),
    });
    const before = await snapshot();
    expect(before.memberships.some((id) => id.endsWith(`:${user}`))).toBe(false);

    // Eviction: BullMQ forgets every completed job, so the same job ids are accepted again.
    for (const queue of [worker.queues.audit, worker.queues.provisioning, worker.queues.delivery])
      await queue.clean(0, 1_000_000, 'completed');
    const events = await collections.auditEvents.find({ orgId, action: { $ne: 'auth.failed' } }).toArray();
    await collections.auditEvents.updateMany(
      { _id: { $in: events.map((e) => e._id) } },
      { $set: { dispatchedAt: null } },
    );
    for (const event of events) {
      const result = await auditFanoutJob.enqueue(worker.queues.audit, { eventId: event._id, orgId });
      expect(result.ok).toBe(true);
    }
    await waitFor('every replayed event dispatched', settled, { timeoutMs: 60_000 });
    // Give the provisioning jobs the replay derived time to run, then compare.
    await waitFor(
      'provisioning queue drained',
      async () =>
        (await worker.queues.provisioning.getJobCounts('waiting', 'active', 'delayed')).waiting === 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await snapshot()).toEqual(before);
  });
});
