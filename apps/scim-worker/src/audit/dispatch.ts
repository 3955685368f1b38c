import { deliveryKey } from '../store/documents.js';
import type { WorkerCollections } from '../store/collections.js';

/**
 * Sets the event's `dispatchedAt` once every sink has either a delivery record or a dead letter. Each delivery
 * job calls this after recording its own outcome, so the last one to finish always sees all of them; two
 * finishing together may both set it, which is harmless.
 */
export async function markDispatchedIfSettled(
  collections: Pick<WorkerCollections, 'auditDeliveries' | 'auditDeadLetters'>,
  marks: DispatchMarks,
  event: { orgId: string; eventId: string },
  sinks: string[],
  /** The sink the caller has just recorded; not read back. */
  settledSink?: string,
): Promise<boolean> {
  // Point reads by _id: the test server scans the whole collection for an `$in` on _id.
  for (const sink of sinks) {
    if (sink === settledSink) continue;
    const key = deliveryKey(event.eventId, sink);
    const settled =
      (await collections.auditDeliveries.findOne({ _id: key }, { projection: { _id: 1 } })) ??
      (await collections.auditDeadLetters.findOne({ _id: key }, { projection: { _id: 1 } }));
    if (!settled) return false;
  }
  await marks.mark(event.eventId);
  return true;
}

/**
 * Batches `dispatchedAt` writes: `mark` resolves once a single `updateMany` carrying every mark of the last
 * 50 ms has been written. FerretDB v1 applies an update as a scan of the collection (measured: `updateOne` by
 * `_id` 5 ms at 500 audit events, 23 ms at 5 000), so one update per event made the fan-out slower as
 * `audit_events` grew. Jobs await their mark, so a crash before the write leaves the job to run again.
 */
export class DispatchMarks {
  private pending = new Map<string, { resolve: () => void; reject: (error: unknown) => void }[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly auditEvents: WorkerCollections['auditEvents'],
    private readonly flushMs = 50,
  ) {}

  mark(eventId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(eventId) ?? [];
      waiting.push({ resolve, reject });
      this.pending.set(eventId, waiting);
      this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    });
  }

  /** Writes the marks buffered so far and settles their callers. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.auditEvents.updateMany(
        { _id: { $in: [...batch.keys()] } },
        { $set: { dispatchedAt: new Date() } },
      );
      for (const waiting of batch.values()) for (const { resolve } of waiting) resolve();
    } catch (error) {
      for (const waiting of batch.values()) for (const { reject } of waiting) reject(error);
    }
  }
}
