import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { defineJob } from './define.js';
import { QueueName } from './queues.js';
import { traceCarrierSchema } from './trace-context.js';

// The jobs (docs/contracts.md "Jobs"): each one's name, queue, payload, job id and options, stated here once.

// Ids become part of BullMQ job ids, which must not contain ':' (reserved for repeatable-job keys).
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w-]+$/, 'must be letters, digits, "_" or "-"');

const envelope = { v: z.literal(1), trace: traceCarrierSchema };

/**
 * Retries for provisioning and fan-out jobs: a MongoDB blip must not lose a side effect. Completed jobs are
 * kept for a day so a late duplicate add (the relay) is de-duplicated by id instead of running again.
 */
export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
};

/** Adds a newly provisioned user to the default group configured at provisioning time. */
export const defaultGroupPayloadSchema = z.object({
  ...envelope,
  orgId: id,
  userId: id,
  /** The organisation's `defaultGroup` when the user was provisioned, not when the job runs. */
  groupDisplayName: z.string().min(1),
  eventId: id,
});
export type DefaultGroupPayload = z.infer<typeof defaultGroupPayloadSchema>;

export const defaultGroupJob = defineJob({
  name: 'user.default-group',
  queue: QueueName.provisioning,
  schema: defaultGroupPayloadSchema,
  jobId: ({ eventId }: { eventId: string }) => `default-group-${eventId}`,
  options: defaultJobOptions,
});

/** Side effects of linking an IdP identity to an existing account (SSO-only, SCIM-managed, who/when). */
export const accountLinkedPayloadSchema = z.object({
  ...envelope,
  orgId: id,
  userId: id,
  externalId: z.string().min(1).optional(),
  /** The SCIM token that made the request: recorded as `scim.linkedBy`. */
  tokenId: id,
  eventId: id,
});
export type AccountLinkedPayload = z.infer<typeof accountLinkedPayloadSchema>;

export const accountLinkedJob = defineJob({
  name: 'account.linked',
  queue: QueueName.provisioning,
  schema: accountLinkedPayloadSchema,
  jobId: ({ eventId }: { eventId: string }) => `account-linked-${eventId}`,
  options: defaultJobOptions,
});

/** Delivers one stored audit event to the organisation's sinks; the worker reads the event by id. */
export const auditFanoutPayloadSchema = z.object({ ...envelope, eventId: id, orgId: id });
export type AuditFanoutPayload = z.infer<typeof auditFanoutPayloadSchema>;

/** Enqueued after the audit event is stored (the api, the relay, the worker's own `user.linked`). */
export const auditFanoutJob = defineJob({
  name: 'audit.fanout',
  queue: QueueName.audit,
  schema: auditFanoutPayloadSchema,
  jobId: ({ eventId }: { eventId: string }) => `audit-${eventId}`,
  options: defaultJobOptions,
});

/** Worker-internal: one audit event to one webhook sink; `sinks` is every webhook the event fans out to. */
export const auditDeliveryPayloadSchema = z.object({
  ...envelope,
  eventId: id,
  orgId: id,
  sink: z.string().min(1),
  sinks: z.array(z.string().min(1)).min(1),
});
export type AuditDeliveryPayload = z.infer<typeof auditDeliveryPayloadSchema>;

/** The custom backoff type of webhook deliveries; the worker's `backoffStrategy` computes it. */
export const WEBHOOK_BACKOFF = 'webhook';

/** The worker settings a delivery's options derive from. */
export interface AuditDeliverySettings {
  AUDIT_WEBHOOK_ATTEMPTS: number;
}

/** What enqueueing a delivery needs beyond its payload. */
export interface AuditDeliveryExtra {
  settings: AuditDeliverySettings;
  /** An operator's re-drive counter: a dead-lettered delivery gets a fresh id, so a full retry budget. */
  redrive?: number;
}

export const auditDeliveryJob = defineJob({
  name: 'audit.deliver',
  queue: QueueName.auditDelivery,
  schema: auditDeliveryPayloadSchema,
  jobId: ({ eventId, sink, redrive }: { eventId: string; sink: string; redrive?: number }) =>
    `deliver-${eventId}-${encodeURIComponent(sink)}${redrive === undefined ? '' : `-redrive-${redrive}`}`,
  options: ({ settings }: AuditDeliveryExtra): JobsOptions => ({
    ...defaultJobOptions,
    attempts: settings.AUDIT_WEBHOOK_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF },
  }),
});

/** Every job, e.g. for a tool that lists them; the worker registers a processor for each. */
export const jobDefinitions = [defaultGroupJob, accountLinkedJob, auditFanoutJob, auditDeliveryJob] as const;

/** The job names, read from the definitions. */
export const JobName = {
  defaultGroup: defaultGroupJob.name,
  accountLinked: accountLinkedJob.name,
  auditFanout: auditFanoutJob.name,
  auditDelivery: auditDeliveryJob.name,
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** The job ids by event (what an operator or a test looks a job up by), read from the definitions. */
export const jobIds = {
  defaultGroup: (eventId: string) => defaultGroupJob.jobId({ eventId }),
  accountLinked: (eventId: string) => accountLinkedJob.jobId({ eventId }),
  auditFanout: (eventId: string) => auditFanoutJob.jobId({ eventId }),
  auditDelivery: (eventId: string, sink: string, redrive?: number) =>
    auditDeliveryJob.jobId({ eventId, sink, redrive }),
};
