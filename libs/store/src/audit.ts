import type { Connection } from 'mongoose';
import { storeCollections } from './collections.js';
import type { AuditActor, AuditAction, AuditEventDocument } from './documents.js';
import { uuidv7 } from './ids.js';

export interface AuditEventInput {
  orgId: string;
  action: AuditAction;
  actor: AuditActor;
  resourceType: 'User' | 'Group' | null;
  resourceId: string | null;
  changedAttributes?: string[];
  requestId?: string | null;
  traceId?: string | null;
  details?: Record<string, unknown>;
  /** Events nobody needs to fan out (no organisation to deliver to) are stored as already dispatched. */
  dispatched?: boolean;
}

/** The outbox: events written in the request, fanned out by the worker (or its relay when the enqueue failed). */
export class AuditLog {
  constructor(private readonly connection: Connection) {}

  async record(input: AuditEventInput): Promise<AuditEventDocument> {
    const now = new Date();
    const event: AuditEventDocument = {
      _id: uuidv7(now.getTime()),
      orgId: input.orgId,
      action: input.action,
      actor: input.actor,
      resourceType: input.resourceType,
      resourceId: input.resourceId,
      changedAttributes: input.changedAttributes ?? [],
      requestId: input.requestId ?? null,
      traceId: input.traceId ?? null,
      occurredAt: now,
      dispatchedAt: input.dispatched ? now : null,
      ...(input.details ? { details: input.details } : {}),
    };
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
