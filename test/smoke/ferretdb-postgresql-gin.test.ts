import { startFerretDB, type MongoServer } from '@scimbridge/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// FerretDB v1 on PostgreSQL (make dev's store) pushes a top-level equality down as `_jsonb -> 'field' @> value`,
// which its btree indexes cannot serve. scripts/postgres/ferretdb-gin.sql (installed by startPostgres and
// scripts/dev.sh) gives every field of every index FerretDB creates a GIN twin that serves `@>`. FerretDB's own
// `explain` runs its real SQL through PostgreSQL's EXPLAIN, so these tests ask FerretDB itself.
describe('FerretDB on PostgreSQL: pushed-down equalities use the GIN twins of its indexes', () => {
  let server: MongoServer;
  let client: MongoClient;
  const dbName = 'gin';

  beforeAll(async () => {
    server = await startFerretDB('gin-ferretdb', 'postgresql');
    client = await new MongoClient(server.uri, { directConnection: true }).connect();
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  async function plan(collection: string, filter: Record<string, unknown>): Promise<string> {
    const reply = await client.db(dbName).command({ explain: { find: collection, filter } });
    return JSON.stringify(reply.queryPlanner);
  }

  it('serves `_id`, a compound index field and an array key copy from an index, never a sequential scan', async () => {
    const users = client.db(dbName).collection<Record<string, unknown> & { _id: string }>('users');
    await users.createIndex({ orgId: 1, userNameKey: 1 }, { unique: true });
    await users.createIndex({ orgId: 1, emailKeys: 1 });
    await users.createIndex({ orgId: 1, 'emails.valueKey': 1 });
    await users.insertMany(
      Array.from({ length: 3_000 }, (_, n) => ({
        _id: `u${n}`,
        orgId: n % 2 ? 'a' : 'b',
        userNameKey: `user${n}@x`,
        emails: [{ valueKey: `user${n}@x` }, { valueKey: `alt${n}@x` }],
        emailKeys: [`user${n}@x`, `alt${n}@x`],
      })),
    );
    for (const filter of [
      { _id: 'u7' },
      { orgId: 'a', userNameKey: 'user7@x' },
      { orgId: 'a', emailKeys: 'alt7@x' },
    ]) {
      const text = await plan('users', filter);
      expect(text, JSON.stringify(filter)).toMatch(/Bitmap Index Scan/);
      expect(text, JSON.stringify(filter)).toMatch(/gin_[0-9a-f]{24}/);
      expect(text, JSON.stringify(filter)).not.toMatch(/Seq Scan/);
    }
    // Answers are FerretDB's as before: exact matches, array elements match, other organisations do not.
    expect(await users.findOne({ _id: 'u7' })).toMatchObject({ userNameKey: 'user7@x' });
    expect((await users.find({ orgId: 'a', userNameKey: 'user7@x' }).toArray()).map((d) => d._id)).toEqual([
      'u7',
    ]);
    expect((await users.find({ orgId: 'a', emailKeys: 'alt7@x' }).toArray()).map((d) => d._id)).toEqual([
      'u7',
    ]);
    expect(await users.countDocuments({ orgId: 'b', emailKeys: 'alt7@x' })).toBe(0);
    expect(await users.countDocuments({ orgId: 'a', userNameKey: 'user' })).toBe(0);
    // A nested field is not pushed down by FerretDB (it filters in Go), so it gets no twin; still answered right.
    expect(
      (await users.find({ orgId: 'a', 'emails.valueKey': 'alt7@x' }).toArray()).map((d) => d._id),
    ).toEqual(['u7']);
  });

  it('gives a collection created later its twins too (the trigger, not a one-off script)', async () => {
    const memberships = client
      .db(dbName)
      .collection<{ _id: string; orgId: string; memberId: string }>('memberships_later');
    await memberships.createIndex({ orgId: 1, memberId: 1 });
    await memberships.insertMany(
      Array.from({ length: 2_000 }, (_, n) => ({ _id: `m${n}`, orgId: 'a', memberId: `u${n}` })),
    );
    expect(await plan('memberships_later', { orgId: 'a', memberId: 'u5' })).toMatch(/Bitmap Index Scan/);
    expect(await memberships.countDocuments({ orgId: 'a', memberId: 'u5' })).toBe(1);
  });
});
