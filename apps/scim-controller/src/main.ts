#!/usr/bin/env node
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from '@scimbridge/config';
import { createLogger, loggerOptions } from '@scimbridge/logger';
import {
  createMetricsRegistry,
  handleShutdown,
  observeMongoCommands,
  opsRoutes,
  runMain,
} from '@scimbridge/telemetry';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { detectStoreProfile } from '@scimbridge/store';
import { controllerConfigSchema } from './config.js';
import { startController } from './controller.js';
import { DriftStatusReporter } from './drift/drift-status.js';
import { OwnershipPolicy } from './tenancy/ownership-policy.js';
import { TenancyBackend } from './tenancy/tenancy-backend.js';

runMain('scim-controller', async () => {
  const config = loadConfig(controllerConfigSchema);
  const logger = createLogger({ service: 'scim-controller', level: config.LOG_LEVEL });
  const kubeConfig = new KubeConfig();
  if (config.KUBECONFIG) kubeConfig.loadFromFile(config.KUBECONFIG);
  else kubeConfig.loadFromCluster();
  // Fail fast instead of buffering: an unreachable MongoDB becomes Ready=False MongoUnreachable at once.
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, {
      serverSelectionTimeoutMS: 5_000,
      bufferCommands: false,
      monitorCommands: true,
    })
    .asPromise();
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const registry = createMetricsRegistry('scim-controller');
  observeMongoCommands(connection.getClient(), registry, { service: 'scim-controller' });
  const backend = new TenancyBackend(connection, redis);
  await backend.ensureIndexes();

  const policy = new OwnershipPolicy(config.ORGANISATION_POLICY);
  if (policy.empty)
    logger.warn('ORGANISATION_POLICY is empty: every ScimTenant is refused with OrganisationNotAllowed');
  const drift =
    config.DRIFT_REPORT_INTERVAL_SECONDS > 0
      ? new DriftStatusReporter(connection, {
          intervalMs: config.DRIFT_REPORT_INTERVAL_SECONDS * 1_000,
          budget: config.DRIFT_REPORT_BUDGET,
          profile: await detectStoreProfile(connection),
          logger,
        })
      : undefined;
  const controller = await startController({
    kubeConfig,
    backend,
    ...(drift ? { drift } : {}),
    policy,
    logger,
    registry,
    workers: config.WORKERS,
    resyncPeriodMs: config.RESYNC_PERIOD_MS,
    namespaces: config.WATCH_NAMESPACE,
    ...(config.SCIM_BASE_URL ? { scimBaseUrl: config.SCIM_BASE_URL } : {}),
    ...(config.LEADER_ELECTION
      ? {
          leaderElection: {
            namespace: config.POD_NAMESPACE,
            name: config.LEASE_NAME,
            identity: config.POD_NAME,
            // A replica that lost the lease must not reconcile another moment; Kubernetes restarts it.
            onLost: () => {
              logger.fatal('leader election lost; exiting');
              process.exit(1);
            },
          },
        }
      : {}),
  });

  const ops = Fastify({ logger: loggerOptions({ service: 'scim-controller', level: config.LOG_LEVEL }) });
  await ops.register(opsRoutes, {
    registry,
    readiness: [{ name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 }],
    ready: () => controller.ready(),
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'ops-http', close: () => ops.close() },
      { name: 'controller', close: () => controller.stop() },
      { name: 'redis', close: async () => void (await redis.quit()) },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await ops.listen({ host: config.HOST, port: config.PORT });
});
