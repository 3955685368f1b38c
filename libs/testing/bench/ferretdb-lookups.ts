// What one lookup costs on the project's MongoDB-wire server as its collection grows: `findOne` by `_id` alone,
// by `{_id, orgId}`, and by `{orgId, userNameKey}` (a declared unique index). Prints ms per lookup; asserts
// nothing. docs/testing.md explains the figures (FerretDB v1 answers only `_id` alone from an index, and only
// as bootstrap builds it). Sizes: BENCH_SIZES (comma-separated, default 1000,10000,30000); MONGODB_URI to
// measure another server.
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { startFerretDB } from '../src/index.js';

const sizes = (process.env.BENCH_SIZES ?? '1000,10000,30000').split(',').map(Number);
const samples = 30;
const server = process.env.MONGODB_URI ? undefined : await startFerretDB('ferretdb-lookups');
const client = await new MongoClient(process.env.MONGODB_URI ?? server!.uri).connect();
const db = client.db(`lookups_${Date.now().toString(36)}`);
const users = db.collection<{ _id: string; orgId: string; userNameKey: string }>('users');
await users.createIndex({ orgId: 1, userNameKey: 1 }, { unique: true });

const shapes = {
  '{_id}': (i: number) => ({ _id: `id${i}` }),
  '{_id, orgId}': (i: number) => ({ _id: `id${i}`, orgId: `o${i % 10}` }),
  '{orgId, userNameKey}': (i: number) => ({ orgId: `o${i % 10}`, userNameKey: `user${i}@example.com` }),
};
const rows: Record<string, string | number>[] = [];
for (const size of sizes) {
  const have = await users.countDocuments({});
  for (let start = have; start < size; start += 5_000) {
    const docs = Array.from({ length: Math.min(5_000, size - start) }, (_, k) => {
      const i = start + k;
      return {
        _id: `id${i}`,
        orgId: `o${i % 10}`,
        userNameKey: `user${i}@example.com`,
        userName: `User${i}@example.com`,
        name: { givenName: 'Bench', familyName: 'User' },
        emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
        meta: { version: 1, created: new Date() },
        scim: { managed: true, deletedAt: null },
      };
    });
    await users.insertMany(docs);
  }
  const row: Record<string, string | number> = { documents: size };
  for (const [label, filter] of Object.entries(shapes)) {
    const started = performance.now();
    for (let k = 0; k < samples; k += 1) await users.findOne(filter(Math.floor(Math.random() * size)));
    row[label] = `${((performance.now() - started) / samples).toFixed(2)} ms`;
  }
  rows.push(row);
}
console.table(rows);
await db.dropDatabase();
await client.close();
await server?.stop();
