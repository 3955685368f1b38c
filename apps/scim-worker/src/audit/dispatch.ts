import type { StoreProfile } from '@scimbridge/store';
import type { mongo } from 'mongoose';
import { deliveryKey } from '../store/documents.js';
import { documentById, type WorkerCollections } from '../store/collections.js';

/**
 * Sets the event's `dispatchedAt` once every sink has either a delivery record or a dead letter. Each delivery
 * job calls this after recording its own outcome, so the last one to finish always sees all of them; two
 * finishing together may both set it, which is harmless.
 */
export async function markDispatchedIfSettled(
  collections: Pick<WorkerCollections, 'auditDeliveries' | 'auditDeadLetters'>,
  profile: StoreProfile,
  marks: DispatchMarks,
  event: { orgId: string; eventId: string },
  sinks: string[],
  /** The sink the caller has just recorded; not read back. */
  settledSink?: string,
): Promise<boolean> {
  // Point reads by id (the profile's `documentById`): the test server scans the whole collection for an `$in`
  // on _id, and for anything but `_id` alone.
  for (const sink of sinks) {
    if (sink === settledSink) continue;
    const byKey = documentById(profile, event.orgId, deliveryKey(event.eventId, sink)) as mongo.Filter<{
      _id: string;
    }>;
    const settled =
      (await collections.auditDeliveries.findOne(byKey, { projection: { _id: 1 } })) ??
      (await collections.auditDeadLetters.findOne(byKey, { projection: { _id: 1 } }));
    if (!settled) return false;
  }
  await marks.mark(event.orgId, event.eventId);
  return true;
}

/**
 * Batches `dispatchedAt` writes: `mark` resolves once one unordered `bulkWrite` carrying every mark of the last
 * 50 ms has been written (one round trip). Each mark is an `updateOne` of one event by the profile's
 * `documentById`: `{orgId, _id}` on MongoDB (targeted on the shard key), `_id` alone on FerretDB v1, the only
 * filter it answers from an index (an `updateMany` with `_id: {$in}` read the whole of `audit_events` on FerretDB
 * per batch: 10k events, 2,639 delivered in 8 minutes). Jobs await their mark, so a crash before the write leaves
 * the job to run again.
 */
export class DispatchMarks {
  private pending = new Map<
    string,
    { orgId: string; waiting: { resolve: () => void; reject: (error: unknown) => void }[] }
  >();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly auditEvents: WorkerCollections['auditEvents'],
    private readonly profile: StoreProfile,
    private readonly flushMs = 50,
  ) {}

  mark(orgId: string, eventId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.pending.get(eventId) ?? { orgId, waiting: [] };
      entry.waiting.push({ resolve, reject });
      this.pending.set(eventId, entry);
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
      const at = new Date();
      await this.auditEvents.bulkWrite(
        [...batch].map(([eventId, { orgId }]) => ({
          updateOne: {
            filter: documentById(this.profile, orgId, eventId),
            update: { $set: { dispatchedAt: at } },
          },
        })),
        { ordered: false },
      );
      for (const { waiting } of batch.values()) for (const { resolve } of waiting) resolve();
    } catch (error) {
      for (const { waiting } of batch.values()) for (const { reject } of waiting) reject(error);
    }
  }
}
