import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../src/audit/webhook.js';
import { derivedEventId } from '../src/audit/derived-event-id.js';

describe('Retry-After', () => {
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
