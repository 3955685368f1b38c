#!/usr/bin/env node
import { loadConfig } from '@scimbridge/config';
import { createLogger, loggerOptions } from '@scimbridge/logger';
import { createMetricsRegistry, handleShutdown, opsRoutes, runMain } from '@scimbridge/telemetry';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { workerConfigSchema } from './config.js';

runMain('scim-worker', async () => {
  const config = loadConfig(workerConfigSchema);
  const logger = createLogger({ service: 'scim-worker', level: config.LOG_LEVEL });
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 })
    .asPromise();
  // BullMQ workers need maxRetriesPerRequest: null so blocking commands survive Redis restarts.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));

  const ops = Fastify({ logger: loggerOptions({ service: 'scim-worker', level: config.LOG_LEVEL }) });
  await ops.register(opsRoutes, {
    registry: createMetricsRegistry('scim-worker'),
    readiness: [
      { name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'ops-http', close: () => ops.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await ops.listen({ host: config.HOST, port: config.PORT });
});
