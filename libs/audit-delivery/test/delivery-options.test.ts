import { describe, expect, it } from 'vitest';
import { auditDeliveryJob, WEBHOOK_BACKOFF } from '@scimbridge/jobs';
import { auditDeliveryEnv, webhookBackoff } from '../src/index.js';

const settings = { AUDIT_WEBHOOK_BACKOFF_MS: 1_000, AUDIT_WEBHOOK_MAX_BACKOFF_MS: 60_000 };

describe('webhook backoff', () => {
  it('doubles per attempt with jitter between half and all of the step, capped', () => {
    expect(webhookBackoff(settings, 1, undefined, () => 0)).toBe(500);
    expect(webhookBackoff(settings, 1, undefined, () => 1)).toBe(1_000);
    expect(webhookBackoff(settings, 4, undefined, () => 1)).toBe(8_000);
    expect(webhookBackoff(settings, 20, undefined, () => 1)).toBe(60_000);
  });

  it("never retries sooner than the receiver's Retry-After, nor later than the cap", () => {
    expect(webhookBackoff(settings, 1, 30_000, () => 0)).toBe(30_000);
    expect(webhookBackoff(settings, 1, 3_600_000, () => 0)).toBe(60_000);
  });
});

describe('delivery job options', () => {
  it('give a delivery the configured retry budget and the webhook backoff, 12 attempts by default', () => {
    const defaults = auditDeliveryEnv.parse({});
    expect(defaults).toEqual({
      QUEUE_PREFIX: 'scimbridge',
      AUDIT_WEBHOOK_ATTEMPTS: 12,
      AUDIT_WEBHOOK_BACKOFF_MS: 1_000,
      AUDIT_WEBHOOK_MAX_BACKOFF_MS: 3_600_000,
    });
    expect(auditDeliveryJob.options({ settings: defaults })).toMatchObject({
      attempts: 12,
      backoff: { type: WEBHOOK_BACKOFF },
    });
    const three = auditDeliveryEnv.parse({ AUDIT_WEBHOOK_ATTEMPTS: '3' });
    expect(auditDeliveryJob.options({ settings: three }).attempts).toBe(3);
  });
});
