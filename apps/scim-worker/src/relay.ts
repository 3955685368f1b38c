import { auditFanoutJob, traceCarrierForTraceId } from '@scimbridge/jobs';
import type { Logger } from '@scimbridge/logger';
import type { Outbox } from '@scimbridge/store';
import type { Queue } from 'bullmq';
import type { WorkerCollections } from './store/collections.js';

export interface RelayOptions {
  /** Pending outbox entries older than `minAgeMs` are completed first (their writer died), then events relayed. */
  outbox?: Outbox;
  /** Called with how many outbox entries a pass completed (the metric `scim_outbox_relay_completed_total`). */
  onOutboxCompleted?: (count: number) => void;
  auditEvents: WorkerCollections['auditEvents'];
  auditQueue: Queue;
  intervalMs: number;
  minAgeMs: number;
  logger: Logger;
  batchSize?: number;
  /**
   * Events one pass hands to the queue at most. A pass resumes after the last event of the previous one and
   * wraps to the oldest once it reaches the newest, so a large backlog (a sink down for hours keeps its events
   * undispatched) costs each pass a bounded amount of work while every event is still reached.
   */
  maxPerPass?: number;
}

type Position = { occurredAt: Date; id: string };

/**
 * Completes outbox entries whose writer died (docs/contracts.md "Outbox"), then enqueues audit events that were
 * stored but never dispatched (Redis was down, or the api stopped between its
 * write and its enqueue). Every replica may run it at once: the job id per event makes duplicate adds no-ops,
 * and the fan-out skips an event that is already dispatched.
 */
export class AuditRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private resumeAfter: Position | undefined;

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

  /** One pass; returns how many events were handed to the queue. */
  async scanOnce(now = Date.now()): Promise<number> {
    const { auditEvents, auditQueue, minAgeMs, batchSize = 500, maxPerPass = 5_000 } = this.options;
    const completed = await this.options.outbox?.relayOnce({ minAgeMs, limit: batchSize, now });
    if (completed) {
      this.options.onOutboxCompleted?.(completed);
      this.options.logger.info({ completed }, 'outbox relay completed pending changes');
    }
    const after = this.resumeAfter;
    const cursor = auditEvents
      .find(
        {
          dispatchedAt: null,
          occurredAt: { $lte: new Date(now - minAgeMs) },
          ...(after
            ? {
                $or: [
                  { occurredAt: { $gt: after.occurredAt } },
                  { occurredAt: after.occurredAt, _id: { $gt: after.id } },
                ],
              }
            : {}),
        },
        { projection: { _id: 1, orgId: 1, traceId: 1, occurredAt: 1 } },
      )
      .sort({ occurredAt: 1, _id: 1 })
      .limit(maxPerPass)
      .batchSize(Math.min(batchSize, maxPerPass));
    let relayed = 0;
    let last: Position | undefined;
    let batch: { _id: string; orgId: string; traceId: string | null }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const entries = batch.flatMap((event) => this.fanoutEntry(event));
      if (entries.length > 0) await auditQueue.addBulk(entries);
      relayed += batch.length;
      batch = [];
    };
    try {
      for await (const event of cursor) {
        batch.push(event);
        last = { occurredAt: event.occurredAt, id: event._id };
        if (batch.length >= batchSize) await flush();
      }
      await flush();
    } finally {
      await cursor.close();
    }
    // A full pass stops where it is; a short one reached the newest event, so the next starts from the oldest.
    this.resumeAfter = relayed >= maxPerPass ? last : undefined;
    return relayed;
  }

  /**
   * The event's fan-out job; none for an event no valid job can be made of (an id that cannot be part of a job
   * id, say), so that one such event does not stop every pass at the same place.
   */
  private fanoutEntry(event: { _id: string; orgId: string; traceId: string | null }) {
    try {
      return [
        auditFanoutJob.bulkEntry({
          eventId: event._id,
          orgId: event.orgId,
          trace: traceCarrierForTraceId(event.traceId),
        }),
      ];
    } catch (error) {
      this.options.logger.warn({ eventId: event._id, err: error }, 'audit event not relayed: invalid job');
      return [];
    }
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
