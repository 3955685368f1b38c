import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, envBoolean, httpEnv, loadConfig, mongoEnv } from '@scimbridge/config';

describe('loadConfig', () => {
  const schema = commonEnv
    .merge(httpEnv(8080))
    .merge(mongoEnv)
    .extend({ FEATURE: envBoolean(false) });

  it('applies defaults and coerces types', () => {
    const cfg = loadConfig(schema, {
      MONGODB_URI: 'mongodb://127.0.0.1:27017/x',
      PORT: '9000',
      FEATURE: 'True',
    });
    expect(cfg).toMatchObject({ PORT: 9000, HOST: '0.0.0.0', LOG_LEVEL: 'info', FEATURE: true });
  });

  it('reports every bad variable at once and never echoes a connection string', () => {
    let error: unknown;
    try {
      loadConfig(schema, { MONGODB_URI: 'http://user:secret@host', PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/LOG_LEVEL/);
    expect(problems).toMatch(/MONGODB_URI: must start with mongodb/);
    expect(problems).not.toMatch(/secret/);
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig(z.object({}).merge(mongoEnv), {})).toThrow(/MONGODB_URI: set MONGODB_URI/);
  });
});
