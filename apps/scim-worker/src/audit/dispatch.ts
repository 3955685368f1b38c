import { deliveryKey } from '../store/documents.js';
import type { WorkerCollections } from '../store/collections.js';

/**
 * Sets the event's `dispatchedAt` once every sink has either a delivery record or a dead letter. Each delivery
 * job calls this after recording its own outcome, so the last one to finish always sees all of them; two
 * finishing together may both set it, which is harmless.
 */
export async function markDispatchedIfSettled(
  collections: Pick<WorkerCollections, 'auditEvents' | 'auditDeliveries' | 'auditDeadLetters'>,
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
  await markDispatched(collections, event);
  return true;
}

export async function markDispatched(
  collections: Pick<WorkerCollections, 'auditEvents'>,
  event: { orgId: string; eventId: string },
): Promise<void> {
  // `_id` alone (see findInOrganisation); a second settle moves dispatchedAt by a few ms, which is harmless.
  await collections.auditEvents.updateOne({ _id: event.eventId }, { $set: { dispatchedAt: new Date() } });
}
