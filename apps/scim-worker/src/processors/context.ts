import type { Logger } from '@scimbridge/logger';
import type { EffectLedger, StoreProfile } from '@scimbridge/store';
import type { EventSigningKeys } from '@scimbridge/tenancy';
import type { Queue } from 'bullmq';
import type { Connection } from 'mongoose';
import type { DispatchMarks } from '../audit/dispatch.js';
import type { AuditLogStream } from '../audit/log-stream.js';
import type { AuditSinkDirectory } from '../audit/sinks.js';
import type { WorkerSettings } from '../config.js';
import type { SinkSlots } from '../fairness.js';
import type { WorkerCollections } from '../store/collections.js';

/** What processors share: storage, the queues they enqueue follow-up jobs on, and tuning. */
export interface ProcessorContext {
  mongo: Connection;
  collections: WorkerCollections;
  /** The server's store profile (docs/mongodb.md): the shape of lookups by id. */
  storeProfile: StoreProfile;
  dispatchMarks: DispatchMarks;
  /** Which event-derived side effects already ran (once per event, docs/worker.md "Exactly once"). */
  effects: EffectLedger;
  sinks: AuditSinkDirectory;
  /** Signs RFC 9967 SETs with the service's event signing key (published as the api's JWKS). */
  eventSigner: EventSigningKeys;
  auditStream: AuditLogStream;
  auditQueue: Queue;
  provisioningQueue: Queue;
  deliveryQueue: Queue;
  slots: SinkSlots;
  settings: WorkerSettings;
  logger: Logger;
}
