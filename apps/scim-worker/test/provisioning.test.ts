import { JobProducer, JobName, jobIds } from '@scimbridge/jobs';
import { waitFor } from '@scimbridge/testing';
import { createAccount } from '@scimbridge/store';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  connectMongo,
  startTestWorker,
  storeAuditEvent,
  storeGroup,
  storeUser,
  uniqueName,
  uuidv7,
  workerCollections,
  type TestWorker,
} from './support.js';
import type { WorkerCollections } from '../src/store/collections.js';

const prefix = uniqueName('wprov');
let mongo: Connection;
let collections: WorkerCollections;
let worker: TestWorker;
let producerRedis: Redis;
let producer: JobProducer;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), uniqueName('worker_provisioning'));
  collections = workerCollections(mongo);
  worker = await startTestWorker(mongo, inject('redisUrl'), { QUEUE_PREFIX: prefix });
  producerRedis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  producer = new JobProducer({ connection: producerRedis, prefix });
});

afterAll(async () => {
  await producer.close();
  producerRedis.disconnect();
  await worker.stop();
  await mongo.dropDatabase();
  await mongo.close();
});

async function finished(jobId: string, queue = worker.queues.provisioning) {
  let state = '';
  await waitFor(
    `job ${jobId}`,
    async () => {
      state = (await (await queue.getJob(jobId))?.getState()) ?? '';
      return state === 'completed' || state === 'failed';
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  return (await queue.getJob(jobId))!;
}

const provisionedUser = (orgId: string) => storeUser(collections, orgId);
const group = (orgId: string, displayName: string) => storeGroup(collections, orgId, displayName);

describe('default group', () => {
  it('adds a provisioned user to the group named in the job, once, however often the job runs', async () => {
    const orgId = uniqueName('org');
    const groupId = await group(orgId, 'Everyone');
    const userId = await provisionedUser(orgId);
    const eventId = uuidv7();

    const first = await producer.defaultGroup({ orgId, userId, groupDisplayName: 'everyone', eventId });
    expect(first.ok).toBe(true);
    expect((await finished(jobIds.defaultGroup(eventId))).returnvalue).toEqual({ outcome: 'done' });
    // A second job for the same user (e.g. the event re-played): the membership id makes it a no-op.
    const replay = uuidv7();
    await producer.defaultGroup({ orgId, userId, groupDisplayName: 'Everyone', eventId: replay });
    expect((await finished(jobIds.defaultGroup(replay))).returnvalue).toEqual({
      outcome: 'skipped',
      reason: 'already-member',
    });

    expect(await collections.memberships.find({ orgId, groupId }).toArray()).toEqual([
      expect.objectContaining({
        _id: `${groupId}:${userId}`,
        memberId: userId,
        memberType: 'User',
        display: `user-${userId}`,
      }),
    ]);
    expect((await collections.groups.findOne({ _id: groupId }))?.meta?.version).toBe(2);
  });

  it('uses the default group as it was when each user was provisioned', async () => {
    const orgId = uniqueName('org');
    const everyone = await group(orgId, 'Everyone');
    const staff = await group(orgId, 'Staff');
    const early = await provisionedUser(orgId);
    const late = await provisionedUser(orgId);
    const e1 = uuidv7();
    const e2 = uuidv7();
    await producer.defaultGroup({ orgId, userId: early, groupDisplayName: 'Everyone', eventId: e1 });
    await producer.defaultGroup({ orgId, userId: late, groupDisplayName: 'Staff', eventId: e2 });
    await finished(jobIds.defaultGroup(e1));
    await finished(jobIds.defaultGroup(e2));

    const byMember = async (memberId: string) =>
      (await collections.memberships.find({ orgId, memberId }).toArray()).map((m) => m.groupId);
    expect(await byMember(early)).toEqual([everyone]);
    expect(await byMember(late)).toEqual([staff]);
  });

  it('ends with a recorded reason, not retries, when the group no longer exists', async () => {
    const orgId = uniqueName('org');
    const userId = await provisionedUser(orgId);
    const eventId = uuidv7();
    await producer.defaultGroup({ orgId, userId, groupDisplayName: 'Deleted group', eventId });
    const job = await finished(jobIds.defaultGroup(eventId));
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({ outcome: 'skipped', reason: 'group-not-found' });
    expect(job.attemptsStarted).toBe(1);
    expect(await collections.memberships.countDocuments({ orgId })).toBe(0);
  });
});

describe('account linked', () => {
  it('makes the account SSO-only and SCIM-managed, records who and when, and emits one audit event', async () => {
    const orgId = uniqueName('org');
    // An account the host application created, with a password (libs/store's own path).
    const account = await createAccount(mongo, orgId, {
      userName: 'ada@example.com',
      email: 'ada@example.com',
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    });
    const userId = account._id;
    expect(account.auth.passwordHash).toBeDefined();
    const eventId = uuidv7();
    await producer.accountLinked({ orgId, userId, externalId: 'okta-00u1', tokenId: 'tok-42', eventId });
    const job = await finished(jobIds.accountLinked(eventId));
    expect(job.returnvalue).toEqual({ outcome: 'done' });

    const user = await collections.users.findOne({ _id: userId });
    expect(user?.auth).toEqual({ ssoOnly: true });
    expect(user?.userName).toBe('ada@example.com');
    expect(user?.scim).toMatchObject({ managed: true, externalId: 'okta-00u1', linkedBy: 'tok-42' });
    expect(user?.scim?.linkedAt).toEqual(new Date(job.timestamp));

    // Running the same link again (a retry after a crash) changes nothing and emits no second event.
    const again = await worker.queues.provisioning.add(JobName.accountLinked, job.data, {
      jobId: `again-${eventId}`,
    });
    await finished(again.id!);
    expect((await collections.users.findOne({ _id: userId }))?.scim?.linkedAt).toEqual(
      new Date(job.timestamp),
    );
    const events = await collections.auditEvents.find({ orgId, action: 'user.linked' }).toArray();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: { type: 'token', id: 'tok-42' },
      resourceType: 'User',
      resourceId: userId,
      details: { sourceEventId: eventId, ssoOnly: true },
    });
    expect(events[0]!._id.slice(0, 13)).toBe(eventId.slice(0, 13));
    // The emitted event is fanned out like any other (no sinks configured: dispatched directly).
    await waitFor('user.linked dispatched', async () =>
      Boolean((await collections.auditEvents.findOne({ _id: events[0]!._id }))?.dispatchedAt),
    );
  });

  it('fails an invalid payload at once, without retries, and counts it', async () => {
    const job = await worker.queues.provisioning.add(
      JobName.accountLinked,
      { v: 2, orgId: 'o' },
      { jobId: `invalid-${uuidv7()}`, attempts: 5 },
    );
    const done = await finished(job.id!);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(await worker.registry.getSingleMetricAsString('scim_job_failures_total')).toContain(
      'reason="invalid_payload"',
    );
  });
});

describe('the audit event as outbox of provisioning jobs', () => {
  it('re-derives the default-group and account-linked jobs of a user.created event whose enqueue was lost', async () => {
    const orgId = uniqueName('org');
    const groupId = await group(orgId, 'Everyone');
    const account = await createAccount(mongo, orgId, {
      userName: 'grace',
      email: 'grace@example.com',
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    });
    // What the api stored; its enqueues of the provisioning jobs never reached Redis.
    const event = await storeAuditEvent(collections, orgId, {
      action: 'user.created',
      actor: { type: 'token', id: 'tok-7' },
      resourceId: account._id,
      details: { linkedAccount: true, defaultGroup: 'Everyone', externalId: 'okta-7' },
    });
    await producer.auditFanout({ orgId, eventId: event._id });

    await finished(jobIds.defaultGroup(event._id));
    await finished(jobIds.accountLinked(event._id));
    expect(await collections.memberships.countDocuments({ orgId, groupId, memberId: account._id })).toBe(1);
    const user = await collections.users.findOne({ _id: account._id });
    expect(user?.auth).toEqual({ ssoOnly: true });
    expect(user?.scim).toMatchObject({ managed: true, externalId: 'okta-7', linkedBy: 'tok-7' });
  });
});
