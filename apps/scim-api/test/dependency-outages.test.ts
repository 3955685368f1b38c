import { randomUUID } from 'node:crypto';
import { JobProducer } from '@scimbridge/jobs';
import { ensureStoreIndexes } from '@scimbridge/store';
import { applyOrganisation, ensureTenancyIndexes, issueToken } from '@scimbridge/tenancy';
import { startFerretDB, startRedis, type RedisServer } from '@scimbridge/testing';
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
