import type { Connection, mongo } from 'mongoose';
import {
  auditDeliveryCollections,
  ensureAuditDeliveryIndexes,
  type AuditDeliveryCollections,
} from '@scimbridge/audit-delivery';
import { storeCollections, type StoreCollections } from '@scimbridge/store';
import {
  requestLogCollection,
  tenancyCollections,
  type RequestLogDocument,
  type TenancyCollections,
} from '@scimbridge/tenancy';

/** The collections the worker touches, each from its owning package: store, tenancy and audit delivery. */
export interface WorkerCollections extends StoreCollections, AuditDeliveryCollections {
  organisations: TenancyCollections['organisations'];
  /** The api's request log: the worker only trims it (retention.ts). */
  requestLogs: mongo.Collection<RequestLogDocument>;
}

export function workerCollections(connection: Connection): WorkerCollections {
  return {
    ...storeCollections(connection),
    organisations: tenancyCollections(connection).organisations,
    requestLogs: requestLogCollection(connection),
    ...auditDeliveryCollections(connection),
  };
}

/** Indexes of the collections the worker writes besides libs/store's: delivery records and dead letters. */
export async function ensureWorkerIndexes(collections: WorkerCollections): Promise<void> {
  await ensureAuditDeliveryIndexes(collections);
}

export { isDuplicateKey } from '@scimbridge/store';

export { documentById, findInOrganisation } from '@scimbridge/store';
