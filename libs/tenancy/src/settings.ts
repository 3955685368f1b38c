import { z } from 'zod';

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
  audit: z
    .object({
      webhooks: z
        .array(z.object({ name: z.string().min(1), url: z.url(), secret: z.string().min(1) }))
        .default([]),
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
