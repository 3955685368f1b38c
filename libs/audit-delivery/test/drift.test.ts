import { randomBytes } from 'node:crypto';
import { QueueName } from '@scimbridge/jobs';
import {
  ensureStoreIndexes,
  MONGODB_PROFILE,
  storeCollections,
  uuidv7,
  detectStoreProfile,
  type StoreCollections,
  type StoreProfile,
  type UserDocument,
} from '@scimbridge/store';
import { recordQueryShapes } from '@scimbridge/telemetry';
import { ensureTenancyIndexes, tenancyCollections } from '@scimbridge/tenancy';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  auditDeliveryCollections,
  auditDeliveryEnv,
  driftReport as reportOf,
  ensureAuditDeliveryIndexes,
  repairDrift as repair,
  type AuditDeliveryCollections,
} from '../src/index.js';

// Each kind of drift is written on purpose straight into a real MongoDB-wire server (FerretDB in CI), then
// reported, repaired, and every collection compared before and after the repair.
const unique = (prefix: string) =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

const dbName = unique('drift');
let mongo: Connection;
let store: StoreCollections;
let delivery: AuditDeliveryCollections;
let profile: StoreProfile;
/** Only what the report and the repair send is recorded for the query-shape audit, not the test's own seeding. */
let recording = false;
async function recorded<T>(work: () => Promise<T>): Promise<T> {
  recording = true;
  try {
    return await work();
  } finally {
    recording = false;
  }
}
const driftReport = (...args: Parameters<typeof reportOf>) => recorded(() => reportOf(...args));
const repairDrift = (...args: Parameters<typeof repair>) => recorded(() => repair(...args));

beforeAll(async () => {
  mongo = await mongoose
    .createConnection(inject('mongodbUri'), {
      dbName,
      serverSelectionTimeoutMS: 5_000,
      monitorCommands: true,
    })
    .asPromise();
  recordQueryShapes(mongo.getClient(), { service: 'drift report (test)', include: () => recording });
  await ensureStoreIndexes(mongo);
  await ensureTenancyIndexes(mongo);
  delivery = auditDeliveryCollections(mongo);
  await ensureAuditDeliveryIndexes(delivery);
  store = storeCollections(mongo);
  profile = await detectStoreProfile(mongo);
});

afterAll(async () => {
  await mongo.dropDatabase();
  await mongo.close();
});

const HOUR = 3_600_000;

function user(orgId: string, userName: string, over: Partial<UserDocument> = {}): UserDocument {
  const now = new Date();
  return {
    _id: uuidv7(),
    orgId,
    meta: { resourceType: 'User', created: now, lastModified: now, version: 1 },
    userName,
    userNameKey: userName.toLowerCase(),
    active: true,
    emails: [{ value: `${userName}@example.com`, valueKey: `${userName}@example.com`, type: 'work' }],
    scim: { managed: true, provisionedAt: now, deletedAt: null },
    auth: { ssoOnly: true },
    ...over,
  };
}

function group(orgId: string, displayName: string, over: Record<string, unknown> = {}) {
  const now = new Date();
  return {
    _id: uuidv7(),
    orgId,
    meta: { resourceType: 'Group', created: now, lastModified: now, version: 3 },
    displayName,
    displayNameKey: displayName.toLowerCase(),
    deletedAt: null,
    ...over,
  };
}

function row(orgId: string, groupId: string, memberId: string, memberType: 'User' | 'Group' = 'User') {
  return { _id: `${groupId}:${memberId}`, orgId, groupId, memberId, memberType, addedAt: new Date() };
}

function event(orgId: string, occurredAt: Date, dispatchedAt: Date | null = null) {
  return {
    _id: uuidv7(occurredAt.getTime()),
    orgId,
    action: 'user.updated' as const,
    actor: { type: 'system' as const, id: 'test' },
    resourceType: 'User',
    resourceId: null,
    changedAttributes: [],
    requestId: null,
    traceId: null,
    occurredAt,
    dispatchedAt,
  };
}

function deadLetter(orgId: string, eventId: string, sink: string, status: 'dead' | 'redelivered') {
  return {
    _id: `${eventId}:${sink}`,
    orgId,
    eventId,
    sink,
    status,
    reason: 'http_5xx',
    lastStatusCode: 503,
    lastError: 'receiver answered 503',
    attempts: 12,
    deadLetteredAt: new Date(Date.now() - HOUR),
    redriveCount: 0,
    redrivenAt: null,
    resolvedAt: null,
  };
}

/** One organisation with every kind of drift, and the ids the report must name. */
async function seedDrift(orgId: string) {
  const ok = user(orgId, 'ok');
  const inactive = user(orgId, 'inactive', { active: false });
  const password = user(orgId, 'password', { auth: { ssoOnly: false, passwordHash: 'x' } });
  const deleted = user(orgId, 'deleted', {
    active: false,
    scim: { managed: true, deletedAt: new Date() },
  });
  // A pre-existing account with ok's email, never linked; and one with an email of its own.
  const duplicate = user(orgId, 'ok-legacy', {
    emails: [{ value: 'OK@example.com', valueKey: 'ok@example.com', type: 'work' }],
    scim: { managed: false },
    auth: { ssoOnly: false, passwordHash: 'y' },
  });
  const alone = user(orgId, 'alone', { scim: { managed: false }, auth: { ssoOnly: false } });
  await store.users.insertMany([ok, inactive, password, deleted, duplicate, alone]);

  const live = group(orgId, 'live');
  const stale = group(orgId, 'stale', { deletedAt: new Date() });
  // Deleted a moment ago, its entry not completed yet: its rows are in flight, not drift.
  const inFlight = group(orgId, 'in-flight', {
    deletedAt: new Date(),
    outbox: [{ id: 'e1', at: new Date(), writer: 'w', event: {}, effects: [] }],
  });
  await store.groups.insertMany([live, stale, inFlight] as never[]);

  const missingUser = uuidv7();
  const missingGroup = uuidv7();
  const fine = [row(orgId, live._id, ok._id), row(orgId, inFlight._id, ok._id)];
  const dangling = [
    row(orgId, live._id, deleted._id),
    row(orgId, live._id, missingUser),
    row(orgId, live._id, missingGroup, 'Group'),
    row(orgId, stale._id, ok._id),
    row(orgId, missingGroup, ok._id),
  ];
  await store.memberships.insertMany([...fine, ...dangling]);

  await tenancyCollections(mongo).organisations.insertOne({
    _id: orgId,
    displayName: orgId,
    settings: {
      audit: {
        webhooks: [
          { name: 'siem', url: 'https://siem.example/hook', secret: 's' },
          { name: 'archive', url: 'https://archive.example/hook', secret: 's' },
        ],
      },
    } as never,
    deleting: false,
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  const old = event(orgId, new Date(Date.now() - HOUR));
  const young = event(orgId, new Date());
  const done = event(orgId, new Date(Date.now() - HOUR), new Date());
  const letteredEvent = event(orgId, new Date(Date.now() - 2 * HOUR), new Date());
  await store.auditEvents.insertMany([old, young, done, letteredEvent]);
  // The old event reached siem; archive has neither a record nor a dead letter.
  await delivery.auditDeliveries.insertOne({
    _id: `${old._id}:siem`,
    orgId,
    eventId: old._id,
    sink: 'siem',
    outcome: 'delivered',
    attempts: 1,
    at: new Date(),
  });
  await delivery.auditDeadLetters.insertMany([
    deadLetter(orgId, letteredEvent._id, 'archive', 'dead'),
    deadLetter(orgId, done._id, 'archive', 'redelivered'),
  ]);
  return { ok, inactive, password, duplicate, live, dangling, old, letteredEvent };
}

/** Every document of every collection the report reads, by collection and id. */
async function snapshot(): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of [
    'users',
    'groups',
    'memberships',
    'audit_events',
    'audit_deliveries',
    'audit_dead_letters',
    'organisations',
    'applied_effects',
  ]) {
    const docs = await mongo.collection(name).find({}).toArray();
    out[name] = Object.fromEntries(docs.map((d) => [String(d._id), d]));
  }
  return out;
}

describe('drift report', () => {
  it('reports each kind of drift with its count and sample, and nothing of another organisation', async () => {
    const orgId = unique('org');
    const seeded = await seedDrift(orgId);
    // Another organisation's drift, and an account there with the same email as one of orgId's.
    const other = unique('other');
    await seedDrift(other);

    const report = await driftReport(mongo, orgId, { profile });
    expect(report).toMatchObject({ orgId, partial: false, budget: 100_000 });
    expect(report.inactiveAccounts).toEqual({
      count: 2,
      inactive: 1,
      notSsoOnly: 1,
      sample: [seeded.inactive._id, seeded.password._id],
    });
    expect(report.unlinkedAccounts).toEqual({
      count: 1,
      sample: [seeded.duplicate._id],
      pairs: [{ accountId: seeded.duplicate._id, userId: seeded.ok._id }],
    });
    expect(report.danglingMemberships.count).toBe(5);
    expect([...report.danglingMemberships.sample].sort()).toEqual(seeded.dangling.map((d) => d._id).sort());
    expect(report.undeliveredEvents).toEqual({
      count: 2,
      undispatched: 1,
      deadLetters: 1,
      missingBySink: { siem: 0, archive: 1 },
      sample: [seeded.old._id, `${seeded.letteredEvent._id}:archive`],
    });
    // 6 accounts, 1 email match, 7 rows with their groups and members, the settings, events and dead letters.
    expect(report.examined).toBeGreaterThan(15);
    expect(report.examined).toBeLessThan(60);

    // The MongoDB profile's look-ups ({orgId, _id: {$in}}) give the same answer.
    const asMongo = await driftReport(mongo, orgId, { profile: MONGODB_PROFILE, now: report.checkedAt });
    expect({ ...asMongo, examined: 0 }).toEqual({ ...report, examined: 0 });
  });

  it('checks an event stream only for the events the fan-out sends it (those with an RFC 9967 form)', async () => {
    const orgId = unique('streams');
    await tenancyCollections(mongo).organisations.insertOne({
      _id: orgId,
      displayName: orgId,
      settings: {
        audit: {
          webhooks: [{ name: 'siem', url: 'https://siem.example/hook', secret: 's' }],
          eventStreams: [
            { name: 'feed', url: 'https://feed.example/set', audience: 'feed', authorization: null },
          ],
        },
      } as never,
      deleting: false,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    const change = { ...event(orgId, new Date(Date.now() - HOUR)), resourceId: uuidv7() };
    const failure = {
      ...event(orgId, new Date(Date.now() - HOUR)),
      action: 'auth.failed' as const,
      resourceType: null,
    };
    await store.auditEvents.insertMany([change, failure] as never[]);
    const report = await driftReport(mongo, orgId, { profile });
    // Webhooks get every event; the stream gets the user change, never the authentication failure.
    expect(report.undeliveredEvents.missingBySink).toEqual({ siem: 2, 'events:feed': 1 });
    await delivery.auditDeliveries.insertOne({
      _id: `${change._id}:events:feed`,
      orgId,
      eventId: change._id,
      sink: 'events:feed',
      outcome: 'delivered',
      attempts: 1,
      at: new Date(),
    });
    const after = await driftReport(mongo, orgId, { profile });
    expect(after.undeliveredEvents.missingBySink).toEqual({ siem: 2, 'events:feed': 0 });
  });
});

// FerretDB v1 reads a scan as one unsorted cursor, MongoDB as keyset pages in index order: both are checked here.
describe.each([
  ['detected', () => profile],
  ['mongodb', () => MONGODB_PROFILE],
])('drift report scans (%s profile)', (name, profileOf) => {
  it('pages every scan in index order without missing or repeating a document at batch edges', async () => {
    const orgId = unique(`paged-${name}`);
    const users = Array.from({ length: 10 }, (_, i) => user(orgId, `u${i}`, { active: i % 2 === 0 }));
    await store.users.insertMany(users);
    const groups = [group(orgId, 'a'), group(orgId, 'b')];
    await store.groups.insertMany(groups);
    // 5 rows per group, each pointing at a missing user; rows of a group sit on both sides of a batch edge.
    await store.memberships.insertMany(
      groups.flatMap((g) => Array.from({ length: 5 }, () => row(orgId, g._id, uuidv7()))),
    );
    // 10 undispatched events, 4 of them at the same instant (the keyset's tie on occurredAt).
    const at = Date.now() - HOUR;
    await store.auditEvents.insertMany(
      Array.from({ length: 10 }, (_, i) => event(orgId, new Date(i < 4 ? at : at + i))),
    );

    const report = await driftReport(mongo, orgId, { profile: profileOf(), batchSize: 3 });
    expect(report.partial).toBe(false);
    expect(report.inactiveAccounts.inactive).toBe(5);
    expect(report.danglingMemberships.count).toBe(10);
    expect(new Set(report.danglingMemberships.sample).size).toBe(10);
    expect(report.undeliveredEvents.undispatched).toBe(10);
  });

  it('stops at the budget and says the report is partial', async () => {
    const orgId = unique(`big-${name}`);
    const g = group(orgId, 'big');
    await store.groups.insertOne(g);
    // 40 rows pointing at users that do not exist: all dangling.
    await store.memberships.insertMany(Array.from({ length: 40 }, () => row(orgId, g._id, uuidv7())));

    const full = await driftReport(mongo, orgId, { profile: profileOf(), batchSize: 7 });
    expect(full.partial).toBe(false);
    expect(full.danglingMemberships.count).toBe(40);
    expect(full.danglingMemberships.sample).toHaveLength(10);

    const capped = await driftReport(mongo, orgId, { profile: profileOf(), batchSize: 7, budget: 30 });
    expect(capped.partial).toBe(true);
    // A batch reads at most a third of what is left (a row may cost itself, its group and its member); here
    // the members are missing, so each batch costs its rows plus the one group: 8, 8, 5, 4, 2, 2, then 1 left.
    expect(capped.examined).toBe(29);
    expect(capped.danglingMemberships.count).toBe(23);
  });
});

describe('drift repair', () => {
  it('fixes the dangling rows and re-dispatches undelivered events, and changes nothing else', async () => {
    const orgId = unique('repair');
    const seeded = await seedDrift(orgId);
    const other = unique('untouched');
    await seedDrift(other);
    const before = await snapshot();

    const prefix = unique('q');
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    const audit = new Queue(QueueName.audit, { connection: redis, prefix });
    const deliveryQueue = new Queue(QueueName.auditDelivery, { connection: redis, prefix });
    try {
      const settings = auditDeliveryEnv.parse({ QUEUE_PREFIX: prefix });
      const repair = await repairDrift(mongo, orgId, {
        profile,
        queues: { audit, delivery: deliveryQueue, settings },
      });
      expect(repair).toMatchObject({
        membershipsRemoved: 5,
        groupsTouched: 1,
        redispatch: { eventsEnqueued: 1, deadLettersRedriven: 1 },
      });
      expect((await audit.getJob(`audit-${seeded.old._id}`))?.data).toMatchObject({
        eventId: seeded.old._id,
        orgId,
      });
      const [redriven] = await deliveryQueue.getJobs(['waiting']);
      expect(redriven?.data).toMatchObject({ eventId: seeded.letteredEvent._id, sink: 'archive' });
      expect(await deliveryQueue.count()).toBe(1);
      expect(await audit.count()).toBe(1);
      await audit.obliterate({ force: true });
      await deliveryQueue.obliterate({ force: true });
    } finally {
      await audit.close();
      await deliveryQueue.close();
      redis.disconnect();
    }

    const after = await snapshot();
    // The dangling rows are gone; every other row is unchanged.
    const removed = new Set(seeded.dangling.map((d) => d._id));
    const expectedRows = Object.fromEntries(
      Object.entries(before.memberships!).filter(([id]) => !removed.has(id)),
    );
    expect(after.memberships).toEqual(expectedRows);
    // The live group that lost rows moved its version on (its ETag changes with its members); no other group did.
    const liveBefore = before.groups![seeded.live._id] as { meta: { version: number } };
    const liveAfter = after.groups![seeded.live._id] as { meta: { version: number; lastModified: Date } };
    expect(liveAfter.meta.version).toBe(liveBefore.meta.version + 1);
    expect({ ...after.groups, [seeded.live._id]: null }).toEqual({
      ...before.groups,
      [seeded.live._id]: null,
    });
    // The re-driven dead letter is `redriving`; nothing else of it or any other document changed.
    const letterId = `${seeded.letteredEvent._id}:archive`;
    expect(after.audit_dead_letters![letterId]).toMatchObject({ status: 'redriving', redriveCount: 1 });
    expect({ ...after.audit_dead_letters, [letterId]: null }).toEqual({
      ...before.audit_dead_letters,
      [letterId]: null,
    });
    for (const name of ['users', 'audit_events', 'audit_deliveries', 'organisations', 'applied_effects'])
      expect(after[name], name).toEqual(before[name]);

    // Reported again: the repaired kinds are clean, the reported-only ones stay as they were.
    const again = await driftReport(mongo, orgId, { profile });
    expect(again.danglingMemberships).toEqual({ count: 0, sample: [] });
    expect(again.inactiveAccounts.count).toBe(2);
    expect(again.unlinkedAccounts.count).toBe(1);
    expect(again.undeliveredEvents).toMatchObject({ undispatched: 1, deadLetters: 0 });
  });

  it('without queues repairs only the database and says so', async () => {
    const orgId = unique('noredis');
    await seedDrift(orgId);
    const before = await snapshot();
    const repair = await repairDrift(mongo, orgId, { profile });
    expect(repair).toMatchObject({
      membershipsRemoved: 5,
      redispatch: { skipped: 'no queues (pass REDIS_URL)' },
    });
    const after = await snapshot();
    expect(after.audit_dead_letters).toEqual(before.audit_dead_letters);
    expect(Object.keys(after.memberships!)).toHaveLength(Object.keys(before.memberships!).length - 5);
  });
});
