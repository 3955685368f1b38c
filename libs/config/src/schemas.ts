import { z } from 'zod';

/** `true/false/1/0/yes/no` in any case; environment variables are always strings. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False', 'YES', 'NO'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v.toLowerCase())));

/** Comma-separated list, blanks dropped. */
export const envList = () =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const commonEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});
export type CommonEnv = z.infer<typeof commonEnv>;

export const httpEnv = (defaultPort: number) =>
  z.object({
    HOST: z.string().default('0.0.0.0'),
    PORT: port(defaultPort),
  });

export const mongoEnv = z.object({
  MONGODB_URI: z
    .string({ message: 'set MONGODB_URI to a mongodb:// connection string' })
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://'),
  /**
   * The store profile (docs/mongodb.md): `auto` detects the server with `buildInfo` at connect time; `mongodb` or
   * `ferretdb` force it (e.g. behind a proxy that answers `buildInfo` for the server).
   */
  STORE_PROFILE: z.enum(['auto', 'mongodb', 'ferretdb']).default('auto'),
});

export const redisEnv = z.object({
  REDIS_URL: z
    .string({ message: 'set REDIS_URL to a redis:// connection string' })
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
});
