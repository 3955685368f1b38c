import type { OrganisationSettings } from '@scimbridge/tenancy';

// Shapes of the shared collections are declared once, by their owners (docs/contracts.md).
export type {
  UserDocument,
  GroupDocument,
  MembershipDocument,
  AuditEventDocument,
  AuditActor,
} from '@scimbridge/store';
export type { OrganisationDocument } from '@scimbridge/tenancy';

export type WebhookSinkSettings = OrganisationSettings['audit']['webhooks'][number];
export type EventStreamSettings = OrganisationSettings['audit']['eventStreams'][number];

// Delivery records and dead letters: the worker writes them, scimctl lists and re-drives dead letters.
export {
  deliveryKey,
  type AuditDeliveryDocument,
  type AuditDeadLetterDocument,
} from '@scimbridge/audit-delivery';
