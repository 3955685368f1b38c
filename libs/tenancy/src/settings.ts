import { z } from 'zod';

/** Organisation ids end up in job ids and Redis keys: letters, digits, `_` and `-` only. */
export const organisationIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w-]+$/, 'must be letters, digits, "_" or "-"');

/**
 * One organisation's SCIM settings: the shape of the `ScimTenant` spec minus its token fields
 * (docs/contracts.md "Organisation settings"). Defaults make a minimal spec valid.
 */
export const organisationSettingsSchema = z.object({
  displayName: z.string().min(1).max(256),
  enabled: z.boolean().default(true),
  plan: z
    .object({
      scimIncluded: z.boolean().default(true),
      userLimit: z.number().int().min(0).nullable().default(null),
    })
    .default({ scimIncluded: true, userLimit: null }),
  /** The group displayName users provisioned from now on are added to; `''` and `null` mean none. */
  defaultGroup: z
    .string()
    .max(256)
    .nullable()
    .default(null)
    .transform((group) => (group === '' ? null : group)),
  rateLimit: z
    .object({
      requestsPerSecond: z.number().positive().max(100_000).default(50),
      burst: z.number().int().positive().max(1_000_000).default(100),
    })
    .default({ requestsPerSecond: 50, burst: 100 }),
  audit: z
    .object({
      webhooks: z
        .array(z.object({ name: z.string().min(1), url: z.url(), secret: z.string().min(1) }))
        .default([]),
    })
    .default({ webhooks: [] }),
});

export type OrganisationSettings = z.output<typeof organisationSettingsSchema>;
export type OrganisationSettingsInput = z.input<typeof organisationSettingsSchema>;

/** Validates settings from any boundary (custom resource, CLI file); throws a ZodError naming each problem. */
export function parseOrganisationSettings(input: unknown): OrganisationSettings {
  return organisationSettingsSchema.parse(input);
}
