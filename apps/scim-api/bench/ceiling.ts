// The ceiling the api is compared with: a bare Fastify route doing one driver findOne by an indexed key on the
// same database, with nothing else (no auth, no rate limit, no SCIM rendering).
import Fastify from 'fastify';
import mongoose from 'mongoose';

const { MongoClient } = mongoose.mongo;

const [uri, dbName, port] = process.argv.slice(2) as [string, string, string];
const client = await new MongoClient(uri).connect();
const users = client.db(dbName).collection('users');
const app = Fastify();
app.get<{ Querystring: { org: string; key: string } }>('/ceiling', async (request) => {
  const doc = await users.findOne({ orgId: request.query.org, userNameKey: request.query.key });
  return { found: doc !== null };
});
// For context: a point read by `_id`, the only lookup FerretDB v1 answers from an index (docs/testing.md).
app.get<{ Querystring: { id: string } }>('/ceiling-id', async (request) => {
  const doc = await users.findOne({ _id: request.query.id as never });
  return { found: doc !== null };
});
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.stdout.write('ready\n');
