import type { AuditEventDocument } from '../store/documents.js';

/** What sinks receive: the stored event under a stable `id` (receivers de-duplicate on it), minus dispatch state. */
export interface PublishedAuditEvent {
  id: string;
  orgId: string;
  action: string;
  actor: AuditEventDocument['actor'];
  resourceType: AuditEventDocument['resourceType'];
  resourceId: string | null;
  changedAttributes: string[];
  requestId: string | null;
  traceId: string | null;
  occurredAt: string;
  details?: Record<string, unknown>;
}

export function publishedAuditEvent(event: AuditEventDocument): PublishedAuditEvent {
  return {
    id: event._id,
    orgId: event.orgId,
    action: event.action,
    actor: event.actor,
    resourceType: event.resourceType ?? null,
    resourceId: event.resourceId ?? null,
    changedAttributes: event.changedAttributes ?? [],
    requestId: event.requestId ?? null,
    traceId: event.traceId ?? null,
    occurredAt: new Date(event.occurredAt).toISOString(),
    ...(event.details ? { details: event.details } : {}),
  };
}
