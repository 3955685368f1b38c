import { z } from 'zod';
import { traceCarrierSchema } from './trace-context.js';

// Ids become part of BullMQ job ids, which must not contain ':' (reserved for repeatable-job keys).
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w-]+$/, 'must be letters, digits, "_" or "-"');

/** Adds a newly provisioned user to the default group configured at provisioning time. */
export const defaultGroupPayloadSchema = z.object({
  v: z.literal(1),
  orgId: id,
  userId: id,
  /** The organisation's `defaultGroup` when the user was provisioned, not when the job runs. */
  groupDisplayName: z.string().min(1),
  eventId: id,
  trace: traceCarrierSchema,
});
export type DefaultGroupPayload = z.infer<typeof defaultGroupPayloadSchema>;

/** Side effects of linking an IdP identity to an existing account (SSO-only, SCIM-managed, who/when). */
export const accountLinkedPayloadSchema = z.object({
  v: z.literal(1),
  orgId: id,
  userId: id,
  externalId: z.string().min(1).optional(),
  /** The SCIM token that made the request: recorded as `scim.linkedBy`. */
  tokenId: id,
  eventId: id,
  trace: traceCarrierSchema,
});
export type AccountLinkedPayload = z.infer<typeof accountLinkedPayloadSchema>;

/** Delivers one stored audit event to the organisation's sinks; the worker reads the event by id. */
export const auditFanoutPayloadSchema = z.object({
  v: z.literal(1),
  eventId: id,
  orgId: id,
  trace: traceCarrierSchema,
});
export type AuditFanoutPayload = z.infer<typeof auditFanoutPayloadSchema>;

/** Worker-internal: one audit event to one webhook sink; `sinks` is every webhook the event fans out to. */
export const auditDeliveryPayloadSchema = z.object({
  v: z.literal(1),
  eventId: id,
  orgId: id,
  sink: z.string().min(1),
  sinks: z.array(z.string().min(1)).min(1),
  trace: traceCarrierSchema,
});
export type AuditDeliveryPayload = z.infer<typeof auditDeliveryPayloadSchema>;
