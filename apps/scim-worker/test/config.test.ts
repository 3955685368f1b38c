import { ConfigError, loadConfig } from '@scimbridge/config';
import { describe, expect, it } from 'vitest';
import { workerConfigSchema } from '../src/index.js';

const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('worker configuration', () => {
  it('has defaults for every tuning value', () => {
    expect(loadConfig(workerConfigSchema, base)).toMatchObject({
      PORT: 9091,
      QUEUE_PREFIX: 'scimbridge',
      AUDIT_DELIVERY_CONCURRENCY: 32,
      AUDIT_SINK_CONCURRENCY: 8,
      AUDIT_SINK_WAIT_MS: 250,
      AUDIT_WEBHOOK_ATTEMPTS: 12,
    });
  });

  it('names every bad value at once', () => {
    try {
      loadConfig(workerConfigSchema, {
        ...base,
        AUDIT_DELIVERY_CONCURRENCY: '0',
        QUEUE_PREFIX: 'a:b',
        AUDIT_WEBHOOK_TIMEOUT_MS: '20000',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('AUDIT_DELIVERY_CONCURRENCY');
      expect(problems).toContain('QUEUE_PREFIX');
    }
  });

  it('requires the webhook timeout to fit in the shutdown timeout', () => {
    expect(() => loadConfig(workerConfigSchema, { ...base, AUDIT_WEBHOOK_TIMEOUT_MS: '20000' })).toThrow(
      /AUDIT_WEBHOOK_TIMEOUT_MS: must be below SHUTDOWN_TIMEOUT_MS/,
    );
  });
});
