import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  applyOrganisation,
  eventSigningKeyCollection,
  issueToken,
  rotateEventSigningKey,
} from '@scimbridge/tenancy';
import { startRedis, waitFor, type RedisServer } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deadLetterCollections, redriveDeadLetters } from '@scimbridge/audit-delivery';
import { detectStoreProfile } from '@scimbridge/store';
import { SCIM_EVENT } from '../src/audit/security-event.js';
import { defaultWorkerSettings } from '../src/index.js';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  exited,
  fastSettings,
  spawnService,
  startTestWorker,
  uniqueName,
  workerCollections,
  type ServiceProcess,
  type TestWorker,
} from './support.js';

// RFC 9967 SCIM events end to end: IdP → scim-api → MongoDB → scim-worker → RFC 8935 push → a receiver that
// verifies each SET against the JWKS the running api publishes. A Redis of its own (the api's default prefix).
const dbName = uniqueName('worker_set');
const orgId = uniqueName('org-set');
const FAILURES_BEFORE_ACK = 2;
const KNOWN_EVENTS = new Set<string>(Object.values(SCIM_EVENT));
let mongo: Connection;
let collections: WorkerCollections;
let redis: RedisServer;
let redisClient: Redis;
let api: ServiceProcess;
let worker: TestWorker;
let token: string;
let baseUrl: string;
let issuer: string;

interface Received {
  path: string;
  jti: string | null;
  kid: string | null;
  status: number;
  problem: string | null;
  payload: JWTPayload | null;
}

/**
 * An RFC 8935 push receiver: `/siem` expects `aud` "siem-receiver" and fails the first attempts of each SET with
 * 503; `/strict` expects `aud` "strict-receiver", which its stream is not configured with, so it answers 400
 * `invalid_audience`. Every SET is verified with jose against the api's JWKS (typ, iss, aud, signature) and its
 * RFC 9967 shape checked; anything wrong is a 400 `invalid_request` and recorded as a problem.
 */
class SetReceiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly attempts = new Map<string, number>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  useJwks(url: string): void {
    // No cooldown: a key rotated in mid-test is fetched as soon as a SET names it.
    this.jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: 0, cacheMaxAge: 60_000 });
  }

  /** Accepted (202) SETs per jti on one path. */
  accepted(path: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.received)
      if (r.path === path && r.status === 202 && r.jti) counts.set(r.jti, (counts.get(r.jti) ?? 0) + 1);
    return counts;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += (chunk as Buffer).toString();
    const path = req.url ?? '';
    const audience = path === '/siem' ? 'siem-receiver' : 'strict-receiver';
    const record: Received = { path, jti: null, kid: null, status: 0, problem: null, payload: null };
    this.received.push(record);
    const answer = (status: number, error?: { err: string; description: string }) => {
      record.status = status;
      res.writeHead(status, error ? { 'content-type': 'application/json' } : {});
      res.end(error ? JSON.stringify(error) : undefined);
    };
    if (req.headers['content-type'] !== 'application/secevent+jwt') {
      record.problem = `content-type ${req.headers['content-type']}`;
      return answer(400, { err: 'invalid_request', description: 'not a SET' });
    }
    if (path === '/siem' && req.headers.authorization !== 'Bearer receiver-secret') {
      record.problem = 'authorization header';
      return answer(400, { err: 'authentication_failed', description: 'no credentials' });
    }
    try {
      record.kid = decodeProtectedHeader(body).kid ?? null;
      const { payload } = await jwtVerify(body, this.jwks!, { issuer, typ: 'secevent+jwt' });
      record.jti = typeof payload.jti === 'string' ? payload.jti : null;
      record.payload = payload;
      if (payload.aud !== audience)
        return answer(400, { err: 'invalid_audience', description: `expected ${audience}` });
      const shape = rfc9967Problem(payload);
      if (shape) {
        record.problem = shape;
        return answer(400, { err: 'invalid_request', description: shape });
      }
    } catch (error) {
      record.problem = `verification: ${(error as Error).message}`;
      return answer(400, { err: 'invalid_key', description: 'signature' });
    }
    const key = `${path} ${record.jti}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    return answer(path === '/siem' && attempt <= FAILURES_BEFORE_ACK ? 503 : 202);
  }
}

/** RFC 9967's rules for the events this service emits (§2.1 subject, §2.4 provisioning payloads); null when valid. */
function rfc9967Problem(payload: JWTPayload): string | null {
  const sub = payload.sub_id as { format?: unknown; uri?: unknown } | undefined;
  if (payload.sub !== undefined) return 'sub must not be used';
  if (sub?.format !== 'scim' || typeof sub.uri !== 'string' || !/^\/(Users|Groups)\/[\w-]+$/.test(sub.uri))
    return `sub_id ${JSON.stringify(sub)}`;
  if (typeof payload.iat !== 'number' || typeof payload.jti !== 'string') return 'iat/jti';
  const events = payload.events as Record<string, Record<string, unknown>> | undefined;
  if (!events || Object.keys(events).length === 0) return 'no events';
  for (const [uri, body] of Object.entries(events)) {
    if (!KNOWN_EVENTS.has(uri)) return `unknown event ${uri}`;
    if (typeof body !== 'object' || body === null) return `${uri}: payload not an object`;
    if (uri.endsWith(':notice')) {
      if (!Array.isArray(body.attributes) || body.attributes.some((a) => typeof a !== 'string'))
        return `${uri}: attributes`;
      if ('data' in body) return `${uri}: data in a notice`;
    } else if (uri.endsWith(':full')) {
      const data = body.data as { schemas?: unknown; Operations?: unknown } | undefined;
      if (typeof data !== 'object' || data === null || 'attributes' in body) return `${uri}: data`;
      if (uri === SCIM_EVENT.patchFull && !Array.isArray(data.Operations)) return `${uri}: not a PatchOp`;
    } else if (Object.keys(body).length !== 0) return `${uri}: unexpected members`;
  }
  return null;
}

const receiver = new SetReceiver();
let streams: { name: string; url: string; audience: string; authorization: string | null }[];

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
  redis = await startRedis('redis-worker-set');
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  await receiver.start();
  streams = [
    {
      name: 'siem',
      url: receiver.url('/siem'),
      audience: 'siem-receiver',
      authorization: 'Bearer receiver-secret',
    },
    { name: 'strict', url: receiver.url('/strict'), audience: 'not-what-it-expects', authorization: null },
  ];
  await applyOrganisation(
    mongo,
    orgId,
    { displayName: 'SET', audit: { eventStreams: streams } },
    redisClient,
  );
  token = (await issueToken(mongo, redisClient, orgId)).token;
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  api = await spawnService(
    'scim-api',
    { MONGODB_URI: uri.toString(), REDIS_URL: redis.url, SCIM_EVENTS_KEY_CACHE_MS: '500' },
    /Server listening at/,
  );
  issuer = `http://127.0.0.1:${api.port()}`;
  baseUrl = `${issuer}/scim/v2`;
  receiver.useJwks(`${issuer}/.well-known/scim-events/jwks.json`);
  worker = await startTestWorker(
    mongo,
    redis.url,
    { QUEUE_PREFIX: 'scimbridge', SCIM_EVENTS_ISSUER: issuer, SCIM_EVENTS_KEY_CACHE_MS: 200 },
    { relay: true },
  );
}, 120_000);

afterAll(async () => {
  api?.kill('SIGTERM');
  if (api) await exited(api);
  await worker?.stop();
  redisClient?.disconnect();
  await redis?.stop();
  await receiver.stop();
  await mongo?.dropDatabase();
  await mongo?.close();
});

async function scim(method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as { id?: string } };
}

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function createUser(userName: string): Promise<string> {
  const res = await scim('POST', '/Users', {
    schemas: [USER],
    userName,
    externalId: `idp-${userName}`,
    name: { givenName: 'Set', familyName: 'Receiver' },
    emails: [{ type: 'work', value: userName, primary: true }],
    active: true,
  });
  expect(res.status).toBe(201);
  return res.body.id!;
}

/** Events of the organisation that have an RFC 9967 form (all but authentication failures and links). */
async function provisioningEvents() {
  return collections.auditEvents
    .find({ orgId, action: { $nin: ['auth.failed', 'user.linked'] } })
    .sort({ _id: 1 })
    .toArray();
}

async function allDispatched(): Promise<void> {
  await waitFor(
    'every event dispatched to both streams',
    async () => (await collections.auditEvents.countDocuments({ orgId, dispatchedAt: null })) === 0,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

describe('RFC 9967 SCIM events by RFC 8935 push', () => {
  let alice = '';
  let bob = '';
  let carol = '';
  let group = '';

  it('publishes the signing keys as a cacheable JWKS, without credentials', async () => {
    const response = await fetch(`${issuer}/.well-known/scim-events/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=60');
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('serves the JWKS from memory: 300 requests read the key set at most once per cache period (500 ms here)', async () => {
    const finds = async () => {
      const metrics = await (await fetch(`${issuer}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find(
          (l) =>
            l.startsWith('db_client_operation_duration_seconds_count{') &&
            l.includes('db_operation_name="find"') &&
            l.includes('db_collection_name="event_signing_keys"'),
        );
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const before = await finds();
    // The earlier JWKS request read it (or created it, then read it): the metric is there to count.
    expect(before).toBeGreaterThanOrEqual(1);
    const started = performance.now();
    let ok = 0;
    for (let batch = 0; batch < 6; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => fetch(`${issuer}/.well-known/scim-events/jwks.json`)),
      );
      ok += answers.filter((a) => a.status === 200).length;
      await Promise.all(answers.map((a) => a.arrayBuffer()));
    }
    const elapsedMs = performance.now() - started;
    const reads = (await finds()) - before;
    expect(ok).toBe(300);
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsedMs / 500) + 1);
    console.info(
      `JWKS: 300 requests in ${Math.round(elapsedMs)} ms, ${reads} key set read(s), ${before} before`,
    );
  });

  it('every provisioning change reaches the receiver exactly once after its acknowledgement, retried until then', async () => {
    alice = await createUser(`alice-${Date.now()}@example.com`);
    bob = await createUser(`bob-${Date.now()}@example.com`);
    carol = await createUser(`carol-${Date.now()}@example.com`);
    expect(
      (
        await scim('PATCH', `/Users/${alice}`, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', path: 'displayName', value: 'Alice A.' }],
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await scim('PUT', `/Users/${bob}`, {
          schemas: [USER],
          userName: `bob-renamed-${Date.now()}@example.com`,
          externalId: 'idp-bob',
          active: true,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await scim('PATCH', `/Users/${carol}`, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', path: 'active', value: false }],
        })
      ).status,
    ).toBe(200);
    const created = await scim('POST', '/Groups', {
      schemas: [GROUP],
      displayName: `Engineering ${Date.now()}`,
      members: [{ value: alice }, { value: bob }],
    });
    expect(created.status).toBe(201);
    group = created.body.id!;
    expect(
      (
        await scim('PATCH', `/Groups/${group}`, {
          schemas: [PATCH],
          Operations: [
            { op: 'add', path: 'members', value: [{ value: carol }] },
            { op: 'remove', path: `members[value eq "${alice}"]` },
          ],
        })
      ).status,
    ).toBe(200);
    expect((await scim('DELETE', `/Users/${bob}`)).status).toBe(204);

    await allDispatched();
    const events = await provisioningEvents();
    // 3 creates, a PATCH, a PUT, a deactivation, a group create, a member PATCH, a delete.
    expect(events).toHaveLength(9);
    const accepted = receiver.accepted('/siem');
    for (const event of events) expect(accepted.get(event._id), event.action).toBe(1);
    expect(accepted.size).toBe(events.length);
    // Each SET was refused FAILURES_BEFORE_ACK times with 503, then acknowledged, and never sent again.
    const siem = receiver.received.filter((r) => r.path === '/siem');
    expect(siem.filter((r) => r.problem !== null)).toEqual([]);
    expect(siem.filter((r) => r.status === 503)).toHaveLength(FAILURES_BEFORE_ACK * events.length);
    expect(siem).toHaveLength((FAILURES_BEFORE_ACK + 1) * events.length);
    const deliveries = await collections.auditDeliveries.find({ orgId, sink: 'events:siem' }).toArray();
    expect(deliveries.map((d) => [d.outcome, d.attempts])).toEqual(
      events.map(() => ['delivered', FAILURES_BEFORE_ACK + 1]),
    );

    // The event types, per change.
    const typesOf = (id: string) =>
      Object.keys(receiver.received.find((r) => r.jti === id && r.path === '/siem')!.payload!.events!);
    const byAction = (action: string, resourceId: string) =>
      events.find((e) => e.action === action && e.resourceId === resourceId)!._id;
    expect(typesOf(byAction('user.created', alice))).toEqual([SCIM_EVENT.createNotice]);
    expect(typesOf(byAction('user.updated', alice))).toEqual([SCIM_EVENT.patchNotice]);
    expect(typesOf(byAction('user.updated', bob))).toEqual([SCIM_EVENT.putNotice]);
    expect(typesOf(byAction('user.deactivated', carol)).sort()).toEqual(
      [SCIM_EVENT.deactivate, SCIM_EVENT.patchNotice].sort(),
    );
    expect(typesOf(byAction('group.created', group))).toEqual([SCIM_EVENT.createNotice]);
    expect(typesOf(byAction('user.deleted', bob))).toEqual([SCIM_EVENT.delete]);
    const patchNotice = receiver.received.find(
      (r) => r.jti === byAction('user.updated', alice) && r.path === '/siem',
    )!.payload!;
    expect(patchNotice).toMatchObject({
      iss: issuer,
      aud: 'siem-receiver',
      sub_id: { format: 'scim', uri: `/Users/${alice}` },
      events: { [SCIM_EVENT.patchNotice]: { attributes: ['displayName'] } },
    });
    expect(typeof patchNotice.txn).toBe('string');
  });

  it('a membership PATCH carries the members added and removed, as the PatchOp that makes the change', async () => {
    const events = await provisioningEvents();
    const change = events.find((e) => e.action === 'group.members.changed' && e.resourceId === group)!;
    const set = receiver.received.find(
      (r) => r.jti === change._id && r.path === '/siem' && r.status === 202,
    )!.payload!;
    expect(set.sub_id).toEqual({ format: 'scim', uri: `/Groups/${group}` });
    expect(set.events).toEqual({
      [SCIM_EVENT.patchFull]: {
        data: {
          schemas: [PATCH],
          Operations: [
            { op: 'add', path: 'members', value: [{ value: carol }] },
            { op: 'remove', path: `members[value eq "${alice}"]` },
          ],
        },
      },
    });
  });

  it('a 400 invalid_audience dead-letters each SET after one attempt, with the RFC 8935 error code', async () => {
    const events = await provisioningEvents();
    const strict = receiver.received.filter((r) => r.path === '/strict');
    expect(strict).toHaveLength(events.length);
    expect(strict.every((r) => r.status === 400 && r.problem === null)).toBe(true);
    expect(new Set(strict.map((r) => r.jti))).toEqual(new Set(events.map((e) => e._id)));
    const letters = await collections.auditDeadLetters.find({ orgId, sink: 'events:strict' }).toArray();
    expect(letters).toHaveLength(events.length);
    for (const letter of letters) {
      expect(letter).toMatchObject({
        status: 'dead',
        reason: 'set_invalid_audience',
        attempts: 1,
        lastStatusCode: 400,
      });
    }
  });

  it('re-driving those dead letters once the audience is fixed delivers the same SETs (same jti), once each', async () => {
    const events = await provisioningEvents();
    await applyOrganisation(mongo, orgId, {
      displayName: 'SET',
      audit: { eventStreams: [...streams.slice(0, 1), { ...streams[1]!, audience: 'strict-receiver' }] },
    });
    const letters = await redriveDeadLetters(
      deadLetterCollections(mongo),
      worker.queues.delivery,
      { ...defaultWorkerSettings, ...fastSettings, QUEUE_PREFIX: 'scimbridge' },
      { orgId, sink: 'events:strict' },
      await detectStoreProfile(mongo),
    );
    expect(letters).toHaveLength(events.length);
    await waitFor(
      'every re-driven SET acknowledged',
      async () =>
        (await collections.auditDeadLetters.countDocuments({
          orgId,
          sink: 'events:strict',
          status: 'redelivered',
        })) === events.length,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const accepted = receiver.accepted('/strict');
    expect(accepted.size).toBe(events.length);
    for (const event of events) expect(accepted.get(event._id), event.action).toBe(1);
  });

  it('after a key rotation new SETs carry the new kid and the old key stays published for verification', async () => {
    const before = new Set(receiver.received.map((r) => r.kid));
    expect(before.size).toBe(1);
    const rotated = await rotateEventSigningKey(eventSigningKeyCollection(mongo), {
      publishBeforeSeconds: 2,
      graceSeconds: 3_600,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const jwks = (await (await fetch(`${issuer}/.well-known/scim-events/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...before, rotated.kid].sort());
    const dave = await createUser(`dave-${Date.now()}@example.com`);
    await allDispatched();
    const created = (await provisioningEvents()).find((e) => e.resourceId === dave)!;
    const deliveries = receiver.received.filter((r) => r.jti === created._id && r.path === '/siem');
    expect(deliveries.map((r) => r.status)).toEqual([503, 503, 202]);
    expect(deliveries.every((r) => r.kid === rotated.kid && r.problem === null)).toBe(true);
  });
});
