import { context as otelContext, SpanStatusCode, trace } from '@opentelemetry/api';
import { webhookBackoff } from '@scimbridge/audit-delivery';
import {
  QueueName,
  WEBHOOK_BACKOFF,
  accountLinkedJob,
  auditDeliveryJob,
  auditFanoutJob,
  traceCarrierForTraceId,
  contextFromTraceCarrier,
  defaultGroupJob,
  traceCarrierOf,
  traceIdOf,
} from '@scimbridge/jobs';
import type { Logger } from '@scimbridge/logger';
import { detectStoreProfile, EffectLedger, Outbox, type StoreProfile } from '@scimbridge/store';
import { EventSigningKeys, eventSigningKeyCollection } from '@scimbridge/tenancy';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Registry } from 'prom-client';
import { DispatchMarks } from './audit/dispatch.js';
import { AuditLogStream } from './audit/log-stream.js';
import { AuditSinkDirectory } from './audit/sinks.js';
import type { WorkerSettings } from './config.js';
import { SinkSlots } from './fairness.js';
import { registerWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { linkAccount } from './processors/account-linked.js';
import type { ProcessorContext } from './processors/context.js';
import { deliverAuditEvent } from './processors/audit-delivery.js';
import { fanOutAuditEvent } from './processors/audit-fanout.js';
import { assignDefaultGroup } from './processors/default-group.js';
import { RetryableJobError, type JobOutcome } from './processors/outcome.js';
import { dispatcher, register, type Registration } from './processors/registry.js';
import { AuditRelay } from './relay.js';
import { AuditRetention } from './retention.js';
import { ensureWorkerIndexes, workerCollections } from './store/collections.js';

export interface ScimWorkerOptions {
  mongo: Connection;
  /** Needs `maxRetriesPerRequest: null` (BullMQ's blocking commands must survive Redis restarts). */
  redis: Redis;
  settings: WorkerSettings;
  logger: Logger;
  registry: Registry;
  /** The server's store profile (docs/mongodb.md); default: detected from the connection's `buildInfo`. */
  storeProfile?: StoreProfile;
  /** Where the JSON-lines audit stream goes; stdout by default. */
  auditDestination?: NodeJS.WritableStream;
  /** Run the relay loop (default true). */
  relay?: boolean;
  /** Run the retention loop (default true). */
  retention?: boolean;
}

export interface ScimWorker {
  queues: { provisioning: Queue; audit: Queue; delivery: Queue };
  relay: AuditRelay;
  retention: AuditRetention;
  /** True while the workers take jobs (readiness). */
  isRunning(): boolean;
  /** Stops taking jobs, waits for the active ones to finish, then closes the queues. */
  close(): Promise<void>;
}

type Processor = (job: Job<unknown>, token: string | undefined) => Promise<JobOutcome>;

const tracer = trace.getTracer('scim-worker');

/** Wires the processors to their queues; what main.ts runs and what tests start in-process. */
export async function startScimWorker(options: ScimWorkerOptions): Promise<ScimWorker> {
  const { settings, logger } = options;
  const collections = workerCollections(options.mongo);
  await ensureWorkerIndexes(collections);
  const queueOptions = { connection: options.redis, prefix: settings.QUEUE_PREFIX };
  const queues = {
    provisioning: new Queue(QueueName.provisioning, queueOptions),
    audit: new Queue(QueueName.audit, queueOptions),
    delivery: new Queue(QueueName.auditDelivery, queueOptions),
  };
  const metrics = registerWorkerMetrics(options.registry, Object.values(queues), collections);
  const storeProfile = options.storeProfile ?? (await detectStoreProfile(options.mongo));
  const context: ProcessorContext = {
    mongo: options.mongo,
    collections,
    storeProfile,
    dispatchMarks: new DispatchMarks(collections.auditEvents, storeProfile),
    effects: new EffectLedger(options.mongo, storeProfile),
    sinks: new AuditSinkDirectory(collections.organisations, settings.SETTINGS_CACHE_MS),
    eventSigner: new EventSigningKeys(
      eventSigningKeyCollection(options.mongo),
      settings.SCIM_EVENTS_KEY_CACHE_MS,
    ),
    auditStream: new AuditLogStream(options.auditDestination),
    auditQueue: queues.audit,
    provisioningQueue: queues.provisioning,
    deliveryQueue: queues.delivery,
    slots: new SinkSlots(settings.AUDIT_SINK_CONCURRENCY, settings.AUDIT_SINK_WAIT_MS),
    settings,
    logger,
  };

  // Each queue's jobs: a definition (name, payload, …) and the processor that runs it.
  const processors = {
    [QueueName.provisioning]: [
      register({
        definition: defaultGroupJob,
        processor: (payload) => assignDefaultGroup(context, payload),
      }),
      register({
        definition: accountLinkedJob,
        processor: (payload, job) => linkAccount(context, payload, new Date(job.timestamp)),
      }),
    ],
    [QueueName.audit]: [
      register({ definition: auditFanoutJob, processor: (payload) => fanOutAuditEvent(context, payload) }),
    ],
    [QueueName.auditDelivery]: [
      register({
        definition: auditDeliveryJob,
        processor: (payload, job, token) => deliverAuditEvent(context, job, token, payload),
      }),
    ],
  } satisfies { [Q in QueueName]: Registration<Q>[] };
  const processorOf = (queue: QueueName): Processor =>
    instrument(queue, dispatcher(queue, processors[queue]), metrics, logger);

  const workerOptions = {
    connection: options.redis,
    prefix: settings.QUEUE_PREFIX,
    lockDuration: settings.JOB_LOCK_MS,
    stalledInterval: Math.max(500, Math.floor(settings.JOB_LOCK_MS / 2)),
    // A job whose worker died twice mid-run is failed rather than looping forever.
    maxStalledCount: 2,
  };
  const workers = [
    new Worker(QueueName.provisioning, processorOf(QueueName.provisioning), {
      ...workerOptions,
      concurrency: settings.PROVISIONING_CONCURRENCY,
    }),
    new Worker(QueueName.audit, processorOf(QueueName.audit), {
      ...workerOptions,
      concurrency: settings.AUDIT_FANOUT_CONCURRENCY,
    }),
    new Worker(QueueName.auditDelivery, processorOf(QueueName.auditDelivery), {
      ...workerOptions,
      concurrency: settings.AUDIT_DELIVERY_CONCURRENCY,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, error?: Error) =>
          type === WEBHOOK_BACKOFF
            ? webhookBackoff(
                settings,
                attemptsMade,
                error instanceof RetryableJobError ? error.retryAfterMs : undefined,
              )
            : settings.AUDIT_WEBHOOK_BACKOFF_MS,
      },
    }),
  ];
  for (const worker of workers) {
    worker.on('error', (error) => logger.warn({ err: error.message, queue: worker.name }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
      logger[final ? 'error' : 'warn'](
        { queue: job.queueName, job: job.name, jobId: job.id, attempt: job.attemptsMade, err: error.message },
        final ? 'job failed for good' : 'job attempt failed, will retry',
      );
    });
  }
  for (const queue of Object.values(queues)) {
    queue.on('error', (error) => logger.warn({ err: error.message, queue: queue.name }, 'queue error'));
  }

  const relay = new AuditRelay({
    // Completes changes whose writer died before finishing them; their events go to the fan-out queue.
    outbox: new Outbox(
      options.mongo,
      async (event) => {
        const result = await auditFanoutJob.enqueue(queues.audit, {
          eventId: event._id,
          orgId: event.orgId,
          trace: traceCarrierForTraceId(event.traceId),
        });
        if (!result.ok) throw result.error;
      },
      undefined,
      storeProfile,
    ),
    onOutboxCompleted: (count) => metrics.outboxCompleted.inc(count),
    auditEvents: collections.auditEvents,
    auditQueue: queues.audit,
    intervalMs: settings.RELAY_INTERVAL_MS ?? relayIntervalFor(storeProfile),
    minAgeMs: settings.RELAY_MIN_AGE_MS,
    maxPerPass: settings.RELAY_MAX_PER_PASS,
    logger,
  });
  if (options.relay !== false) relay.start();
  const retention = new AuditRetention({
    collections,
    retentionDays: settings.AUDIT_RETENTION_DAYS,
    intervalMs: settings.RETENTION_INTERVAL_MS,
    batchSize: settings.RETENTION_BATCH_SIZE,
    pauseMs: settings.RETENTION_PAUSE_MS,
    maxBatchesPerPass: settings.RETENTION_MAX_BATCHES_PER_PASS,
    logger,
  });
  if (options.retention !== false) retention.start();

  let closed = false;
  return {
    queues,
    relay,
    retention,
    isRunning: () => !closed && workers.every((worker) => worker.isRunning()),
    async close() {
      closed = true;
      await relay.stop();
      await retention.stop();
      // worker.close() waits for active jobs; a job cut off by a hard kill is retried after its lock expires.
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
    },
  };
}

/** Span per job (parented on the payload's trace context), duration and failure metrics, and a log line. */
function instrument(queue: string, processor: Processor, metrics: WorkerMetrics, logger: Logger): Processor {
  return async (job, token) => {
    const carrier = traceCarrierOf(job.data);
    const parent = carrier ? contextFromTraceCarrier(carrier) : otelContext.active();
    const traceId = carrier ? traceIdOf(carrier) : undefined;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    return tracer.startActiveSpan(`${queue} ${job.name}`, {}, parent, async (span) => {
      try {
        const result = await processor(job, token);
        metrics.jobDuration.observe({ queue, name: job.name, outcome: result.outcome }, seconds());
        logger.debug({ queue, job: job.name, jobId: job.id, traceId, ...result }, 'job finished');
        return result;
      } catch (error) {
        if (error instanceof DelayedError) {
          metrics.deliveriesDeferred.inc({ queue });
          throw error;
        }
        const reason = failureReason(error);
        metrics.jobDuration.observe({ queue, name: job.name, outcome: 'failed' }, seconds());
        metrics.jobFailures.inc({ queue, name: job.name, reason });
        span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}

function failureReason(error: unknown): string {
  if (error instanceof RetryableJobError) return error.reason;
  if (error instanceof UnrecoverableError)
    return error.message.startsWith('invalid ') ? 'invalid_payload' : 'unrecoverable';
  if (error instanceof Error && /^Mongo/.test(error.name)) return 'mongodb';
  return 'error';
}

/**
 * The relay's default period for a store: its passes (outbox entries older than the minimum age, undispatched events)
 * are index ranges on MongoDB, cheap every 5 s; on a store without secondary indexes each pass reads the users,
 * groups and audit events whole, so it runs every minute. The relay only finishes what a writer that died left (the
 * api completes its own entries inline), so the period bounds how late that happens, not normal delivery.
 */
export function relayIntervalFor(profile: StoreProfile): number {
  return profile.secondaryIndexes ? 5_000 : 60_000;
}
