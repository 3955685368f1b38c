#!/usr/bin/env node
import { loadConfig } from '@scimbridge/config';
import { describeStoreProfile, detectStoreProfile } from '@scimbridge/store';
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
import { workerConfigSchema } from './config.js';
import { startScimWorker } from './worker.js';

runMain('scim-worker', async () => {
  const config = loadConfig(workerConfigSchema);
  const logger = createLogger({ service: 'scim-worker', level: config.LOG_LEVEL });
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000, monitorCommands: true })
    .asPromise();
  // BullMQ workers need maxRetriesPerRequest: null so blocking commands survive Redis restarts.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));

  const registry = createMetricsRegistry('scim-worker');
  // Decided once and passed down: the only place that asks which server this is (docs/mongodb.md).
  const storeProfile = await detectStoreProfile(connection, config.STORE_PROFILE);
  observeMongoCommands(connection.getClient(), registry, {
    service: 'scim-worker',
    profile: storeProfile.server,
  });
  logger.info(
    { store: describeStoreProfile(storeProfile) },
    `store profile ${storeProfile.server}: ${storeProfile.note}`,
  );
  const worker = await startScimWorker({
    mongo: connection,
    redis,
    settings: config,
    logger,
    registry,
    storeProfile,
  });

  const ops = Fastify({ logger: loggerOptions({ service: 'scim-worker', level: config.LOG_LEVEL }) });
  await ops.register(opsRoutes, {
    registry,
    readiness: [
      { name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 },
      // The worker starts and stays Ready without Redis (jobs wait there; BullMQ reconnects): degraded, so a Redis
      // outage does not stall a rollout or make every worker pod NotReady.
      { name: 'redis', required: false, check: async () => (await redis.ping()) === 'PONG' },
    ],
    ready: () => worker.isRunning(),
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'ops-http', close: () => ops.close() },
      // Waits for active jobs, so nothing in flight is cut off by a rolling update.
      { name: 'jobs', close: () => worker.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await ops.listen({ host: config.HOST, port: config.PORT });
  logger.info({ prefix: config.QUEUE_PREFIX }, 'scim-worker processing jobs');
});
