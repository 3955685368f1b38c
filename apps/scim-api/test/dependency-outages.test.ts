import { randomUUID } from 'node:crypto';
import { JobProducer } from '@scimbridge/jobs';
import { ensureStoreIndexes } from '@scimbridge/store';
import {
  applyOrganisation,
  ensureTenancyIndexes,
  issueToken,
  revokeTokens,
  type IssuedToken,
  rotateToken,
} from '@scimbridge/tenancy';
import { freePort, startFerretDB, startRedis, type RedisServer } from '@scimbridge/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import { API_MONGO_OPTIONS, apiReadiness, buildApp } from '../src/index.js';
import { ERROR, client, newUser } from './harness.js';

interface Api {
  app: FastifyInstance;
  connection: Connection;
  redis: Redis;
  registry: Registry;
  close(): Promise<void>;
}

/** The api wired as main.ts wires it (readiness, connection options, Redis clients that never queue). */
async function startApi(mongoUri: string, redisUrl: string, dbName: string): Promise<Api> {
  const connection = await mongoose.createConnection(mongoUri, { ...API_MONGO_OPTIONS, dbName }).asPromise();
  await ensureTenancyIndexes(connection);
  await ensureStoreIndexes(connection);
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const queueRedis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  queueRedis.on('error', () => undefined);
  const jobs = new JobProducer({ connection: queueRedis, enqueue: { timeoutMs: 250 } });
  const registry = new Registry();
  const app = await buildApp({
    registry,
    readiness: apiReadiness(connection, redis),
    logLevel: 'silent',
    connection,
    redis,
    jobs,
  });
  return {
    app,
    connection,
    redis,
    registry,
    async close() {
      await app.close();
      await jobs.close().catch(() => undefined);
      redis.disconnect();
      await connection.close().catch(() => undefined);
    },
  };
}

async function readyz(app: FastifyInstance) {
  const response = await app.inject({ url: '/readyz' });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function withRedis<T>(name: string, run: (server: RedisServer) => Promise<T>): Promise<T> {
  const server = await startRedis(name);
  try {
    return await run(server);
  } finally {
    await server.stop().catch(() => undefined);
  }
}

describe('Redis outage', () => {
  it('the api stays Ready, reports Redis as degraded (body and metric) and keeps serving', async () => {
    await withRedis('outage-ready-redis', async (server) => {
      const dbName = `api_ready_${randomUUID().slice(0, 8)}`;
      const api = await startApi(inject('mongodbUri'), server.url, dbName);
      try {
        await applyOrganisation(api.connection, 'org-ready', { displayName: 'Ready' }, api.redis);
        const { token } = await issueToken(api.connection, api.redis, 'org-ready');
        expect(await readyz(api.app)).toMatchObject({ status: 200, body: { status: 'ok' } });
        await server.stop();
        expect(await readyz(api.app)).toMatchObject({
          status: 200,
          body: { status: 'degraded', checks: { mongodb: 'ok', redis: 'failing' } },
        });
        const metric = await api.registry.getSingleMetricAsString('scimbridge_dependency_up');
        expect(metric).toMatch(/dependency="redis",required="false"} 0/);
        expect(metric).toMatch(/dependency="mongodb",required="true"} 1/);
        expect((await client(api.app, token).post('/Users', newUser('ready@example.com'))).statusCode).toBe(
          201,
        );
        await server.restart();
        await expect
          .poll(async () => (await readyz(api.app)).body.status, { timeout: 10_000, interval: 200 })
          .toBe('ok');
      } finally {
        await api.close();
      }
    });
  });

  it('an api started while Redis is down starts at once, serves requests and subscribes when Redis is back', async () => {
    await withRedis('outage-start-redis', async (server) => {
      const dbName = `api_start_${randomUUID().slice(0, 8)}`;
      const seed = await mongoose.createConnection(inject('mongodbUri'), { dbName }).asPromise();
      await ensureTenancyIndexes(seed);
      const seedRedis = new Redis(server.url);
      seedRedis.on('error', () => undefined);
      await applyOrganisation(seed, 'org-start', { displayName: 'Start' }, seedRedis);
      const { token } = await issueToken(seed, seedRedis, 'org-start');
      seedRedis.disconnect();
      await server.stop();

      const started = Date.now();
      const api = await startApi(inject('mongodbUri'), server.url, dbName);
      try {
        expect(Date.now() - started).toBeLessThan(5_000);
        expect((await readyz(api.app)).status).toBe(200);
        const c = client(api.app, token);
        expect((await c.get('/Users')).statusCode).toBe(200);
        expect((await c.post('/Users', newUser('started@example.com'))).statusCode).toBe(201);
        await server.restart();
        await expect
          .poll(async () => (await readyz(api.app)).body.checks, { timeout: 10_000, interval: 200 })
          .toMatchObject({ redis: 'ok', 'revocation-broadcast': 'ok' });
      } finally {
        await api.close();
        await seed.dropDatabase();
        await seed.close();
      }
    });
  });
});

/** Milliseconds until every client's GET /Users is 401 (polled every 20 ms). */
async function untilRefusedEverywhere(
  clients: ReturnType<typeof client>[],
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const statuses = await Promise.all(clients.map(async (c) => (await c.get('/Users?count=1')).statusCode));
    if (statuses.every((status) => status === 401)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`still accepted after ${timeoutMs} ms`);
}

/** Two api instances on one database and one Redis server, with an organisation whose token both have cached. */
async function withTwoApis(
  name: string,
  run: (context: {
    server: RedisServer;
    apis: Api[];
    first: Api;
    orgId: string;
    token: IssuedToken;
  }) => Promise<void>,
): Promise<void> {
  await withRedis(`${name}-redis`, async (server) => {
    const dbName = `api_${name}_${randomUUID().slice(0, 8)}`;
    const apis = [
      await startApi(inject('mongodbUri'), server.url, dbName),
      await startApi(inject('mongodbUri'), server.url, dbName),
    ];
    try {
      const first = apis[0]!;
      const orgId = `org-${name}`;
      await applyOrganisation(first.connection, orgId, { displayName: name }, first.redis);
      const token = await issueToken(first.connection, first.redis, orgId);
      for (const api of apis) expect((await client(api.app, token.token).get('/Users')).statusCode).toBe(200);
      await run({ server, apis, first, orgId, token });
    } finally {
      for (const api of apis) await api.close();
    }
  });
}

describe('revocation without Redis', () => {
  it('a token rotated and then revoked while Redis is down is refused by two api instances within a second', async () => {
    await withTwoApis('revoke', async ({ server, apis, first, orgId, token: old }) => {
      await server.stop();
      for (const api of apis)
        await expect
          .poll(async () => (await readyz(api.app)).body.checks, { timeout: 5_000, interval: 50 })
          .toMatchObject({ 'revocation-broadcast': 'failing' });

      // The admin tools' Redis client is as unreachable as the api's.
      const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
      admin.on('error', () => undefined);
      try {
        const fresh = await rotateToken(first.connection, admin, orgId);
        const rotationDelay = await untilRefusedEverywhere(
          apis.map((api) => client(api.app, old.token)),
          5_000,
        );
        for (const api of apis)
          expect((await client(api.app, fresh.token).get('/Users')).statusCode).toBe(200);
        expect(await revokeTokens(first.connection, admin, orgId)).toEqual([fresh.tokenId]);
        const revocationDelay = await untilRefusedEverywhere(
          apis.map((api) => client(api.app, fresh.token)),
          5_000,
        );
        console.info(
          `revocation without Redis: old token refused by both api instances ${rotationDelay} ms after the rotation, the new one ${revocationDelay} ms after its revocation`,
        );
        // The bound is 1 s (the cache while unsubscribed); the rest is polling and request time on a shared CI machine.
        expect(rotationDelay).toBeLessThan(1_250);
        expect(revocationDelay).toBeLessThan(1_250);
      } finally {
        admin.disconnect();
      }
    });
  });

  it('a revocation whose broadcast failed is re-published by the api replicas, reaching those whose subscription stayed up', async () => {
    await withTwoApis('republish', async ({ apis, first, orgId, token }) => {
      // scimctl on a host that cannot reach Redis, while the api replicas can.
      const unreachable = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 1 });
      unreachable.on('error', () => undefined);
      try {
        await revokeTokens(first.connection, unreachable, orgId);
      } finally {
        unreachable.disconnect();
      }
      const pending = first.connection.collection('pending_broadcasts');
      expect(await pending.countDocuments({ orgId })).toBe(1);
      const delay = await untilRefusedEverywhere(
        apis.map((api) => client(api.app, token.token)),
        10_000,
      );
      console.info(`re-published revocation: refused by both api instances after ${delay} ms`);
      expect(delay).toBeLessThan(5_000);
      expect(await pending.countDocuments({ orgId })).toBe(0);
    });
  });
});

describe('MongoDB outage', () => {
  it('SCIM requests get 503 with Retry-After and a SCIM error within seconds, and /readyz fails', async () => {
    const mongo = await startFerretDB('outage-ferretdb');
    try {
      const api = await startApi(mongo.uri, inject('redisUrl'), 'outage');
      try {
        await applyOrganisation(api.connection, 'org-mongo', { displayName: 'Mongo' }, api.redis);
        const { token } = await issueToken(api.connection, api.redis, 'org-mongo');
        const cached = client(api.app, token);
        expect((await cached.get('/Users')).statusCode).toBe(200);
        const { token: uncachedToken } = await issueToken(api.connection, api.redis, 'org-mongo');
        await mongo.process.stop();

        let slowest = 0;
        for (const c of [cached, client(api.app, uncachedToken)]) {
          for (const send of [() => c.get('/Users'), () => c.post('/Users', newUser('down@example.com'))]) {
            const started = Date.now();
            const response = await send();
            const elapsed = Date.now() - started;
            expect(response.statusCode).toBe(503);
            expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
            expect(response.json()).toMatchObject({ schemas: [ERROR], status: '503' });
            expect(elapsed).toBeLessThan(5_000);
            slowest = Math.max(slowest, elapsed);
          }
        }
        console.info(`MongoDB outage: slowest 503 answered in ${slowest} ms`);
        expect((await readyz(api.app)).status).toBe(503);
      } finally {
        await api.close();
      }
    } finally {
      await mongo.stop().catch(() => undefined);
    }
  });
});
