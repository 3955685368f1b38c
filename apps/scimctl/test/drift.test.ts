import { storeCollections, uuidv7 } from '@scimbridge/store';
import { applyOrganisation } from '@scimbridge/tenancy';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { useScimctl } from './harness.js';

// `scimctl drift` through the real CLI on real servers: drift written on purpose into the database, reported,
// repaired (the dangling row deleted, the old undispatched event re-enqueued on Redis) and reported again.
const cli = useScimctl();
const { scimctl } = cli;
const orgId = 'drifting';
const groupId = uuidv7();
const userId = uuidv7();
const eventId = uuidv7(Date.now() - 3_600_000);
const danglingRow = `${groupId}:${uuidv7()}`;

beforeAll(async () => {
  await applyOrganisation(cli.connection, orgId, { displayName: orgId });
  const store = storeCollections(cli.connection);
  const now = new Date();
  await store.users.insertOne({
    _id: userId,
    orgId,
    meta: { resourceType: 'User', created: now, lastModified: now, version: 1 },
    userName: 'off',
    userNameKey: 'off',
    active: false,
    scim: { managed: true, deletedAt: null },
    auth: { ssoOnly: true },
  });
  await store.groups.insertOne({
    _id: groupId,
    orgId,
    meta: { resourceType: 'Group', created: now, lastModified: now, version: 1 },
    displayName: 'g',
    displayNameKey: 'g',
    deletedAt: null,
  });
  await store.memberships.insertMany([
    { _id: `${groupId}:${userId}`, orgId, groupId, memberId: userId, memberType: 'User', addedAt: now },
    {
      _id: danglingRow,
      orgId,
      groupId,
      memberId: danglingRow.split(':')[1]!,
      memberType: 'User',
      addedAt: now,
    },
  ]);
  await store.auditEvents.insertOne({
    _id: eventId,
    orgId,
    action: 'user.updated',
    actor: { type: 'system', id: 'test' },
    resourceType: 'User',
    resourceId: userId,
    changedAttributes: [],
    requestId: null,
    traceId: null,
    occurredAt: new Date(Date.now() - 3_600_000),
    dispatchedAt: null,
  });
});

const ok = (run: { code: number; err: string[] }) => expect(run.code, run.err.join('\n')).toBe(0);

describe('scimctl drift', () => {
  it('prints each kind with its count, whether --repair fixes it, and a sample', async () => {
    const human = await scimctl('drift', orgId);
    ok(human);
    const text = human.out.join('\n');
    expect(text).toMatch(new RegExp(`^drift of ${orgId} at \\S+: examined \\d+ of 100000 documents\\n`));
    expect(text).toMatch(
      new RegExp(`inactive accounts +1 +report +${userId} \\(inactive 1, not SSO-only 0\\)`),
    );
    expect(text).toMatch(/unlinked accounts +0 +report +-/);
    expect(text).toMatch(new RegExp(`dangling memberships +1 +repair +${danglingRow}`));
    expect(text).toMatch(
      new RegExp(`undelivered events +1 +repair +${eventId} \\(undispatched 1, dead letters 0\\)`),
    );
    expect(text).not.toContain('partial');

    const [json] = (await scimctl('--json', 'drift', orgId)).json();
    expect(json).toMatchObject({
      orgId,
      partial: false,
      danglingMemberships: { count: 1, sample: [danglingRow] },
      inactiveAccounts: { count: 1, inactive: 1 },
    });
  });

  it('says when the budget cut the report short', async () => {
    const run = await scimctl('drift', orgId, '--budget', '2');
    ok(run);
    expect(run.out[0]).toMatch(
      /examined [12] of 2 documents \(partial: examined [12]; counts are lower bounds/,
    );
    expect((await scimctl('drift', orgId, '--budget', 'x')).code).not.toBe(0);
  });

  it('refuses an organisation that does not exist', async () => {
    const run = await scimctl('drift', 'nobody');
    expect(run.code).not.toBe(0);
    expect(run.err.join()).toMatch(/not found/);
  });

  it('--repair deletes the dangling row, re-enqueues the event and leaves the accounts', async () => {
    const prefix = `drift${Date.now().toString(36)}`;
    const run = await cli.scimctlWith({ QUEUE_PREFIX: prefix }, '--json', 'drift', orgId, '--repair');
    ok(run);
    expect(run.json()[0]).toMatchObject({
      membershipsRemoved: 1,
      groupsTouched: 1,
      redispatch: { eventsEnqueued: 1, deadLettersRedriven: 0 },
    });
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    try {
      // BullMQ's job hash (`<prefix>:<queue>:<job id>`): the fan-out job of the event, by its usual id.
      const data = await redis.hget(`${prefix}:scim-audit:audit-${eventId}`, 'data');
      expect(JSON.parse(data ?? 'null')).toMatchObject({ eventId, orgId });
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const store = storeCollections(cli.connection);
    expect(await store.memberships.countDocuments({ orgId })).toBe(1);
    expect((await store.groups.findOne({ _id: groupId }))?.meta.version).toBe(2);
    expect(await store.users.findOne({ _id: userId })).toMatchObject({ active: false });

    const after = await scimctl('drift', orgId);
    expect(after.out.join('\n')).toMatch(/dangling memberships +0 +repair +-/);
  });
});
