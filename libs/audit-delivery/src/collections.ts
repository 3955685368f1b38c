import { storeCollections, type IndexDeclaration, type StoreCollections } from '@scimbridge/store';
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

/** Indexes of the two collections, as data: `ensureAuditDeliveryIndexes` and the query-shape audit both read it. */
export const AUDIT_DELIVERY_INDEXES: readonly IndexDeclaration[] = [
  { collection: 'audit_deliveries', key: { orgId: 1, eventId: 1 }, serves: "an event's deliveries" },
  {
    collection: 'audit_dead_letters',
    key: { orgId: 1, status: 1, deadLetteredAt: 1, _id: 1 },
    serves: "an organisation's dead letters by status and date",
  },
  // Retention scans by date across organisations (a maintenance job, like the relay's `dispatchedAt` index).
  { collection: 'audit_deliveries', key: { at: 1 }, serves: 'retention by date' },
  { collection: 'audit_dead_letters', key: { deadLetteredAt: 1 }, serves: 'retention by date' },
  // The worker's `scim_audit_dead_letters` gauge counts dead letters by sink on every scrape, across
  // organisations: `{status: 'dead'}` then `$group` by sink is a range of this index, covered (no document read).
  {
    collection: 'audit_dead_letters',
    key: { status: 1, sink: 1 },
    serves: 'the dead-letter gauge by sink (covered)',
  },
];

/** Creates `AUDIT_DELIVERY_INDEXES`; idempotent. */
export async function ensureAuditDeliveryIndexes(collections: AuditDeliveryCollections): Promise<void> {
  const { auditDeliveries, auditDeadLetters } = collections;
  const byName = new Map<
    string,
    { createIndex(key: Record<string, 1 | -1>, options: object): Promise<string> }
  >([
    [auditDeliveries.collectionName, auditDeliveries],
    [auditDeadLetters.collectionName, auditDeadLetters],
  ]);
  for (const { collection, key, options } of AUDIT_DELIVERY_INDEXES) {
    await byName.get(collection)!.createIndex(key, options ?? {});
  }
}
