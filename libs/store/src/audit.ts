import type { Connection } from 'mongoose';
import { storeCollections } from './collections.js';
import type { AuditActor, AuditAction, AuditEventDocument } from './documents.js';
import { auditEvent } from './outbox.js';

export interface AuditEventInput {
  orgId: string;
  action: AuditAction;
  actor: AuditActor;
  resourceType: string | null;
  resourceId: string | null;
  changedAttributes?: string[];
  requestId?: string | null;
  traceId?: string | null;
  details?: Record<string, unknown>;
  /** Events nobody needs to fan out (no organisation to deliver to) are stored as already dispatched. */
  dispatched?: boolean;
}

/** Events written outside a resource change (aggregated auth failures), and reads of the log (scimctl audit tail). */
export class AuditLog {
  constructor(private readonly connection: Connection) {}

  async record(input: AuditEventInput): Promise<AuditEventDocument> {
    const event = auditEvent(input, input.dispatched);
    await storeCollections(this.connection).auditEvents.insertOne(event);
    return event;
  }

  /** The most recent events of an organisation, newest last (scimctl audit tail). */
  async recent(orgId: string, limit: number, after?: Date): Promise<AuditEventDocument[]> {
    const query = after ? { orgId, occurredAt: { $gt: after } } : { orgId };
    const docs = await storeCollections(this.connection)
      .auditEvents.find(query)
      .sort({ occurredAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.reverse();
  }
}
