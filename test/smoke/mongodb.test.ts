import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

describe('MongoDB-wire server (FerretDB unless MONGODB_URI is set)', () => {
  let connection: mongoose.Connection;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(inject('mongodbUri'), { dbName: `smoke_${randomUUID().slice(0, 8)}` })
      .asPromise();
  });
  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('enforces a unique index with a duplicate-key error, as the api relies on for userName', async () => {
    const Account = connection.model(
      'Account',
      new mongoose.Schema({ orgId: String, userNameKey: String }).index(
        { orgId: 1, userNameKey: 1 },
        { unique: true },
      ),
    );
    await Account.createIndexes();
    await Account.create({ orgId: 'o1', userNameKey: 'ada' });
    await Account.create({ orgId: 'o2', userNameKey: 'ada' });
    await expect(Account.create({ orgId: 'o1', userNameKey: 'ada' })).rejects.toMatchObject({ code: 11000 });
    expect(await Account.countDocuments({ userNameKey: 'ada' })).toBe(2);
  });

  it('lets exactly one of many concurrent inserts of the same unique key win', async () => {
    // The api's membership and uniqueness guarantees rest on this primitive. (FerretDB v1 does NOT make
    // concurrent read-modify-write updates atomic — $inc/$addToSet/compare-and-set lose writes; see
    // docs/testing.md — so nothing in the project may depend on that.)
    const Membership = connection.model(
      'Membership',
      new mongoose.Schema({ orgId: String, groupId: String, memberId: String }).index(
        { orgId: 1, groupId: 1, memberId: 1 },
        { unique: true },
      ),
    );
    await Membership.createIndexes();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => Membership.create({ orgId: 'o1', groupId: 'g1', memberId: 'u1' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 11000 });
    expect(await Membership.countDocuments({ groupId: 'g1' })).toBe(1);
  });
});
