// The ceilings of bench/efficiency.ts: for each IdP workload, a bare Fastify route that sends the same database
// commands as the api (same driver, same filters, same writes, same number per request) and returns comparable
// JSON, with nothing else (no auth, no rate limit, no SCIM parsing, rendering or validation). What the api costs
// beyond this is its own.
//
// The commands each route mirrors were taken from the api itself on the FerretDB store profile (the one this
// benchmark runs on by default): its recorded query shapes (SCIMBRIDGE_QUERY_SHAPES_DIR) and the diff of
// `db_client_operation_duration_seconds_count` on its /metrics around N requests of the workload. Not mirrored:
// what the api does outside the request's database commands (its cached token and organisation reads, the
// buffered request log, the event's job on Redis, the rate limiter's Redis script); those are the api's own cost.
// On the MongoDB profile the api's by-id filters also carry `orgId` (libs/store profile.ts `documentById`).
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import mongoose from 'mongoose';

const { MongoClient } = mongoose.mongo;

const [uri, dbName, port] = process.argv.slice(2) as [string, string, string];
const client = await new MongoClient(uri).connect();
const db = client.db(dbName);
type Doc = { _id: string; orgId: string } & Record<string, unknown>;
const users = db.collection<Doc>('users');
const groups = db.collection<Doc>('groups');
const memberships = db.collection<Doc>('memberships');
const events = db.collection('audit_events');
const app = Fastify();
const writer = randomUUID();
const visible = { 'scim.managed': true, 'scim.deletedAt': null };
/** As the api's `anyOf`: one value as an equality, several as `$in`. */
const anyOf = (values: string[]) => (values.length === 1 ? values[0]! : { $in: values });
const version = (doc: Doc) => (doc.meta as { version?: number } | undefined)?.version;

/** An outbox entry in the api's shape (libs/store outbox.ts): the event, its effects, who wrote it. */
function outboxEntry(
  orgId: string,
  resourceType: string,
  resourceId: string,
  action: string,
  effects: unknown[] = [],
) {
  const at = new Date();
  const event = {
    _id: randomUUID(),
    orgId,
    action,
    actor: { type: 'token', id: 'ceiling' },
    resourceType,
    resourceId,
    changedAttributes: [],
    requestId: null,
    traceId: null,
    occurredAt: at,
    dispatchedAt: null,
  };
  return { id: event._id, at, writer, event, effects };
}

/** As the api's store reads a document by id (findInOrganisation): `_id` alone, the organisation checked after. */
async function byId(collection: typeof users, org: string, id: string) {
  const doc = await collection.findOne({ _id: id });
  return doc && doc.orgId === org ? doc : null;
}

/**
 * As the api renders users' `groups` (groupsOfUser): the membership rows of the users, then the names of their
 * groups only when there are rows.
 */
async function groupsOf(org: string, userIds: string[]): Promise<Doc[]> {
  if (userIds.length === 0) return [];
  const rows = await memberships.find({ orgId: org, memberId: anyOf(userIds) }).toArray();
  const groupIds = [...new Set(rows.map((r) => r.groupId as string))];
  const names = groupIds.length
    ? await groups.find({ orgId: org, _id: anyOf(groupIds) }, { projection: { displayName: 1 } }).toArray()
    : [];
  return rows.map((r): Doc => ({ ...r, display: names.find((g) => g._id === r.groupId)?.displayName }));
}

/**
 * As the api's user write after its read (Lifecycle.commit of a `replace` plan, then Outbox.complete): the
 * replacement compare-and-set on the version read carrying its entry (`update` {_id, meta.version} on the FerretDB profile), the
 * event's insert, the entry's `$pull` by `_id`.
 */
async function replaceUser(org: string, existing: Doc, changes: Record<string, unknown>) {
  const entry = outboxEntry(org, 'User', existing._id, 'user.updated');
  const doc = {
    ...existing,
    ...changes,
    meta: { ...(existing.meta as object), lastModified: entry.at, version: (version(existing) ?? 1) + 1 },
  };
  const { matchedCount } = await users.replaceOne(
    { _id: existing._id, 'meta.version': version(existing) },
    { ...doc, outbox: [entry] },
  );
  await events.insertOne(entry.event as never);
  await users.updateOne({ _id: existing._id }, { $pull: { outbox: entry } } as never);
  return matchedCount > 0 ? doc : existing;
}

/**
 * A userName lookup as the api lists it: one page query (sort `_id`, limit 100; no count, the page is shorter
 * than asked) and, for a hit, its groups.
 */
async function lookup(org: string, key: string) {
  const page = await users
    .find({ orgId: org, ...visible, userNameKey: key })
    .sort({ _id: 1 })
    .limit(100)
    .toArray();
  const rows = await groupsOf(
    org,
    page.map((d) => d._id),
  );
  return { totalResults: page.length, Resources: page.map((d) => ({ ...d, groups: rows })) };
}

// Okta's lookup (GET /Users?filter=userName eq …), users find {orgId, scim.*, userNameKey} limit 100;
// on a hit, memberships find {orgId, memberId}, and groups find {orgId, _id} when it has groups.
app.get<{ Querystring: { org: string; key: string } }>('/lookup', async (request) =>
  lookup(request.query.org, request.query.key),
);

// POST /Users/.search with a userName filter: the same commands as the lookup. The body is the SearchRequest the
// api gets; the value is taken out of the filter with a regular expression and lower-cased (the userName key).
app.post<{ Params: { org: string }; Body: { filter: string } }>('/search/:org', async (request) => {
  const value = /^userName eq "(.*)"$/.exec(request.body.filter)?.[1] ?? '';
  return lookup(request.params.org, value.toLowerCase());
});

// GET /Users/{id}: users find {_id} (limit 1), memberships find {orgId, memberId}, groups find {orgId, _id} when
// the user has groups.
app.get<{ Params: { org: string; id: string } }>('/users/:org/:id', async (request) => {
  const { org, id } = request.params;
  const doc = await byId(users, org, id);
  return { ...doc, groups: await groupsOf(org, [id]) };
});

// PATCH active (Okta and Entra): users find {_id}; when `active` changes, the api's user PATCH is a replacement
// (UserPolicy.plan), so `replaceUser`'s three commands; when it does not, no write (the api writes nothing for a
// PATCH that changes nothing); then the groups as for a GET.
app.patch<{ Params: { org: string; id: string }; Body: { active: boolean } }>(
  '/users/:org/:id',
  async (request) => {
    const { org, id } = request.params;
    const existing = await byId(users, org, id);
    if (!existing) return {};
    const doc =
      existing.active === request.body.active
        ? existing
        : await replaceUser(org, existing, { active: request.body.active });
    return { ...doc, groups: await groupsOf(org, [id]) };
  },
);

// PUT /Users/{id} (the second half of Okta's GET + PUT): users find {_id}, `replaceUser` with the body's
// attributes (update {_id, meta.version}, audit_events insert, update {_id} `$pull`), then the groups as
// for a GET. What the client cannot set (ids, meta, account state, groups) stays as stored.
app.put<{ Params: { org: string; id: string }; Body: Record<string, unknown> }>(
  '/users/:org/:id',
  async (request) => {
    const { org, id } = request.params;
    const existing = await byId(users, org, id);
    if (!existing) return {};
    const {
      _id: _ignoredId,
      orgId: _ignoredOrg,
      meta: _meta,
      scim: _scim,
      auth: _auth,
      outbox: _outbox,
      groups: _groups,
      ...attributes
    } = request.body;
    const doc = await replaceUser(org, existing, attributes);
    return { ...doc, groups: await groupsOf(org, [id]) };
  },
);

// POST /Users: the account matches by userName key and by work email key (one query per `$or` branch on the
// FerretDB profile, in parallel; the email branch on its top-level copy `emailKeys`, which the insert stores), the insert carrying its entry, the event, the entry's `$pull` by `_id`. No
// reads after: a new user has no groups.
app.post<{ Params: { org: string }; Body: Record<string, unknown> }>(
  '/users/:org',
  async (request, reply) => {
    const { org } = request.params;
    const userNameKey = String(request.body.userName).toLowerCase();
    const emails = (request.body.emails as { value: string }[] | undefined) ?? [];
    const emailKey = emails[0]?.value.toLowerCase();
    await Promise.all([
      users.find({ orgId: org, userNameKey }).toArray(),
      ...(emailKey ? [users.find({ orgId: org, emailKeys: emailKey }).toArray()] : []),
    ]);
    const id = randomUUID();
    const entry = outboxEntry(org, 'User', id, 'user.created');
    const emailKeys = emails.map((e) => e.value.toLowerCase());
    const doc = { _id: id, orgId: org, ...request.body, userNameKey, emailKeys, outbox: [entry] };
    await users.insertOne(doc);
    await events.insertOne(entry.event as never);
    await users.updateOne({ _id: id }, { $pull: { outbox: entry } } as never);
    return reply.code(201).send({ ...doc, outbox: undefined });
  },
);

// A list page: users find {orgId, scim.*} sort `_id` limit 100, then the count (`aggregate` $match/$group: the
// page is full), then the page's groups: memberships find {orgId, memberId: $in}, groups find when there are rows.
app.get<{ Params: { org: string } }>('/users/:org', async (request) => {
  const { org } = request.params;
  const filter = { orgId: org, ...visible };
  const page = await users.find(filter).sort({ _id: 1 }).limit(100).toArray();
  const total = page.length < 100 ? page.length : await users.countDocuments(filter);
  const rows = await groupsOf(
    org,
    page.map((d) => d._id),
  );
  return {
    totalResults: total,
    Resources: page.map((d) => ({ ...d, groups: rows.filter((r) => r.memberId === d._id) })),
  };
});

/** Group members a write response lists at most (the api's MAX_MEMBERS_IN_WRITE_RESPONSE), plus one. */
const WRITE_MEMBERS = 10_001;

// A group member PATCH (Entra: one Add of `members`, or one Remove of `members[value eq "…"]`), as the api sends it:
//   groups find {_id} (the read for the write);
//   add only: users find {orgId, _id, scim.*} and groups find {orgId, _id, deletedAt}, in parallel (is the member
//     one of the organisation's users or groups: resolveMembers);
//   memberships find {orgId, _id} (`anyOf` of one) (is it a member now: MembershipRepository.present);
//   when that changes something: groups findAndModify {_id} ($set lastModified, $inc version, $push entry:
//     a member change commutes, no version condition), then the entry's effect (memberships insert, or memberships
//     delete {orgId, _id}), audit_events insert, groups update {_id} `$pull`;
//   memberships find {orgId, groupId} limit 10,001 (the response lists the members).
// 9 commands for an add, 7 for a remove.
app.patch<{
  Params: { org: string; id: string };
  Body: { Operations: { op: string; path: string; value?: { value: string }[] }[] };
}>('/groups/:org/:id', async (request) => {
  const { org, id } = request.params;
  const operation = request.body.Operations[0]!;
  const add = operation.op.toLowerCase() === 'add';
  const memberId = add ? operation.value![0]!.value : (/"([^"]+)"/.exec(operation.path)?.[1] ?? '');
  let group = await byId(groups, org, id);
  if (!group) return {};
  if (add)
    await Promise.all([
      users.find({ orgId: org, _id: memberId, ...visible }, { projection: { _id: 1 } }).toArray(),
      groups.find({ orgId: org, _id: memberId, deletedAt: null }, { projection: { _id: 1 } }).toArray(),
    ]);
  const rowId = `${id}:${memberId}`;
  const present =
    (await memberships.find({ orgId: org, _id: rowId }, { projection: { memberId: 1 } }).toArray()).length >
    0;
  if (add !== present) {
    const effect = add
      ? { kind: 'members.add', groupId: id, members: [{ id: memberId, type: 'User' }] }
      : { kind: 'members.remove', groupId: id, memberIds: [memberId] };
    const entry = outboxEntry(org, 'Group', id, 'group.members.changed', [effect]);
    group =
      (await groups.findOneAndUpdate(
        { _id: id },
        {
          $set: { 'meta.lastModified': entry.at },
          $inc: { 'meta.version': 1 },
          $push: { outbox: entry },
        } as never,
        { returnDocument: 'after' },
      )) ?? group;
    if (add)
      await memberships.insertMany(
        [
          {
            _id: rowId,
            orgId: org,
            groupId: id,
            memberId,
            memberType: 'User',
            addedAt: entry.at,
          },
        ],
        { ordered: false },
      );
    else await memberships.deleteMany({ orgId: org, _id: rowId });
    await events.insertOne(entry.event as never);
    await groups.updateOne({ _id: id }, { $pull: { outbox: entry } } as never);
  }
  const members = await memberships
    .find({ orgId: org, groupId: id }, { projection: { memberId: 1, memberType: 1, display: 1 } })
    .limit(WRITE_MEMBERS)
    .toArray();
  return { ...group, outbox: undefined, members };
});

app.get('/ready', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: Number(port) });
