#!/usr/bin/env node
import { loadConfig } from '@scimbridge/config';
import { JobProducer } from '@scimbridge/jobs';
import { describeStoreProfile, detectStoreProfile, ensureStoreIndexes } from '@scimbridge/store';
import { ensureTenancyIndexes } from '@scimbridge/tenancy';
import { createLogger } from '@scimbridge/logger';
import { createMetricsRegistry, handleShutdown, observeMongoCommands, runMain } from '@scimbridge/telemetry';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { buildApp } from './app.js';
import { apiConfigSchema, limitsFromConfig } from './config.js';
import { API_MONGO_OPTIONS, apiReadiness } from './dependencies.js';

runMain('scim-api', async () => {
  const config = loadConfig(apiConfigSchema);
  const logger = createLogger({ service: 'scim-api', level: config.LOG_LEVEL });
  const connection = await mongoose.createConnection(config.MONGODB_URI, API_MONGO_OPTIONS).asPromise();
  // The request path never waits on Redis reconnects: offline commands fail fast instead of queueing.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
  // Decided once and passed down: the only place that asks which server this is (docs/mongodb.md).
  const storeProfile = await detectStoreProfile(connection, config.STORE_PROFILE);
  logger.info(
    { store: describeStoreProfile(storeProfile) },
    `store profile ${storeProfile.server}: ${storeProfile.note}`,
  );
  await ensureTenancyIndexes(connection);
  await ensureStoreIndexes(connection, storeProfile);
  // A Redis outage must not hold requests: an enqueue gives up quickly and the worker's relay catches up.
  const queueRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  queueRedis.on('error', () => undefined); // reported once, by the client above
  const jobs = new JobProducer({ connection: queueRedis, enqueue: { timeoutMs: 250 } });

  const registry = createMetricsRegistry('scim-api');
  observeMongoCommands(connection.getClient(), registry, {
    service: 'scim-api',
    profile: storeProfile.server,
  });
  const app = await buildApp({
    registry,
    logLevel: config.LOG_LEVEL,
    connection,
    storeProfile,
    redis,
    jobs,
    limits: limitsFromConfig(config),
    ...(config.PUBLIC_BASE_URL ? { publicBaseUrl: config.PUBLIC_BASE_URL } : {}),
    ...(config.DOCUMENTATION_URL ? { documentationUrl: config.DOCUMENTATION_URL } : {}),
    federation: { fetchTimeoutMs: config.JWKS_FETCH_TIMEOUT_MS },
    eventKeysCacheMs: config.SCIM_EVENTS_KEY_CACHE_MS,
    ...(config.TRUST_PROXY === undefined ? {} : { trustProxy: config.TRUST_PROXY }),
    addressLimit: { failures: config.AUTH_FAILURES_PER_ADDRESS, windowSeconds: 60 },
    readiness: apiReadiness(connection, redis),
    requestLog: {
      perOrgPerMinute: config.REQUEST_LOG_PER_ORG_PER_MINUTE,
      retentionDays: config.REQUEST_LOG_RETENTION_DAYS,
      maxBuffered: config.REQUEST_LOG_MAX_BUFFERED,
    },
    ...(config.METRICS_ORG_LABEL ? { orgLabel: { maxOrganisations: config.METRICS_ORG_LABEL_MAX } } : {}),
  });
  handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    closers: [
      { name: 'http', close: () => app.close() },
      { name: 'jobs', close: () => jobs.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
      { name: 'mongodb', close: () => connection.close() },
    ],
  });
  await app.listen({ host: config.HOST, port: config.PORT });
});
