import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../src/audit/webhook.js';
import { derivedEventId } from '../src/audit/derived-event-id.js';
import { webhookBackoff } from '../src/processors/delivery-options.js';

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

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('derived event ids', () => {
  it('are stable UUIDv7s carrying the source event time', () => {
    const source = '0190a6c4-7c1e-7abc-8def-0123456789ab';
    const id = derivedEventId(source, 'user.linked');
    expect(id).toBe(derivedEventId(source, 'user.linked'));
    expect(id).not.toBe(derivedEventId(source, 'group.members.changed'));
    expect(id).toMatch(/^0190a6c4-7c1e-7[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
  });
});
