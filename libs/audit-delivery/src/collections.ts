import { storeCollections, type StoreCollections } from '@scimbridge/store';
import type { Connection, mongo } from 'mongoose';
import type { AuditDeadLetterDocument, AuditDeliveryDocument } from './documents.js';

/** The two collections audit delivery owns (the worker writes them, operators read and re-drive dead letters). */
export interface AuditDeliveryCollections {
  auditDeliveries: mongo.Collection<AuditDeliveryDocument>;
  auditDeadLetters: mongo.Collection<AuditDeadLetterDocument>;
}

/** What listing and re-driving dead letters reads: the dead letters, and the events they belong to. */
export type DeadLetterCollections = AuditDeliveryCollections & Pick<StoreCollections, 'auditEvents'>;

export function auditDeliveryCollections(connection: Connection): AuditDeliveryCollections {
  return {
    auditDeliveries: connection.collection<AuditDeliveryDocument>('audit_deliveries'),
    auditDeadLetters: connection.collection<AuditDeadLetterDocument>('audit_dead_letters'),
  };
}

export function deadLetterCollections(connection: Connection): DeadLetterCollections {
  return { ...auditDeliveryCollections(connection), auditEvents: storeCollections(connection).auditEvents };
}

/** Indexes of the two collections; idempotent. */
export async function ensureAuditDeliveryIndexes(collections: AuditDeliveryCollections): Promise<void> {
  await collections.auditDeliveries.createIndex({ orgId: 1, eventId: 1 });
  await collections.auditDeadLetters.createIndex({ orgId: 1, status: 1, deadLetteredAt: 1 });
  // Retention scans by date across organisations (a maintenance job, like the relay's `dispatchedAt` index).
  await collections.auditDeliveries.createIndex({ at: 1 });
  await collections.auditDeadLetters.createIndex({ deadLetteredAt: 1 });
}
