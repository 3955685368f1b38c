import { DEFAULT_QUEUE_PREFIX } from '@scimbridge/jobs';
import { z } from 'zod';

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const millis = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

/**
 * The settings a delivery job is made with, stated once: the worker's configuration extends this schema, and the
 * dead-letter command reads it, so a re-driven delivery gets the same retry budget as a first one.
 */
export const auditDeliveryEnv = z.object({
  /** Redis key prefix of the queues; the api and the worker use the same. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[\w-]+$/, 'letters, digits, "_" or "-"')
    .default(DEFAULT_QUEUE_PREFIX),
  /** Attempts per delivery before it is dead-lettered. */
  AUDIT_WEBHOOK_ATTEMPTS: count(12, 100),
  AUDIT_WEBHOOK_BACKOFF_MS: millis(1_000),
  AUDIT_WEBHOOK_MAX_BACKOFF_MS: millis(3_600_000),
});
export type AuditDeliverySettings = z.infer<typeof auditDeliveryEnv>;
