import { auditDeliveryJob, traceCarrierForTraceId } from '@scimbridge/jobs';
import type { Queue } from 'bullmq';
import { documentById, findInOrganisation, type StoreProfile } from '@scimbridge/store';
import type { DeadLetterCollections } from './collections.js';
import type { AuditDeadLetterDocument } from './documents.js';
import type { AuditDeliverySettings } from './settings.js';

export interface DeadLetterFilter {
  orgId?: string;
  sink?: string;
  eventId?: string;
  /** Dead-letter ids (`${eventId}:${sink}`). */
  ids?: string[];
  /** Default `dead` (waiting for an operator); `all` includes re-driven and redelivered ones. */
  status?: AuditDeadLetterDocument['status'] | 'all';
  limit?: number;
}

/** Dead letters, oldest first. */
export async function listDeadLetters(
  collections: Pick<DeadLetterCollections, 'auditDeadLetters'>,
  filter: DeadLetterFilter = {},
): Promise<AuditDeadLetterDocument[]> {
  return collections.auditDeadLetters
    .find(query(filter))
    .sort({ deadLetteredAt: 1, _id: 1 })
    .limit(filter.limit ?? 100)
    .toArray();
}

/**
 * Re-drives dead letters: each gets a fresh delivery job (a new job id, so a full retry budget) and the
 * status `redriving` until it is delivered (`redelivered`) or dead-lettered again (`dead`).
 */
export async function redriveDeadLetters(
  collections: Pick<DeadLetterCollections, 'auditDeadLetters' | 'auditEvents'>,
  deliveryQueue: Queue,
  settings: AuditDeliverySettings,
  filter: DeadLetterFilter,
  /** The store profile (`detectStoreProfile`): its `documentById` filters the reads and writes by id. */
  profile: StoreProfile,
): Promise<AuditDeadLetterDocument[]> {
  const letters = await listDeadLetters(collections, { ...filter, status: filter.status ?? 'dead' });
  for (const letter of letters) {
    const redriveCount = letter.redriveCount + 1;
    await collections.auditDeadLetters.updateOne(documentById(profile, letter.orgId, letter._id), {
      $set: { status: 'redriving', redriveCount, redrivenAt: new Date() },
    });
    const event = await findInOrganisation(collections.auditEvents, letter.eventId, letter.orgId, profile);
    const data = {
      eventId: letter.eventId,
      orgId: letter.orgId,
      sink: letter.sink,
      // The event is already dispatched (dead letters count as settled); only this sink is re-tried.
      sinks: [letter.sink],
      trace: traceCarrierForTraceId(event?.traceId),
    };
    const enqueued = await auditDeliveryJob.enqueue(deliveryQueue, data, { settings, redrive: redriveCount });
    if (!enqueued.ok) throw enqueued.error;
  }
  return letters;
}

function query(filter: DeadLetterFilter): Record<string, unknown> {
  return {
    ...(filter.orgId ? { orgId: filter.orgId } : {}),
    ...(filter.sink ? { sink: filter.sink } : {}),
    ...(filter.eventId ? { eventId: filter.eventId } : {}),
    ...(filter.ids?.length ? { _id: { $in: filter.ids } } : {}),
    ...(filter.status === 'all' ? {} : { status: filter.status ?? 'dead' }),
  };
}
