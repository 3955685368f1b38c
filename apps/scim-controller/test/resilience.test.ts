import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  ManagedProcess,
  dataDir,
  freePort,
  startKube,
  startRedis,
  toolPath,
  waitFor,
  type KubeServer,
} from '@scimbridge/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken, tokenFingerprint } from '@scimbridge/tenancy';
import {
  condition,
  organisationOfToken,
  secretToken,
  startTestController,
  waitForReady,
  type TestController,
} from './harness.js';
import {
  applyCrd,
  createTenant,
  freshNamespace,
  kubeClients,
  patchTenantSpec,
  tenantManifest,
  type Kube,
} from './kube.js';

// Its own apiserver and MongoDB, because this file restarts and stops them.
let kubeServer: KubeServer;
let kube: Kube;
let ferret: ManagedProcess;
let mongoUri: string;
let running: TestController | undefined;

async function startMongo(): Promise<void> {
  ferret.start();
  await ferret.waitForLine(/^mongodb:\/\//);
}

beforeAll(async () => {
  kubeServer = await startKube('kube-resilience');
  kube = kubeClients(kubeServer.kubeconfig);
  await applyCrd(kube.kc);
  const port = await freePort();
  const dir = dataDir('ferretdb-resilience');
  // A fixed port, so the controller's connection string survives a restart.
  ferret = new ManagedProcess({
    name: 'ferretdb-resilience',
    command: toolPath('ferretdb'),
    args: ['-listen', `127.0.0.1:${port}`, '-sqlite-dir', join(dir), '-log-level', 'error'],
    dataDir: dir,
  });
  mongoUri = `mongodb://127.0.0.1:${port}/`;
  await startMongo();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(async () => {
  await ferret?.stop();
  ferret?.removeData();
  await kubeServer?.stop();
});

async function start(namespace: string, redisUrl = inject('redisUrl')): Promise<TestController> {
  running = await startTestController(kube, {
    namespace,
    mongoUri,
    redisUrl,
    database: `res_${randomUUID().slice(0, 8)}`,
  });
  return running;
}

describe('controller resilience', () => {
  it('recovers its watches after the apiserver restarts, without restarting itself', async () => {
    const namespace = await freshNamespace(kube.core, 'restart');
    const { registry, controller } = await start(namespace);
    await createTenant(
      kube,
      tenantManifest(namespace, 'before', {
        organisationId: `o-${randomUUID().slice(0, 8)}`,
        displayName: 'Before',
      }),
    );
    await waitForReady(kube, namespace, 'before');
    expect(controller.ready()).toBe(true);

    await kubeServer.restartApiserver();

    await createTenant(
      kube,
      tenantManifest(namespace, 'after', {
        organisationId: `o-${randomUUID().slice(0, 8)}`,
        displayName: 'After',
      }),
    );
    await waitForReady(kube, namespace, 'after', 'True', undefined, 60_000);
    // A spec change to the first tenant is seen too: both watches are live again.
    await patchTenantSpec(kube, namespace, 'before', { displayName: 'Before, renamed' });
    await waitForReady(kube, namespace, 'before', 'True', undefined, 30_000);
    const restarts = await registry.getSingleMetric('scim_controller_informer_restarts_total')!.get();
    expect(restarts.values.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThan(0);
  });

  it('reports MongoUnreachable while MongoDB is down and becomes Ready when it returns', async () => {
    const namespace = await freshNamespace(kube.core, 'mongo');
    await start(namespace);
    await createTenant(
      kube,
      tenantManifest(namespace, 'm', { organisationId: `o-${randomUUID().slice(0, 8)}`, displayName: 'M' }),
    );
    await waitForReady(kube, namespace, 'm');

    await ferret.stop();
    try {
      await patchTenantSpec(kube, namespace, 'm', { displayName: 'M while down' });
      const down = await waitForReady(kube, namespace, 'm', 'False', 'MongoUnreachable');
      expect(condition(down, 'Ready')?.message).toMatch(/MongoDB unreachable/);
    } finally {
      await startMongo();
    }
    await waitForReady(kube, namespace, 'm', 'True', undefined, 60_000);
  });

  it('starts without Redis and issues a working token', async () => {
    const namespace = await freshNamespace(kube.core, 'noredis');
    const { authenticator, redis } = await start(namespace, `redis://127.0.0.1:${await freePort()}`);
    redis.on('error', () => undefined);
    const orgId = `o-${randomUUID().slice(0, 8)}`;
    await createTenant(kube, tenantManifest(namespace, 'n', { organisationId: orgId, displayName: 'N' }));
    await waitForReady(kube, namespace, 'n');
    expect(await organisationOfToken(authenticator, await secretToken(kube, namespace, 'n-scim-token'))).toBe(
      orgId,
    );
  });

  it('a rotation while Redis is down writes the one new token to the Secret, and the old one is refused within a second', async () => {
    const redis = await startRedis('redis-resilience');
    try {
      const namespace = await freshNamespace(kube.core, 'redis');
      const { authenticator, connection, redis: client } = await start(namespace, redis.url);
      client.on('error', () => undefined);
      const orgId = `o-${randomUUID().slice(0, 8)}`;
      await createTenant(kube, tenantManifest(namespace, 'r', { organisationId: orgId, displayName: 'R' }));
      await waitForReady(kube, namespace, 'r');
      const oldToken = await secretToken(kube, namespace, 'r-scim-token');
      expect(await organisationOfToken(authenticator, oldToken)).toBe(orgId);

      await redis.stop();
      await patchTenantSpec(kube, namespace, 'r', { token: { rotation: 1 } });
      await waitFor(
        'the rotated token in the Secret',
        async () => (await secretToken(kube, namespace, 'r-scim-token')) !== oldToken,
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      const rotated = await waitForReady(kube, namespace, 'r');
      const newToken = await secretToken(kube, namespace, 'r-scim-token');
      expect(rotated.status?.tokenFingerprint).toBe(tokenFingerprint(hashToken(newToken)));
      expect(await organisationOfToken(authenticator, newToken)).toBe(orgId);
      await waitFor(
        'the old token to be refused',
        async () => (await organisationOfToken(authenticator, oldToken)) === null,
        { timeoutMs: 1_100, intervalMs: 50 },
      );
      // Minted once: no orphan token from a retried rotation (the rotated-away one stays, marked revoked).
      expect(await connection.collection('tokens').countDocuments({ orgId, revokedAt: null })).toBe(1);
    } finally {
      await redis.stop();
    }
  });
});

describe('informer watchdog', () => {
  it('rebuilds an informer that has been silent longer than staleAfterMs', async () => {
    const namespace = await freshNamespace(kube.core, 'stale');
    running = await startTestController(kube, {
      namespace,
      mongoUri,
      redisUrl: inject('redisUrl'),
      database: `res_${randomUUID().slice(0, 8)}`,
      staleAfterMs: 1_000,
    });
    const registry = running.registry;
    await waitFor(
      'a stale restart',
      async () => {
        const metric = await registry.getSingleMetric('scim_controller_informer_restarts_total')!.get();
        return metric.values.some((v) => v.labels.reason === 'stale' && v.value > 0);
      },
      { timeoutMs: 15_000 },
    );
    await createTenant(
      kube,
      tenantManifest(namespace, 's', { organisationId: `o-${randomUUID().slice(0, 8)}`, displayName: 'S' }),
    );
    await waitForReady(kube, namespace, 's');
  });
});
