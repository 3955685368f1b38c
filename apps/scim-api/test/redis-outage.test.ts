import { randomUUID } from 'node:crypto';
import { JobProducer } from '@scimbridge/jobs';
import { ensureStoreIndexes } from '@scimbridge/store';
import { applyOrganisation, ensureTenancyIndexes, issueToken } from '@scimbridge/tenancy';
import { startRedis } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { client, newUser } from './harness.js';

describe('Redis outage', () => {
  it('writes still succeed (the user limit too) and their audit events wait undispatched for the relay', async () => {
    const server = await startRedis('redis-outage');
    const connection = await mongoose
      .createConnection(inject('mongodbUri'), { dbName: `api_outage_${randomUUID().slice(0, 8)}` })
      .asPromise();
    await ensureTenancyIndexes(connection);
    await ensureStoreIndexes(connection);
    const redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    const jobs = new JobProducer({
      connection: new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
      enqueue: { timeoutMs: 250 },
    });
    const app = await buildApp({
      registry: new Registry(),
      readiness: [],
      logLevel: 'silent',
      connection,
      redis,
      jobs,
    });
    try {
      await applyOrganisation(
        connection,
        'org-outage',
        // With a user limit the create also takes the cross-replica limit lock, which needs Redis.
        { displayName: 'Outage', plan: { scimIncluded: true, userLimit: 1 } },
        redis,
      );
      const { token } = await issueToken(connection, redis, 'org-outage');
      const c = client(app, token);
      expect((await c.get('/Users')).statusCode).toBe(200);
      await server.stop();
      const started = Date.now();
      const created = await c.post('/Users', newUser('during-outage@example.com'));
      expect(created.statusCode).toBe(201);
      expect(Date.now() - started).toBeLessThan(2_000);
      const events = await connection
        .collection('audit_events')
        .find({ orgId: 'org-outage', action: 'user.created' })
        .toArray();
      expect(events).toEqual([
        expect.objectContaining({ resourceId: created.json().id, dispatchedAt: null }),
      ]);
      // The limit still holds on this replica without Redis.
      const beyond = await c.post('/Users', newUser('beyond-limit@example.com'));
      expect(beyond.statusCode).toBe(403);
    } finally {
      await app.close();
      await jobs.close().catch(() => undefined);
      redis.disconnect();
      await connection.dropDatabase();
      await connection.close();
      await server.stop().catch(() => undefined);
    }
  });
});
