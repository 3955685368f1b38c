#!/usr/bin/env node
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { loadConfig } from '@scimbridge/config';
import { createLogger, loggerOptions } from '@scimbridge/logger';
import { createMetricsRegistry, handleShutdown, opsRoutes, runMain } from '@scimbridge/telemetry';
import Fastify from 'fastify';
import mongoose from 'mongoose';
import { controllerConfigSchema } from './config.js';

runMain('scim-controller', async () => {
  const config = loadConfig(controllerConfigSchema);
  const logger = createLogger({ service: 'scim-controller', level: config.LOG_LEVEL });
  const kubeConfig = new KubeConfig();
  if (config.KUBECONFIG) kubeConfig.loadFromFile(config.KUBECONFIG);
  else kubeConfig.loadFromCluster();
  const versionApi = kubeConfig.makeApiClient(VersionApi);
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 })
    .asPromise();

  const ops = Fastify({ logger: loggerOptions({ service: 'scim-controller', level: config.LOG_LEVEL }) });
  await ops.register(opsRoutes, {
    registry: createMetricsRegistry('scim-controller'),
    readiness: [
      { name: 'kubernetes', check: async () => Boolean((await versionApi.getCode()).gitVersion) },
      { name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 },
    ],
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'ops-http', close: () => ops.close() },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await ops.listen({ host: config.HOST, port: config.PORT });
});
