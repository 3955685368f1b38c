/**
 * The stored shapes this worker reads and writes, as docs/contracts.md declares them. Only the fields the
 * worker touches are typed; libs/store owns the full models.
 */
export interface OrganisationDocument {
  _id: string;
  settings?: { audit?: { webhooks?: WebhookSinkSettings[] } };
}

export interface WebhookSinkSettings {
  name: string;
  url: string;
  secret: string;
}

export interface UserDocument {
  _id: string;
  orgId: string;
  scim?: {
    managed?: boolean;
    externalId?: string;
    linkedAt?: Date;
    linkedBy?: string;
    deletedAt?: Date | null;
  };
  auth?: { ssoOnly?: boolean; passwordHash?: string };
}

export interface GroupDocument {
  _id: string;
  orgId: string;
  displayName: string;
  displayNameKey: string;
  meta?: { version?: number; lastModified?: Date };
}

export interface MembershipDocument {
  _id: string;
  orgId: string;
  groupId: string;
  memberId: string;
  memberType: 'User' | 'Group';
  addedAt: Date;
}

export type AuditActor = { type: 'token'; id: string } | { type: 'system'; id: string };

export interface AuditEventDocument {
  _id: string;
  orgId: string;
  action: string;
  actor: AuditActor;
  resourceType: 'User' | 'Group' | null;
  resourceId: string | null;
  changedAttributes: string[];
  requestId: string | null;
  traceId: string | null;
  occurredAt: Date;
  dispatchedAt: Date | null;
  details?: Record<string, unknown>;
}

/** Worker-owned: one document per event and sink that received it; `_id` makes a second insert a no-op. */
export interface AuditDeliveryDocument {
  _id: string;
  orgId: string;
  eventId: string;
  sink: string;
  /** `skipped`: the sink was removed from the settings before the event reached it. */
  outcome: 'delivered' | 'skipped';
  attempts: number;
  at: Date;
}

/** Worker-owned: a delivery that used up its retry budget; listed and re-driven by operators. */
export interface AuditDeadLetterDocument {
  _id: string;
  orgId: string;
  eventId: string;
  sink: string;
  status: 'dead' | 'redriving' | 'redelivered';
  reason: string;
  lastStatusCode: number | null;
  lastError: string;
  attempts: number;
  deadLetteredAt: Date;
  redriveCount: number;
  redrivenAt: Date | null;
  resolvedAt: Date | null;
}

/** `${eventId}:${sink}`: the key of both delivery records and dead letters. */
export function deliveryKey(eventId: string, sink: string): string {
  return `${eventId}:${sink}`;
}
