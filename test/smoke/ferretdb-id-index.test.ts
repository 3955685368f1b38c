import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startFerretDB, waitFor, type MongoServer } from '@scimbridge/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// FerretDB v1.24.2 indexes `_id` on `_ferretdb_sjson->"_id"` but queries `_ferretdb_sjson->'$._id'`, so SQLite
// scanned every table for every `_id` lookup, update and delete. The wrapper (scripts/go/ferretdb/idindex.go)
// adds the index FerretDB's own query shape can use; these tests read FerretDB's SQLite file to prove it.
const FERRETDB_ID_QUERY = `SELECT _ferretdb_sjson FROM "%t" WHERE _ferretdb_sjson->'$._id' = ?`;

describe('FerretDB wrapper: the `_id` index FerretDB queries use', () => {
  let server: MongoServer;
  let client: MongoClient;

  beforeAll(async () => {
    server = await startFerretDB('ferretdb-id-index');
    client = await new MongoClient(server.uri, { directConnection: true }).connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  function sqlite(database: string): DatabaseSync {
    return new DatabaseSync(join(server.dataDir, `${database}.sqlite`), { readOnly: true });
  }

  function tableOf(db: DatabaseSync, collection: string): string {
    const row = db.prepare('SELECT table_name FROM _ferretdb_collections WHERE name = ?').get(collection);
    return String((row as { table_name: string }).table_name);
  }

  async function planFor(database: string, collection: string): Promise<string> {
    let plan = '';
    const indexed = () => {
      const db = sqlite(database);
      try {
        const rows = db
          .prepare(`EXPLAIN QUERY PLAN ${FERRETDB_ID_QUERY.replace('%t', tableOf(db, collection))}`)
          .all('"x"') as { detail: string }[];
        plan = rows.map((r) => r.detail).join('; ');
        return /USING INDEX/.test(plan);
      } finally {
        db.close();
      }
    };
    await waitFor(`an _id index on ${database}.${collection}`, () => Promise.resolve(indexed()), {
      timeoutMs: 10_000,
    });
    return plan;
  }

  it('indexes a new collection so `_id` lookups search instead of scanning', async () => {
    const users = client.db('idindex').collection<{ _id: string; n: number }>('users');
    await users.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `u${n}`, n })));
    expect(await planFor('idindex', 'users')).toMatch(/^SEARCH .* USING INDEX \S+_scimbridge_id/);
    // Queries answer exactly as before.
    expect(await users.findOne({ _id: 'u7' })).toEqual({ _id: 'u7', n: 7 });
    await users.updateOne({ _id: 'u7' }, { $set: { n: 70 } });
    expect(await users.findOne({ _id: 'u7' })).toEqual({ _id: 'u7', n: 70 });
    await users.deleteOne({ _id: 'u8' });
    expect(await users.countDocuments({})).toBe(49);
  });

  it('indexes a collection again after it is dropped and re-created', async () => {
    const groups = client.db('idindex').collection<{ _id: string }>('groups');
    await groups.insertOne({ _id: 'g1' });
    await planFor('idindex', 'groups');
    await groups.drop();
    await groups.insertOne({ _id: 'g2' });
    expect(await planFor('idindex', 'groups')).toMatch(/USING INDEX/);
    expect(await groups.find().toArray()).toEqual([{ _id: 'g2' }]);
  });

  it('indexes every database, including one dropped and re-created under the same name', async () => {
    const db = client.db('idindex_other');
    await db.collection('events').insertOne({ _id: 'e1' } as never);
    await planFor('idindex_other', 'events');
    await db.dropDatabase();
    await db.collection('events').insertOne({ _id: 'e2' } as never);
    expect(await planFor('idindex_other', 'events')).toMatch(/USING INDEX/);
  });
});
