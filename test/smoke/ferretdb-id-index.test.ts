import { randomUUID } from 'node:crypto';
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// FerretDB v1.24.2 (SQLite) indexed `_id` on `_ferretdb_sjson->"_id"` but queried `_ferretdb_sjson->'$._id'`, so
// SQLite scanned every table for every `_id` lookup, update and delete. scripts/bootstrap.sh builds it with the
// query spelled like the index (docs/testing.md). FerretDB's own `explain` runs its real SQL through SQLite's
// EXPLAIN QUERY PLAN, so these tests ask FerretDB itself.
describe('FerretDB: `_id` lookups use the `_id` index', () => {
  let client: MongoClient;
  const dbName = `idindex_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    client = await new MongoClient(inject('mongodbUri'), { directConnection: true }).connect();
  });
  afterAll(async () => {
    await client?.db(dbName).dropDatabase();
    await client?.close();
  });

  /**
   * The plan of a find, as text: FerretDB reports SQLite's EXPLAIN QUERY PLAN lines (`queryPlanner.Plan`), MongoDB
   * its winning plan's stages (with MONGODB_URI at a MongoDB, an `_id` find is IDHACK / EXPRESS_IXSCAN / IXSCAN).
   */
  async function plan(collection: string, filter: Record<string, unknown>): Promise<string> {
    const reply = await client.db(dbName).command({ explain: { find: collection, filter } });
    const planner = reply.queryPlanner as { Plan?: string[]; winningPlan?: unknown };
    return planner.Plan ? planner.Plan.join('; ') : JSON.stringify(planner.winningPlan);
  }

  /** An index lookup on `_id` in either server's words, never a scan of the table or collection. */
  const usesIdIndex = /USING INDEX \S+__id_ |IDHACK|EXPRESS_IXSCAN|"IXSCAN"/;

  it('plans a find by string or ObjectId `_id` as an index search, not a scan', async () => {
    const users = client.db(dbName).collection<{ _id: string; n: number }>('users');
    await users.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `u${n}`, n })));
    expect(await plan('users', { _id: 'u7' })).toMatch(usesIdIndex);
    const events = client.db(dbName).collection<{ _id: ObjectId }>('events');
    const id = new ObjectId();
    await events.insertMany([{ _id: id }, { _id: new ObjectId() }]);
    expect(await plan('events', { _id: id })).toMatch(usesIdIndex);
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
