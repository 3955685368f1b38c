import { JobName, defaultJobOptions, jobIds, traceCarrierForTraceId } from '@scimbridge/jobs';
import type { Logger } from '@scimbridge/logger';
import type { Queue } from 'bullmq';
import type { WorkerCollections } from './store/collections.js';

export interface RelayOptions {
  auditEvents: WorkerCollections['auditEvents'];
  auditQueue: Queue;
  intervalMs: number;
  minAgeMs: number;
  logger: Logger;
  batchSize?: number;
}

/**
 * Enqueues audit events that were stored but never dispatched (Redis was down, or the api stopped between its
 * write and its enqueue). Every replica may run it at once: the job id per event makes duplicate adds no-ops,
 * and the fan-out skips an event that is already dispatched.
 */
export class AuditRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: RelayOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops scheduling and waits for a scan in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One scan; returns how many events were handed to the queue. */
  async scanOnce(now = Date.now()): Promise<number> {
    const { auditEvents, auditQueue, minAgeMs, batchSize = 500 } = this.options;
    const cursor = auditEvents
      .find(
        { dispatchedAt: null, occurredAt: { $lte: new Date(now - minAgeMs) } },
        { projection: { _id: 1, orgId: 1, traceId: 1 } },
      )
      .sort({ occurredAt: 1, _id: 1 })
      .batchSize(batchSize);
    let relayed = 0;
    let batch: { _id: string; orgId: string; traceId: string | null }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await auditQueue.addBulk(
        batch.map((event) => ({
          name: JobName.auditFanout,
          data: {
            v: 1,
            eventId: event._id,
            orgId: event.orgId,
            trace: traceCarrierForTraceId(event.traceId),
          },
          opts: { ...defaultJobOptions, jobId: jobIds.auditFanout(event._id) },
        })),
      );
      relayed += batch.length;
      batch = [];
    };
    try {
      for await (const event of cursor) {
        batch.push(event);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
    } finally {
      await cursor.close();
    }
    return relayed;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter keeps replicas that started together from scanning in lockstep.
    const delay = this.options.intervalMs * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => {
      this.running = this.scanOnce()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'audit relay scan failed'))
        .finally(() => this.schedule());
    }, delay);
  }
}
