import { commonEnv, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import { z } from 'zod';

export const apiConfigSchema = commonEnv
  .extend(httpEnv(8080).shape)
  .extend(mongoEnv.shape)
  .extend(redisEnv.shape)
  .extend({
    /** Absolute base URL IdPs use, for meta.location and Location headers, e.g. https://scim.example.com/scim/v2 */
    PUBLIC_BASE_URL: z.url().optional(),
    /**
     * Whose X-Forwarded-For names the client address (the per-address failed-authentication limit keys on it):
     * `true` trusts any proxy, or a comma-separated list of proxy addresses/CIDRs (the ingress). Unset: the peer.
     */
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === 'false' ? undefined : v === 'true' ? true : v)),
    /** Failed authentications (unknown tokens) per client address and minute before its lookups are refused. */
    AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().positive().default(20),
  });
export type ApiConfig = z.infer<typeof apiConfigSchema>;
