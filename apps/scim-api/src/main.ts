#!/usr/bin/env node
import { loadConfig } from '@scimbridge/config';
import { createLogger } from '@scimbridge/logger';
import { createMetricsRegistry, handleShutdown, runMain } from '@scimbridge/telemetry';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { buildApp } from './app.js';
import { apiConfigSchema } from './config.js';

runMain('scim-api', async () => {
  const config = loadConfig(apiConfigSchema);
  const logger = createLogger({ service: 'scim-api', level: config.LOG_LEVEL });
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 })
    .asPromise();
  // The request path never waits on Redis reconnects: offline commands fail fast instead of queueing.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));

  const app = await buildApp({
    registry: createMetricsRegistry('scim-api'),
    logLevel: config.LOG_LEVEL,
    readiness: [
      { name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'http', close: () => app.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await app.listen({ host: config.HOST, port: config.PORT });
});
