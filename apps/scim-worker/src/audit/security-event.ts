import { SCIM_EVENT, scimEventsOf } from '@scimbridge/audit-delivery';
import type { AuditEventDocument } from '../store/documents.js';

export { SCIM_EVENT, scimEventsOf };

/** RFC 9967 §2.1: the subject is a `sub_id` of format `scim`, the resource's path relative to the SCIM base. */
export interface ScimSubject {
  format: 'scim';
  uri: string;
  externalId?: string;
}

export interface SecurityEventClaims {
  iss: string;
  aud: string;
  iat: number;
  /** The audit event's id: the same on every attempt and re-drive, so a receiver de-duplicates on it. */
  jti: string;
  /** RFC 8417 §2.2 time of event. */
  toe: number;
  /** RFC 8417 §2.2 transaction: the SCIM request that made the change, when there was one. */
  txn?: string;
  sub_id: ScimSubject;
  events: Record<string, Record<string, unknown>>;
  [claim: string]: unknown;
}

/** Resource type id → endpoint (RFC 7643 §6); a type registered later serves `/<id>s` (docs/api.md). */
function endpointOf(resourceType: string): string {
  return resourceType === 'User' ? '/Users' : resourceType === 'Group' ? '/Groups' : `/${resourceType}s`;
}

/** The SET claims for one receiver; null when the event has no RFC 9967 form. */
export function securityEventClaims(
  event: AuditEventDocument,
  options: { issuer: string; audience: string; now?: Date },
): SecurityEventClaims | null {
  const events = scimEventsOf(event);
  if (!events || !event.resourceType || !event.resourceId) return null;
  const externalId = event.details?.externalId;
  return {
    iss: options.issuer,
    aud: options.audience,
    iat: Math.floor((options.now ?? new Date()).getTime() / 1000),
    jti: event._id,
    toe: Math.floor(new Date(event.occurredAt).getTime() / 1000),
    ...(event.requestId ? { txn: event.requestId } : {}),
    sub_id: {
      format: 'scim',
      uri: `${endpointOf(event.resourceType)}/${event.resourceId}`,
      ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
    },
    events,
  };
}
