import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AuditLog,
  MembershipRepository,
  createAccount,
  ensureStoreIndexes,
  isDuplicateKey,
  storeCollections,
  uuidv7,
} from '../src/index.js';

let connection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(inject('mongodbUri'), { dbName: `store_${process.pid}` })
    .asPromise();
  await ensureStoreIndexes(connection);
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('uuidv7', () => {
  it('is a version 7 RFC 9562 UUID and sorts in creation order', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7());
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('MembershipRepository', () => {
  it('20 concurrent adds to one group lose no member, and a repeated add is a no-op', async () => {
    const repo = new MembershipRepository(connection);
    const members = Array.from({ length: 20 }, (_, i) => ({ id: `u${i}`, type: 'User' as const }));
    const added = await Promise.all(members.map((m) => repo.add('org-a', 'g1', [m])));
    expect(added.reduce((a, b) => a + b, 0)).toBe(20);
    expect(await repo.add('org-a', 'g1', [members[0]!, { id: 'u-new', type: 'User' }])).toBe(1);
    expect(await repo.memberIds('org-a', 'g1')).toHaveLength(21);
    expect(await repo.members('org-a', 'g1', 5)).toHaveLength(5);
    expect(await repo.memberIds('org-b', 'g1')).toEqual([]);
  });

  it('replace leaves exactly the wanted members and removeMember reports the groups it left', async () => {
    const repo = new MembershipRepository(connection);
    await repo.add('org-r', 'g1', [
      { id: 'a', type: 'User' },
      { id: 'b', type: 'User' },
    ]);
    await repo.add('org-r', 'g2', [{ id: 'a', type: 'User', display: 'Alice' }]);
    expect(
      await repo.replace('org-r', 'g1', [
        { id: 'b', type: 'User' },
        { id: 'c', type: 'User' },
      ]),
    ).toBe(true);
    expect((await repo.memberIds('org-r', 'g1')).sort()).toEqual(['b', 'c']);
    expect(await repo.members('org-r', 'g2', 10)).toEqual([{ value: 'a', type: 'User', display: 'Alice' }]);
    expect(await repo.removeMember('org-r', 'b')).toEqual(['g1']);
    expect(await repo.memberIds('org-r', 'g1')).toEqual(['c']);
  });
});

describe('accounts and audit', () => {
  it('a host-application account is unmanaged, and userName is unique per organisation case-insensitively', async () => {
    const account = await createAccount(connection, 'org-acc', {
      userName: 'Ann@Example.com',
      email: 'ann@example.com',
      passwordHash: 'x',
    });
    expect(account).toMatchObject({
      scim: { managed: false },
      auth: { ssoOnly: false },
      userNameKey: 'ann@example.com',
    });
    const error = await createAccount(connection, 'org-acc', { userName: 'ANN@example.com' }).catch(
      (e: unknown) => e,
    );
    expect(isDuplicateKey(error)).toBe(true);
    await expect(
      createAccount(connection, 'org-other', { userName: 'ann@example.com' }),
    ).resolves.toBeDefined();
  });

  it('records audit events undispatched and lists them oldest first', async () => {
    const log = new AuditLog(connection);
    const first = await log.record({
      orgId: 'org-aud',
      action: 'user.created',
      actor: { type: 'token', id: 't1' },
      resourceType: 'User',
      resourceId: 'u1',
      changedAttributes: ['userName'],
    });
    await log.record({
      orgId: 'org-aud',
      action: 'user.deleted',
      actor: { type: 'token', id: 't1' },
      resourceType: 'User',
      resourceId: 'u1',
    });
    expect(first.dispatchedAt).toBeNull();
    expect((await log.recent('org-aud', 10)).map((e) => e.action)).toEqual(['user.created', 'user.deleted']);
    expect(await storeCollections(connection).auditEvents.countDocuments({ orgId: 'org-other' })).toBe(0);
  });
});
