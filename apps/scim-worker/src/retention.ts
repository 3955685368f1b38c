import type { Logger } from '@scimbridge/logger';
import type { mongo } from 'mongoose';
import type { WorkerCollections } from './store/collections.js';

export interface RetentionOptions {
  collections: Pick<
    WorkerCollections,
    'auditEvents' | 'auditDeliveries' | 'auditDeadLetters' | 'appliedEffects' | 'requestLogs'
  >;
  /** How long audit events and their delivery records are kept (docs/worker.md "Retention"). */
  retentionDays: number;
  intervalMs: number;
  /** Documents one delete removes at most, and the pause between two deletes of one pass. */
  batchSize: number;
  pauseMs: number;
  /** Deletes one pass makes at most per collection; the next pass continues. */
  maxBatchesPerPass: number;
  logger: Logger;
}

interface Target {
  name: string;
  collection: mongo.Collection<{ _id: string }>;
  /**
   * Documents past the cutoff (or, for those that carry their own expiry, past `now`) that may go, through an
   * index whose first field is the date.
   */
  expired: (cutoff: Date, now: Date) => mongo.Filter<{ _id: string }>;
}

const DAY_MS = 86_400_000;

/**
 * Trims audit events, delivery records, dead letters, the applied-effects ledger (and expired request log records)
 * older than the retention period, in small batches with a
 * pause between them, so the database never sees one large delete (FerretDB has no TTL index, and a TTL index on
 * MongoDB would delete undispatched events too). An event is trimmed only once it was dispatched to every sink:
 * the relay still owns an undispatched one. Every replica may run it: deletes by id are idempotent.
 */
export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly targets: Target[];

  constructor(private readonly options: RetentionOptions) {
    const { auditEvents, auditDeliveries, auditDeadLetters, appliedEffects, requestLogs } =
      options.collections;
    this.targets = [
      {
        name: 'audit_events',
        collection: auditEvents as unknown as mongo.Collection<{ _id: string }>,
        // `dispatchedAt` is null until every sink has the event: `$lt` a date never matches null.
        expired: (cutoff) => ({ dispatchedAt: { $lt: cutoff } }),
      },
      {
        name: 'audit_deliveries',
        collection: auditDeliveries as unknown as mongo.Collection<{ _id: string }>,
        expired: (cutoff) => ({ at: { $lt: cutoff } }),
      },
      {
        name: 'audit_dead_letters',
        collection: auditDeadLetters as unknown as mongo.Collection<{ _id: string }>,
        expired: (cutoff) => ({ deadLetteredAt: { $lt: cutoff } }),
      },
      {
        // The ledger of effects that ran, kept as long as the events they came from.
        name: 'applied_effects',
        collection: appliedEffects as unknown as mongo.Collection<{ _id: string }>,
        expired: (cutoff) => ({ at: { $lt: cutoff } }),
      },
      {
        // The api's request log carries its own expiry (REQUEST_LOG_RETENTION_DAYS of the api): a TTL index on
        // MongoDB removes it too; FerretDB v1 has no TTL, so this pass is what trims it there.
        name: 'request_logs',
        collection: requestLogs as unknown as mongo.Collection<{ _id: string }>,
        expired: (_cutoff, now) => ({ expiresAt: { $lt: now } }),
      },
    ];
  }

  start(): void {
    this.stopped = false;
    this.schedule(Math.min(this.options.intervalMs, 60_000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every collection; returns how many documents each lost. */
  async trimOnce(now = Date.now()): Promise<Record<string, number>> {
    const cutoff = new Date(now - this.options.retentionDays * DAY_MS);
    const removed: Record<string, number> = {};
    for (const target of this.targets) removed[target.name] = await this.trim(target, cutoff, new Date(now));
    return removed;
  }

  private async trim(target: Target, cutoff: Date, now: Date): Promise<number> {
    const { batchSize, pauseMs, maxBatchesPerPass } = this.options;
    let removed = 0;
    for (let batch = 0; batch < maxBatchesPerPass && !this.stopped; batch++) {
      const ids = await target.collection
        .find(target.expired(cutoff, now), { projection: { _id: 1 } })
        .limit(batchSize)
        .toArray();
      if (ids.length === 0) break;
      const result = await target.collection.deleteMany({ _id: { $in: ids.map((d) => d._id) } });
      removed += result.deletedCount;
      if (ids.length < batchSize) break;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return removed;
  }

  private schedule(delay = this.options.intervalMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.trimOnce()
        .then((removed) => {
          if (Object.values(removed).some((n) => n > 0))
            this.options.logger.info(
              { removed, retentionDays: this.options.retentionDays },
              'audit retention trimmed',
            );
        })
        .catch((error: unknown) =>
          this.options.logger.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'audit retention failed',
          ),
        )
        .finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }
}
