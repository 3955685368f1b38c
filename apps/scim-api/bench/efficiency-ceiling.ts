// The ceilings of bench/efficiency.ts: for each IdP workload, a bare Fastify route that sends the same database
// commands as the api (same driver, same filters, same writes) and returns comparable JSON, with nothing else (no
// auth, no rate limit, no SCIM parsing, rendering or validation). What the api costs beyond this is its own.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import mongoose from 'mongoose';

const { MongoClient } = mongoose.mongo;

const [uri, dbName, port] = process.argv.slice(2) as [string, string, string];
const client = await new MongoClient(uri).connect();
const db = client.db(dbName);
const users = db.collection<{ _id: string; orgId: string } & Record<string, unknown>>('users');
const memberships = db.collection('memberships');
const events = db.collection('audit_events');
const app = Fastify();

const event = (orgId: string, resourceId: string, action: string) => ({
  _id: randomUUID(),
  orgId,
  action,
  resourceType: 'User',
  resourceId,
  occurredAt: new Date(),
  dispatchedAt: null,
});

// Okta's lookup: the user by its userName key, plus its groups.
app.get<{ Querystring: { org: string; key: string } }>('/lookup', async (request) => {
  const { org, key } = request.query;
  const doc = await users.findOne({
    orgId: org,
    userNameKey: key,
    'scim.managed': true,
    'scim.deletedAt': null,
  });
  const groups = doc ? await memberships.find({ orgId: org, memberId: doc._id }).toArray() : [];
  return { totalResults: doc ? 1 : 0, Resources: doc ? [{ ...doc, groups }] : [] };
});

/** As the api's store reads a document by id today (findInOrganisation): `_id` alone, the organisation checked after. */
async function byId(org: string, id: string) {
  const doc = await users.findOne({ _id: id });
  return doc && doc.orgId === org ? doc : null;
}

// GET /Users/{id}: the document and its groups.
app.get<{ Params: { org: string; id: string } }>('/users/:org/:id', async (request) => {
  const { org, id } = request.params;
  const doc = await byId(org, id);
  const groups = await memberships.find({ orgId: org, memberId: id }).toArray();
  return { ...doc, groups };
});

// PATCH active: read, conditional update carrying the outbox entry, the event, the entry's removal, groups.
app.patch<{ Params: { org: string; id: string }; Body: { active: boolean } }>(
  '/users/:org/:id',
  async (request) => {
    const { org, id } = request.params;
    const doc = await byId(org, id);
    const version = (doc?.meta as { version?: number } | undefined)?.version;
    const entry = event(org, id, 'user.updated');
    const updated = await users.findOneAndUpdate(
      { _id: id, orgId: org, 'meta.version': version },
      {
        $set: { active: request.body.active },
        $inc: { 'meta.version': 1 },
        $push: { outbox: entry },
      } as never,
      { returnDocument: 'after' },
    );
    await events.insertOne(entry as never);
    await users.updateOne({ _id: id, orgId: org }, { $pull: { outbox: entry } } as never);
    const groups = await memberships.find({ orgId: org, memberId: id }).toArray();
    return { ...updated, groups };
  },
);

// POST /Users: the insert carrying its entry, the event, the entry's removal.
app.post<{ Params: { org: string }; Body: Record<string, unknown> }>(
  '/users/:org',
  async (request, reply) => {
    const { org } = request.params;
    const id = randomUUID();
    const entry = event(org, id, 'user.created');
    const doc = { _id: id, orgId: org, ...request.body, outbox: [entry] };
    await users.insertOne(doc);
    await events.insertOne(entry as never);
    await users.updateOne({ _id: id, orgId: org }, { $pull: { outbox: entry } } as never);
    return reply.code(201).send({ ...doc, outbox: undefined });
  },
);

// A list page: 100 users in id order and the total.
app.get<{ Params: { org: string } }>('/users/:org', async (request) => {
  const { org } = request.params;
  const filter = { orgId: org, 'scim.managed': true, 'scim.deletedAt': null };
  const [page, total] = await Promise.all([
    users.find(filter).sort({ _id: 1 }).limit(100).toArray(),
    users.countDocuments(filter),
  ]);
  return { totalResults: total, Resources: page };
});

app.get('/ready', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: Number(port) });
