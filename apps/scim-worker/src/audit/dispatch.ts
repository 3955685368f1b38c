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
): Promise<boolean> {
  const keys = sinks.map((sink) => deliveryKey(event.eventId, sink));
  const [delivered, deadLettered] = await Promise.all([
    collections.auditDeliveries.find({ _id: { $in: keys } }, { projection: { _id: 1 } }).toArray(),
    collections.auditDeadLetters.find({ _id: { $in: keys } }, { projection: { _id: 1 } }).toArray(),
  ]);
  const settled = new Set([...delivered, ...deadLettered].map((doc) => doc._id));
  if (settled.size < keys.length) return false;
  await markDispatched(collections, event);
  return true;
}

export async function markDispatched(
  collections: Pick<WorkerCollections, 'auditEvents'>,
  event: { orgId: string; eventId: string },
): Promise<void> {
  await collections.auditEvents.updateOne(
    { _id: event.eventId, orgId: event.orgId, dispatchedAt: null },
    { $set: { dispatchedAt: new Date() } },
  );
}
