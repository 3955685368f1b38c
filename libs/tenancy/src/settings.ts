import { z } from 'zod';

/** Event streams (RFC 9967 SET receivers) per organisation, like the CRD's `maxItems`. */
export const MAX_EVENT_STREAMS = 10;

/** Organisation ids end up in job ids and Redis keys: letters, digits, `_` and `-` only. */
export const organisationIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w-]+$/, 'must be letters, digits, "_" or "-"');

/**
 * One organisation's SCIM settings: the shape of the `ScimTenant` spec minus its token fields
 * (docs/contracts.md "Organisation settings"). Defaults make a minimal spec valid, and each default is stated
 * here once: a nested object left out is parsed as `{}` (`prefault`), so it gets its fields' defaults. The
 * controller and `scimctl apply` both parse a spec with this schema; the CRD's own defaults
 * (k8s/crd/scimtenants.scimbridge.io.yaml) must equal these, which test/integration/tenant-settings.test.ts
 * checks through the real apiserver.
 */
export const organisationSettingsSchema = z.object({
  displayName: z.string().min(1).max(256),
  enabled: z.boolean().default(true),
  plan: z
    .object({
      scimIncluded: z.boolean().default(true),
      userLimit: z.number().int().min(0).nullable().default(null),
    })
    .prefault({}),
  /** The group displayName users provisioned from now on are added to; `''` and `null` mean none. */
  defaultGroup: z
    .string()
    .max(256)
    .nullable()
    .default(null)
    .transform((group) => (group === '' ? null : group)),
  /** Per-organisation api rate limit (docs/idp-setup.md: 50 requests/s, burst 100, unless set). */
  rateLimit: z
    .object({
      requestsPerSecond: z.number().positive().max(100_000).default(50),
      burst: z.number().int().positive().max(1_000_000).default(100),
    })
    .prefault({}),
  /**
   * Per-organisation request limits (docs/api.md "Limits"): each lowers the deployment's limit for this
   * organisation, never raises it (the deployment's limits protect every organisation on a replica). Unset = the
   * deployment's.
   */
  limits: z
    .object({
      /** Operations per PATCH request. */
      patchMaxOperations: z.number().int().min(1).nullable().default(null),
      /** Members added plus removed per request (PATCH, PUT, POST of a group). */
      maxMemberChanges: z.number().int().min(1).nullable().default(null),
      /** Terms of one filter expression. */
      filterMaxTerms: z.number().int().min(1).nullable().default(null),
      /** Operations per /Bulk request (advertised in /ServiceProviderConfig). */
      bulkMaxOperations: z.number().int().min(1).nullable().default(null),
      /** Resources per list or search page (advertised in /ServiceProviderConfig). */
      maxResults: z.number().int().min(1).nullable().default(null),
    })
    .prefault({}),
  /**
   * `true` answers every SCIM request with 503 + Retry-After ("provisioning is paused"): maintenance without the
   * IdP marking the app as broken (`enabled: false` answers 403, which IdPs treat as a failure).
   */
  paused: z.boolean().default(false),
  /**
   * How an IdP may authenticate (docs/contracts.md "Credentials"): the organisation's bearer token, OAuth 2.0
   * client credentials (RFC 6749 §4.4) at the token endpoint, and workload identity federation (RFC 7523 §2.2:
   * a JWT issued by a trusted issuer, checked against its JWKS). Access tokens from the token endpoint are
   * accepted only while the mode that issued them is on.
   */
  authentication: z
    .object({
      bearerToken: z.object({ enabled: z.boolean().default(true) }).prefault({}),
      clientCredentials: z
        .object({
          enabled: z.boolean().default(false),
          /** Lifetime of an access token from the token endpoint: 5 minutes to 6 hours (Entra asks 1–6 h). */
          accessTokenLifetimeSeconds: z.number().int().min(300).max(21_600).default(3_600),
        })
        .prefault({}),
      federation: z
        .object({
          /** `iss` the assertion must carry, e.g. https://login.microsoftonline.com/<tenant>/v2.0 */
          issuer: z.string().min(1).max(1_024),
          /** `sub` the assertion must carry (Entra: the provisioning service's workload identity object id). */
          subject: z.string().min(1).max(1_024),
          /** An `aud` the assertion must carry (Entra: api://<workload identity app id>). */
          audience: z.string().min(1).max(1_024),
          /** Where the issuer publishes its signing keys; https (http only for loopback test servers). */
          jwksUrl: z.url({ protocol: /^https?$/ }).max(2_048),
        })
        .nullable()
        .default(null),
    })
    .prefault({}),
  audit: z
    .object({
      webhooks: z
        .array(z.object({ name: z.string().min(1), url: z.url(), secret: z.string().min(1) }))
        .default([]),
      /**
       * RFC 9967 SCIM events, each pushed as a signed SET (RFC 8417) to `url` by RFC 8935 (docs/worker.md "SCIM
       * events"). `audience` is the SET's `aud`; `authorization`, when set, the `Authorization` header value the
       * receiver asks for (e.g. `Bearer …`), from a Secret.
       */
      eventStreams: z
        .array(
          z.object({
            name: z.string().min(1).max(63),
            url: z.url(),
            audience: z.string().min(1).max(1_024),
            authorization: z.string().min(1).max(4_096).nullable().default(null),
          }),
        )
        .max(MAX_EVENT_STREAMS)
        .default([])
        .refine((streams) => new Set(streams.map((s) => s.name)).size === streams.length, {
          message: 'event stream names must be unique',
        }),
    })
    .prefault({}),
});

export type OrganisationSettings = z.output<typeof organisationSettingsSchema>;
export type OrganisationSettingsInput = z.input<typeof organisationSettingsSchema>;

/** Validates settings from any boundary (custom resource, CLI file); throws a ZodError naming each problem. */
export function parseOrganisationSettings(input: unknown): OrganisationSettings {
  return organisationSettingsSchema.parse(input);
}

/** What an organisation whose spec sets nothing but its display name gets: every default, from the schema. */
export function defaultOrganisationSettings(displayName: string): OrganisationSettings {
  return parseOrganisationSettings({ displayName });
}
