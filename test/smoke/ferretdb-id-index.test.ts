import { randomUUID } from 'node:crypto';
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// FerretDB v1.24.2 (SQLite) indexed `_id` on `_ferretdb_sjson->"_id"` but queried `_ferretdb_sjson->'$._id'`, so
// SQLite scanned every table for every `_id` lookup, update and delete. scripts/bootstrap.sh builds it with the
// query spelled like the index (docs/testing.md). FerretDB's own `explain` runs its real SQL through SQLite's
// EXPLAIN QUERY PLAN, so these tests ask FerretDB itself.
describe('FerretDB: `_id` lookups use the `_id` index', () => {
  let client: MongoClient;
  let ferretdb = false;
  const dbName = `idindex_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    client = await new MongoClient(inject('mongodbUri'), { directConnection: true }).connect();
    // FerretDB names itself in buildInfo; with MONGODB_URI at a MongoDB these checks do not apply.
    ferretdb = 'ferretdbVersion' in (await client.db('admin').command({ buildInfo: 1 }));
  });
  afterAll(async () => {
    await client?.db(dbName).dropDatabase();
    await client?.close();
  });

  async function plan(collection: string, filter: Record<string, unknown>): Promise<string> {
    const reply = await client.db(dbName).command({ explain: { find: collection, filter } });
    return (reply.queryPlanner as { Plan: string[] }).Plan.join('; ');
  }

  it('plans a find by string or ObjectId `_id` as an index search, not a scan', async (ctx) => {
    if (!ferretdb) ctx.skip();
    const users = client.db(dbName).collection<{ _id: string; n: number }>('users');
    await users.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `u${n}`, n })));
    expect(await plan('users', { _id: 'u7' })).toMatch(/SEARCH \S+ USING INDEX \S+__id_ /);
    const events = client.db(dbName).collection<{ _id: ObjectId }>('events');
    const id = new ObjectId();
    await events.insertMany([{ _id: id }, { _id: new ObjectId() }]);
    expect(await plan('events', { _id: id })).toMatch(/USING INDEX \S+__id_ /);
  });

  it('answers, updates and deletes by `_id` exactly as before', async () => {
    const accounts = client.db(dbName).collection<{ _id: string; n: number }>('accounts');
    await accounts.insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: `a${n}`, n })));
    expect(await accounts.findOne({ _id: 'a7' })).toEqual({ _id: 'a7', n: 7 });
    expect(await accounts.findOne({ _id: 'missing' })).toBeNull();
    expect((await accounts.updateOne({ _id: 'a7' }, { $set: { n: 70 } })).modifiedCount).toBe(1);
    expect(await accounts.findOne({ _id: 'a7' })).toEqual({ _id: 'a7', n: 70 });
    expect((await accounts.deleteOne({ _id: 'a8' })).deletedCount).toBe(1);
    expect(await accounts.countDocuments({})).toBe(19);
    await expect(accounts.insertOne({ _id: 'a7', n: 0 })).rejects.toMatchObject({ code: 11000 });
  });
});
