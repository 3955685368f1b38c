import type { JobsOptions } from 'bullmq';
import type { AuditDeliverySettings } from './settings.js';

/** The custom backoff type of webhook deliveries (see `webhookBackoff`). */
export const WEBHOOK_BACKOFF = 'webhook';

export function deliveryJobOptions(settings: AuditDeliverySettings): JobsOptions {
  return {
    attempts: settings.AUDIT_WEBHOOK_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: { age: 24 * 3600, count: 100_000 },
    removeOnFail: { age: 14 * 24 * 3600 },
  };
}

/**
 * Exponential backoff with jitter (a random delay between half and all of base·2^(n-1), capped), never shorter
 * than the receiver's `Retry-After`: many events failing together must not retry in lockstep.
 */
export function webhookBackoff(
  settings: Pick<AuditDeliverySettings, 'AUDIT_WEBHOOK_BACKOFF_MS' | 'AUDIT_WEBHOOK_MAX_BACKOFF_MS'>,
  attemptsMade: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    settings.AUDIT_WEBHOOK_MAX_BACKOFF_MS,
    settings.AUDIT_WEBHOOK_BACKOFF_MS * 2 ** Math.max(0, attemptsMade - 1),
  );
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.min(settings.AUDIT_WEBHOOK_MAX_BACKOFF_MS, Math.max(jittered, retryAfterMs ?? 0));
}
