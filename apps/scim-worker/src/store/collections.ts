import type { Connection, mongo } from 'mongoose';
import { storeCollections, type StoreCollections } from '@scimbridge/store';
import { tenancyCollections, type TenancyCollections } from '@scimbridge/tenancy';
import type { AuditDeadLetterDocument, AuditDeliveryDocument } from './documents.js';

/** The collections the worker touches: the shared ones from their owning packages, plus its own two. */
export interface WorkerCollections extends StoreCollections {
  organisations: TenancyCollections['organisations'];
  auditDeliveries: mongo.Collection<AuditDeliveryDocument>;
  auditDeadLetters: mongo.Collection<AuditDeadLetterDocument>;
}

export function workerCollections(connection: Connection): WorkerCollections {
  return {
    ...storeCollections(connection),
    organisations: tenancyCollections(connection).organisations,
    auditDeliveries: connection.collection<AuditDeliveryDocument>('audit_deliveries'),
    auditDeadLetters: connection.collection<AuditDeadLetterDocument>('audit_dead_letters'),
  };
}

/** Indexes of the worker-owned collections (the others belong to libs/store). */
export async function ensureWorkerIndexes(collections: WorkerCollections): Promise<void> {
  await collections.auditDeliveries.createIndex({ orgId: 1, eventId: 1 });
  await collections.auditDeadLetters.createIndex({ orgId: 1, status: 1, deadLetteredAt: 1 });
  // Retention scans by date across organisations (a maintenance job, like the relay's `dispatchedAt` index).
  await collections.auditDeliveries.createIndex({ at: 1 });
  await collections.auditDeadLetters.createIndex({ deadLetteredAt: 1 });
}

export { isDuplicateKey } from '@scimbridge/store';

export { findInOrganisation } from '@scimbridge/store';
