import { commonEnv, envBoolean, envList, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import { auditDeliveryEnv } from '@scimbridge/audit-delivery';
import { z } from 'zod';
import { parseCidr } from './audit/egress.js';

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const millis = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);
const cidrs = () =>
  envList().refine((list) => list.every((c) => parseCidr(c) !== undefined), {
    message: 'comma-separated CIDRs, e.g. 10.20.0.0/16,fd00::/8',
  });

/**
 * Worker tuning; every value has a default that suits a small production deployment. The queue prefix and the
 * delivery retry budget (attempts, backoff) come from @scimbridge/audit-delivery, which the dead-letter command
 * shares.
 */
export const workerEnv = auditDeliveryEnv.extend({
  PROVISIONING_CONCURRENCY: count(4, 256),
  AUDIT_FANOUT_CONCURRENCY: count(8, 256),
  /** Webhook deliveries in flight per replica, across all organisations. */
  AUDIT_DELIVERY_CONCURRENCY: count(32, 1024),
  /** Deliveries in flight per replica to one sink: a slow sink of one organisation cannot take every slot. */
  AUDIT_SINK_CONCURRENCY: count(8, 1024),
  /** How long a delivery waits in-process for a busy sink's slot before it is deferred (0: defer at once). */
  AUDIT_SINK_WAIT_MS: millis(250, 0),
  AUDIT_WEBHOOK_TIMEOUT_MS: millis(5_000, 100),
  /** Egress of audit webhooks (audit/egress.ts): https only, and no private, loopback or link-local address. */
  AUDIT_WEBHOOK_ALLOW_HTTP: envBoolean(false),
  /** Allowed even inside the refused ranges, e.g. an in-cluster collector's Service range. */
  AUDIT_WEBHOOK_ALLOWED_CIDRS: cidrs(),
  /** Refused besides the built-in ranges: the cluster's pod and service CIDRs where they are public space. */
  AUDIT_WEBHOOK_DENIED_CIDRS: cidrs(),
  /**
   * `iss` of the RFC 9967 SETs pushed to event streams (docs/worker.md "SCIM events"): set it to the api's public
   * base URL, where receivers find the JWKS (`/.well-known/scim-events/jwks.json`).
   */
  SCIM_EVENTS_ISSUER: z.string().min(1).max(1_024).default('urn:scimbridge:scim-events'),
  /** How long the event signing key set is cached; a rotated-in key is published longer than this before it signs. */
  SCIM_EVENTS_KEY_CACHE_MS: millis(30_000, 0),
  /**
   * The relay's period. Unset: 5 s where the store serves the relay's scans from indexes (MongoDB), 60 s where every
   * pass reads whole collections (FerretDB: docs/testing.md "Known limits"), the store profile's `secondaryIndexes`.
   */
  RELAY_INTERVAL_MS: z.coerce.number().int().min(100).optional(),
  /** The relay leaves younger undispatched events to the api's own enqueue. */
  RELAY_MIN_AGE_MS: millis(5_000, 0),
  /** Undispatched events one relay pass enqueues at most; the next pass continues after them. */
  RELAY_MAX_PER_PASS: count(5_000, 1_000_000),
  /** How long organisation settings (webhook sinks) are cached. */
  SETTINGS_CACHE_MS: millis(5_000, 0),
  /** BullMQ job lock; a crashed replica's jobs are retried once it expires. */
  JOB_LOCK_MS: millis(30_000, 500),
  /** Days audit events (once dispatched), delivery records and dead letters are kept (docs/worker.md "Retention"). */
  AUDIT_RETENTION_DAYS: count(400, 36_500),
  RETENTION_INTERVAL_MS: millis(3_600_000, 1_000),
  /** Documents one retention delete removes, and the pause between two deletes, so trimming never loads the database. */
  RETENTION_BATCH_SIZE: count(500, 10_000),
  RETENTION_PAUSE_MS: millis(200, 0),
  /** Deletes per collection per pass; the next pass continues. */
  RETENTION_MAX_BATCHES_PER_PASS: count(100, 100_000),
});

/** PORT serves the worker's ops endpoints (/healthz, /readyz, /metrics) only. */
export const workerConfigSchema = commonEnv
  .extend(httpEnv(9091).shape)
  .extend(mongoEnv.shape)
  .extend(redisEnv.shape)
  .extend(workerEnv.shape)
  .refine((env) => env.AUDIT_WEBHOOK_TIMEOUT_MS < env.SHUTDOWN_TIMEOUT_MS, {
    message: 'must be below SHUTDOWN_TIMEOUT_MS so a SIGTERM lets in-flight deliveries finish',
    path: ['AUDIT_WEBHOOK_TIMEOUT_MS'],
  })
  .refine((env) => env.AUDIT_WEBHOOK_BACKOFF_MS <= env.AUDIT_WEBHOOK_MAX_BACKOFF_MS, {
    message: 'must not exceed AUDIT_WEBHOOK_MAX_BACKOFF_MS',
    path: ['AUDIT_WEBHOOK_BACKOFF_MS'],
  });
export type WorkerConfig = z.infer<typeof workerConfigSchema>;
/** The tuning part of the configuration, what `startScimWorker` needs besides its connections. */
export type WorkerSettings = z.infer<typeof workerEnv>;
/** Defaults for every tuning value, for tests and tools that embed the worker. */
export const defaultWorkerSettings: WorkerSettings = workerEnv.parse({});
