import { commonEnv, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import { z } from 'zod';

export const apiConfigSchema = commonEnv
  .extend(httpEnv(8080).shape)
  .extend(mongoEnv.shape)
  .extend(redisEnv.shape)
  .extend({
    /** Absolute base URL IdPs use, for meta.location and Location headers, e.g. https://scim.example.com/scim/v2 */
    PUBLIC_BASE_URL: z.url().optional(),
  });
export type ApiConfig = z.infer<typeof apiConfigSchema>;
