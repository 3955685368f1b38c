import type { z } from 'zod';

/** Thrown at start-up when the environment does not satisfy a service's schema; lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a zod object schema. Services call this once in main and pass the
 * typed result down, so nothing deeper reads process.env (STYLE.md habit 6).
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    const shown = value === undefined ? 'not set' : `got ${JSON.stringify(redactIfSecret(name, value))}`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}

// Connection strings and tokens may carry credentials; never echo them in an error message.
function redactIfSecret(name: string, value: string): string {
  return /URI|URL|TOKEN|SECRET|PASSWORD|KEY/i.test(name) ? '<redacted>' : value;
}
