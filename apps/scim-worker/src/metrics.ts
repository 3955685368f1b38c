import type { JobType, Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WorkerCollections } from './store/collections.js';

const STATES: JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
];

export interface WorkerMetrics {
  jobDuration: Histogram<'queue' | 'name' | 'outcome'>;
  jobFailures: Counter<'queue' | 'name' | 'reason'>;
  deliveriesDeferred: Counter<'queue'>;
  outboxCompleted: Counter;
}

/**
 * Queue state is read from Redis and dead letters from MongoDB at scrape time, so every replica reports the
 * same shared numbers (dashboards take max, not sum, of these gauges).
 */
export function registerWorkerMetrics(
  registry: Registry,
  queues: Queue[],
  collections: Pick<WorkerCollections, 'auditDeadLetters'>,
): WorkerMetrics {
  new Gauge({
    name: 'bullmq_queue_jobs',
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        queues.map(async (queue) => {
          const counts = await queue.getJobCounts(...STATES).catch(() => undefined);
          for (const state of STATES) if (counts) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  new Gauge({
    name: 'bullmq_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job waiting to be processed; 0 when none waits.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      await Promise.all(
        queues.map(async (queue) => {
          const [oldest] = await queue.getJobs(['waiting'], 0, 0, true).catch(() => []);
          this.set({ queue: queue.name }, oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0);
        }),
      );
    },
  });
  new Gauge({
    name: 'scim_audit_dead_letters',
    help: 'Audit deliveries dead-lettered and not yet re-driven, per sink name.',
    labelNames: ['sink'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await collections.auditDeadLetters
        .aggregate<{ _id: string; count: number }>([
          { $match: { status: 'dead' } },
          { $group: { _id: '$sink', count: { $sum: 1 } } },
        ])
        .toArray()
        .catch(() => []);
      for (const row of rows) this.set({ sink: row._id }, row.count);
    },
  });
  return {
    jobDuration: new Histogram({
      name: 'scim_job_duration_seconds',
      help: 'Time a job spent in its processor, by outcome (done, skipped, dead-lettered, failed).',
      labelNames: ['queue', 'name', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'scim_job_failures_total',
      help: 'Failed job attempts by reason (http_5xx, timeout, network, invalid_payload, error, ...).',
      labelNames: ['queue', 'name', 'reason'],
      registers: [registry],
    }),
    deliveriesDeferred: new Counter({
      name: 'scim_audit_deliveries_deferred_total',
      help: "Deliveries put back because their sink's in-flight limit was reached (per-sink fairness).",
      labelNames: ['queue'],
      registers: [registry],
    }),
    outboxCompleted: new Counter({
      name: 'scim_outbox_relay_completed_total',
      help: 'Outbox entries the relay completed because their writer died before it could (docs/contracts.md "Outbox").',
      registers: [registry],
    }),
  };
}
