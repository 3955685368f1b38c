import { redriveDeadLetters } from '@scimbridge/audit-delivery';
import { createAccount, MONGODB_PROFILE } from '@scimbridge/store';
import { branchesOf, commandShapes, recordQueryShapes, shapeText } from '@scimbridge/telemetry';
import { applyOrganisation, issueToken } from '@scimbridge/tenancy';
import { startRedis, waitFor, type RedisServer } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose, { type Connection, type mongo as driver } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultWorkerSettings } from '../src/index.js';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  exited,
  spawnService,
  startTestWorker,
  uniqueName,
  WebhookReceiver,
  workerCollections,
  type ServiceProcess,
  type TestWorker,
} from './support.js';

// The worker (and the api process in front of it) under the MongoDB store profile, on the embedded FerretDB: the
// same commands a MongoDB cluster would get, answered slowly. Every lookup and write by id must carry the
// organisation (docs/mongodb.md "Sharding"); the query-shape audit checks the FerretDB profile's `_id`-alone
// lookups against the shapes recorded here (docs/query-shapes.md "Store profiles").
const dbName = uniqueName('worker_profile');
const orgId = uniqueName('org-profile');
const QUERIES = new Set(['find', 'findAndModify', 'update', 'delete', 'count', 'distinct', 'aggregate']);
const ORGANISATION_SCOPED = new Set([
  'users',
  'groups',
  'memberships',
  'audit_events',
  'applied_effects',
  'audit_deliveries',
  'audit_dead_letters',
]);
let mongo: Connection;
let workerMongo: Connection;
let collections: WorkerCollections;
let redis: RedisServer;
let redisClient: Redis;
let api: ServiceProcess;
let worker: TestWorker;
const commands: driver.CommandStartedEvent[] = [];
const siem = new WebhookReceiver();
// Refuses with a status retrying cannot fix: the delivery is dead-lettered at once, until it is re-driven.
const down = new WebhookReceiver(() => ({ status: 400 }));
let token: string;
let baseUrl: string;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
  // The worker's own connection: its commands are recorded and checked apart from what the test reads.
  workerMongo = await mongoose
    .createConnection(inject('mongodbUri'), { dbName, monitorCommands: true })
    .asPromise();
  workerMongo.getClient().on('commandStarted', (event) => commands.push(event));
  recordQueryShapes(workerMongo.getClient(), { service: 'scim-worker (in-process)', profile: 'mongodb' });
  redis = await startRedis('redis-worker-profile');
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  await siem.start();
  await down.start();
  await applyOrganisation(
    mongo,
    orgId,
    {
      displayName: 'Profile',
      defaultGroup: 'Everyone',
      audit: {
        webhooks: [
          { name: 'siem', url: siem.url, secret: 'profile-secret' },
          { name: 'down', url: down.url, secret: 'profile-secret' },
        ],
      },
    },
    redisClient,
  );
  token = (await issueToken(mongo, redisClient, orgId)).token;
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  api = await spawnService(
    'scim-api',
    { MONGODB_URI: uri.toString(), REDIS_URL: redis.url, STORE_PROFILE: 'mongodb' },
    /Server listening at/,
  );
  baseUrl = `http://127.0.0.1:${api.port()}/scim/v2`;
  worker = await startTestWorker(
    workerMongo,
    redis.url,
    { QUEUE_PREFIX: 'scimbridge' },
    { relay: true, storeProfile: MONGODB_PROFILE },
  );
}, 120_000);

afterAll(async () => {
  api?.kill('SIGTERM');
  if (api) await exited(api);
  await worker?.stop();
  redisClient?.disconnect();
  await redis?.stop();
  await siem.stop();
  await down.stop();
  await workerMongo?.close();
  await mongo.dropDatabase();
  await mongo.close();
});

async function scim(method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as { id?: string } };
}

describe('worker under the MongoDB store profile', () => {
  it('default group, account link, fan-out, delivery, dead letter and re-drive: every query by id carries orgId', async () => {
    const api = (path: string, body: unknown) => scim('POST', path, body);
    const group = await api('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Everyone',
    });
    expect(group.status).toBe(201);
    const user = await api('/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'grace@idp.example.com',
      emails: [{ type: 'work', value: 'grace@idp.example.com', primary: true }],
    });
    expect(user.status).toBe(201);
    const account = await createAccount(mongo, orgId, {
      userName: 'ada.legacy',
      email: 'ada@example.com',
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    });
    const linked = await api('/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'ada@idp.example.com',
      emails: [{ type: 'work', value: 'ada@example.com', primary: true }],
    });
    expect(linked.body.id).toBe(account._id);
    await waitFor(
      'both users in Everyone and the link recorded',
      async () =>
        (await collections.memberships.countDocuments({ orgId, groupId: group.body.id })) === 2 &&
        (await collections.auditEvents.countDocuments({ orgId, action: 'user.linked' })) === 1,
      { timeoutMs: 30_000 },
    );
    // Every event reaches `siem` and is dead-lettered for `down`; then each is marked dispatched.
    await waitFor(
      'every event dispatched',
      async () => (await collections.auditEvents.countDocuments({ orgId, dispatchedAt: null })) === 0,
      { timeoutMs: 30_000 },
    );
    const events = await collections.auditEvents.countDocuments({ orgId });
    expect(events).toBeGreaterThanOrEqual(4);
    expect(await collections.auditDeadLetters.countDocuments({ orgId, status: 'dead' })).toBe(events);
    expect(siem.acknowledged().size).toBe(events);

    // The dead-letter gauge: counted by sink across organisations on `{status: 1, sink: 1}`.
    expect(await worker.registry.getSingleMetricAsString('scim_audit_dead_letters')).toContain(
      `scim_audit_dead_letters{sink="down"} ${events}`,
    );
    down.behaviour = () => ({ status: 200 });
    const redriven = await redriveDeadLetters(
      collections,
      worker.queues.delivery,
      { ...defaultWorkerSettings, AUDIT_WEBHOOK_ATTEMPTS: 3 },
      { orgId },
      MONGODB_PROFILE,
    );
    expect(redriven).toHaveLength(events);
    await waitFor(
      'every dead letter redelivered',
      async () =>
        (await collections.auditDeadLetters.countDocuments({ orgId, status: 'redelivered' })) === events,
      { timeoutMs: 30_000 },
    );

    const untargeted = commands
      .flatMap((c) => commandShapes(c.commandName, c.command as Record<string, unknown>, 'scim-worker'))
      .filter((s) => ORGANISATION_SCOPED.has(s.collection) && QUERIES.has(s.operation))
      .filter((s) => branchesOf(s.filter).some((branch) => branch.get('orgId') !== 'eq'))
      .map((s) => shapeText(s));
    // The relays, retention and the dead-letter gauge scan across organisations by design (test/query-shapes/policy.ts).
    expect(
      untargeted.filter(
        (s) =>
          !/outbox\.at|dispatchedAt|deadLetteredAt|\{at: \$lt\}|^aggregate audit_dead_letters \{status: eq\}/.test(
            s,
          ),
      ),
    ).toEqual([]);
    // The paths by id ran: dispatch marks, delivery records, dead letters, the effect ledger, the linked user.
    const shapes = new Set(
      commands.flatMap((c) =>
        commandShapes(c.commandName, c.command as Record<string, unknown>, 'w').map((s) => shapeText(s)),
      ),
    );
    for (const expected of [
      'update audit_events {_id: eq, orgId: eq}',
      'find audit_deliveries {_id: eq, orgId: eq} project [_id] limit',
      'find audit_dead_letters {_id: eq, orgId: eq} limit',
      'update audit_dead_letters {_id: eq, orgId: eq}',
      'find applied_effects {_id: eq, orgId: eq} project [_id] limit',
      'update users {_id: eq, orgId: eq}',
    ])
      expect(shapes, expected).toContain(expected);
  }, 120_000);
});
