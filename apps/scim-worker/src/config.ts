import { commonEnv, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import type { z } from 'zod';

/** PORT serves the worker's ops endpoints (/healthz, /readyz, /metrics) only. */
export const workerConfigSchema = commonEnv
  .extend(httpEnv(9091).shape)
  .extend(mongoEnv.shape)
  .extend(redisEnv.shape);
export type WorkerConfig = z.infer<typeof workerConfigSchema>;
