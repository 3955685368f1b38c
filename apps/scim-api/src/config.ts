import { commonEnv, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import { z } from 'zod';
import { DEFAULT_LIMITS, type ApiLimits } from './limits.js';

const { filter, patch } = DEFAULT_LIMITS;

const limit = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const apiConfigSchema = commonEnv
  .extend(httpEnv(8080).shape)
  .extend(mongoEnv.shape)
  .extend(redisEnv.shape)
  .extend({
    /** Absolute base URL IdPs use, for meta.location and Location headers, e.g. https://scim.example.com/scim/v2 */
    PUBLIC_BASE_URL: z.url().optional(),
    /** Linked from /ServiceProviderConfig's authenticationSchemes, e.g. your copy of docs/idp-setup.md. */
    DOCUMENTATION_URL: z.url().optional(),
    /** Bound on one JWKS fetch of workload identity federation (a slow key server costs only its organisation). */
    JWKS_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(2_000),
    /**
     * How long the SCIM event signing keys served at /.well-known/scim-events/jwks.json are cached in memory; a
     * rotated-in key is published longer than this before it signs (docs/operations.md "SCIM events").
     */
    SCIM_EVENTS_KEY_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
    // The cost model (docs/api.md "Limits"); defaults from DEFAULT_LIMITS.
    SCIM_MAX_PAYLOAD_BYTES: limit(DEFAULT_LIMITS.maxPayloadSize),
    SCIM_BULK_MAX_OPERATIONS: limit(DEFAULT_LIMITS.bulkMaxOperations),
    SCIM_MAX_RESULTS: limit(DEFAULT_LIMITS.pagination.maxResults),
    SCIM_FILTER_MAX_TERMS: limit(filter.maxTerms),
    SCIM_FILTER_MAX_MEMBERSHIP_LOOKUPS: limit(filter.maxMembershipLookups),
    SCIM_FILTER_MAX_MEMBERSHIP_ROWS: limit(filter.maxMembershipRows),
    SCIM_PATCH_MAX_OPERATIONS: limit(patch.maxOperations),
    SCIM_PATCH_MAX_VALUES_PER_OPERATION: limit(patch.maxValuesPerOperation),
    SCIM_MAX_ATTRIBUTE_VALUES: limit(patch.maxAttributeValues),
    SCIM_MAX_MEMBER_CHANGES: limit(patch.maxMemberChanges),
    SCIM_PATCH_MAX_VALUE_VISITS: limit(patch.maxValueVisits),
    SCIM_PATCH_MAX_MEMBERS_FOR_FILTER: limit(patch.maxMembersForFilter),
    SCIM_MEMBERS_PER_PAGE: limit(DEFAULT_LIMITS.membersPerPage),
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
    // The per-organisation request log (docs/api.md "Request log").
    /** Records kept per organisation per minute and replica; the rest are counted as dropped. */
    REQUEST_LOG_PER_ORG_PER_MINUTE: z.coerce.number().int().positive().max(100_000).default(600),
    /** Days a record is kept (a TTL index on MongoDB; the worker's retention pass elsewhere). */
    REQUEST_LOG_RETENTION_DAYS: z.coerce.number().int().positive().max(3_650).default(30),
    /** Records buffered in memory at most (all organisations); beyond, dropped and counted. */
    REQUEST_LOG_MAX_BUFFERED: z.coerce.number().int().positive().max(1_000_000).default(20_000),
    /** Opt-in `org` label on scim_org_* metrics (cardinality: METRICS_ORG_LABEL_MAX organisations, then `other`). */
    METRICS_ORG_LABEL: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    METRICS_ORG_LABEL_MAX: z.coerce.number().int().positive().max(10_000).default(50),
  });
export type ApiConfig = z.infer<typeof apiConfigSchema>;

/** The limits as the environment sets them (every variable optional; defaults above). */
export function limitsFromConfig(config: ApiConfig): ApiLimits {
  return {
    maxPayloadSize: config.SCIM_MAX_PAYLOAD_BYTES,
    bulkMaxOperations: config.SCIM_BULK_MAX_OPERATIONS,
    pagination: { defaultCount: DEFAULT_LIMITS.pagination.defaultCount, maxResults: config.SCIM_MAX_RESULTS },
    filter: {
      maxTerms: config.SCIM_FILTER_MAX_TERMS,
      maxMembershipLookups: config.SCIM_FILTER_MAX_MEMBERSHIP_LOOKUPS,
      maxMembershipRows: config.SCIM_FILTER_MAX_MEMBERSHIP_ROWS,
    },
    patch: {
      maxOperations: config.SCIM_PATCH_MAX_OPERATIONS,
      maxValuesPerOperation: config.SCIM_PATCH_MAX_VALUES_PER_OPERATION,
      maxAttributeValues: config.SCIM_MAX_ATTRIBUTE_VALUES,
      maxMemberChanges: config.SCIM_MAX_MEMBER_CHANGES,
      maxValueVisits: config.SCIM_PATCH_MAX_VALUE_VISITS,
      maxMembersForFilter: config.SCIM_PATCH_MAX_MEMBERS_FOR_FILTER,
    },
    membersPerPage: config.SCIM_MEMBERS_PER_PAGE,
  };
}
