/**
 * How fast N ScimTenants converge: a real etcd + kube-apiserver, FerretDB and Redis (all started here),
 * the controller in-process with its production defaults (4 workers, client-go rate limits).
 *
 *   pnpm --filter @scimbridge/scim-controller bench            # 1,000 tenants
 *   TENANTS=200 WORKERS=8 pnpm --filter @scimbridge/scim-controller bench
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { startFerretDB, startKube, startRedis, waitFor } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type ScimTenant } from '../src/api/scim-tenant.js';
import { startController } from '../src/controller.js';
import { OwnershipPolicy } from '../src/tenancy/ownership-policy.js';
import { TenancyBackend } from '../src/tenancy/tenancy-backend.js';

const TENANTS = Number(process.env.TENANTS ?? 1000);
const WORKERS = Number(process.env.WORKERS ?? 4);
const CREATE_CONCURRENCY = 20;

async function main(): Promise<void> {
  const [kube, mongo, redisServer] = await Promise.all([
    startKube('kube-bench'),
    startFerretDB('ferretdb-bench'),
    startRedis('redis-bench'),
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(
    readFileSync(
      fileURLToPath(new URL('../../../k8s/crd/scimtenants.scimbridge.io.yaml', import.meta.url)),
      'utf8',
    ),
  );
  await extensions.createCustomResourceDefinition({ body: crd });
  await waitFor('CRD established', async () =>
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }).then(
      () => true,
      () => false,
    ),
  );
  const namespace = 'bench';
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const connection = await mongoose
    .createConnection(mongo.uri, { dbName: 'bench', bufferCommands: false })
    .asPromise();
  const redis = new Redis(redisServer.url);
  const registry = new Registry();
  const backend = new TenancyBackend(connection, redis);
  await backend.ensureIndexes();
  const controller = await startController({
    kubeConfig: kc,
    backend,
    // The benchmark's one namespace may claim every organisation it creates.
    policy: OwnershipPolicy.parse([{ namespace, organisationIds: ['*'] }]),
    logger: pino({ level: 'warn' }),
    registry,
    workers: WORKERS,
  });

  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < TENANTS) {
        const i = next++;
        const body: ScimTenant = {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: `tenant-${i}`, namespace },
          spec: { organisationId: `org-${i}`, displayName: `Organisation ${i}` },
        };
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          body,
        });
      }
    }),
  );
  const createdMs = performance.now() - started;

  let ready = 0;
  await waitFor(
    `${TENANTS} tenants Ready`,
    async () => {
      const list = (await custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
      })) as { items: ScimTenant[] };
      ready = list.items.filter(
        (t) =>
          t.status?.observedGeneration === t.metadata.generation &&
          t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      return ready === TENANTS;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 2_000 },
  );
  const convergedMs = performance.now() - started;

  const reconciles = (await registry.getSingleMetric('controller_runtime_reconcile_total')!.get()).values;
  const total = reconciles.reduce((sum, v) => sum + v.value, 0);
  const errors = reconciles.filter((v) => v.labels.result === 'error').reduce((sum, v) => sum + v.value, 0);
  const time = (await registry.getSingleMetric('controller_runtime_reconcile_time_seconds')!.get()).values;
  const timeSum = time.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
  const timeCount =
    time.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 1;
  const adds = (await registry.getSingleMetric('workqueue_adds_total')!.get()).values.reduce(
    (sum, v) => sum + v.value,
    0,
  );
  const secrets = await core.listNamespacedSecret({
    namespace,
    labelSelector: 'app.kubernetes.io/managed-by=scim-controller',
  });
  const tokens = await connection.collection('tokens').countDocuments();

  console.log(
    JSON.stringify(
      {
        tenants: TENANTS,
        workers: WORKERS,
        createSeconds: +(createdMs / 1000).toFixed(1),
        convergeSeconds: +(convergedMs / 1000).toFixed(1),
        reconciles: total,
        reconcileErrors: errors,
        queueAdds: adds,
        reconcilesPerSecond: +(total / (convergedMs / 1000)).toFixed(1),
        meanReconcileMs: +((timeSum / timeCount) * 1000).toFixed(1),
        tenantsPerSecond: +(TENANTS / (convergedMs / 1000)).toFixed(1),
        tokenSecrets: secrets.items.length,
        tokensInMongo: tokens,
      },
      null,
      2,
    ),
  );

  await controller.stop();
  redis.disconnect();
  await connection.close();
  await Promise.all([kube.stop(), mongo.stop(), redisServer.stop()]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
