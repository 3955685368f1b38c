import type { AuditDeliverySettings } from './settings.js';

/**
 * The delay of a delivery's backoff type (`WEBHOOK_BACKOFF`, set by `auditDeliveryJob`'s options).
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
