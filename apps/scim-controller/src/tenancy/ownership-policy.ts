import { z } from 'zod';

/**
 * Which organisations a namespace's ScimTenants may claim. Many teams share one controller, and the controller
 * can write any organisation's settings and tokens, so the operator (not the tenant's author) decides which
 * organisation ids each namespace may manage. It is controller configuration (ORGANISATION_POLICY, JSON),
 * because only whoever deploys the controller should be able to change it: a namespaced resource would be
 * editable by the teams it constrains, and an admission policy could not see MongoDB to tell whether an
 * organisation already exists outside Kubernetes.
 */

/** `acme` matches that id only; `acme-*` every id starting with `acme-`. */
const organisationPattern = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*\*?$|^\*$/, 'an organisation id, an id prefix ending in *, or *');

const ruleSchema = z.strictObject({
  /** A namespace name, or `*` for every namespace. */
  namespace: z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)$/, 'a namespace name or *'),
  organisationIds: z.array(organisationPattern).min(1),
  /** Whether a ScimTenant here may adopt an organisation that exists without a ScimTenant (spec.adoptExistingOrganisation). */
  adopt: z.boolean().default(false),
  /** Whether a token stays valid when its ScimTenant is deleted with deletionPolicy Retain (default: revoked). */
  keepTokenOnRelease: z.boolean().default(false),
});

export const ownershipPolicySchema = z.array(ruleSchema);
export type OwnershipRule = z.infer<typeof ruleSchema>;

/** ORGANISATION_POLICY: a JSON list of rules; unset means no namespace may claim anything. */
export const organisationPolicyEnv = z
  .string()
  .default('[]')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'must be JSON: a list of {namespace, organisationIds, adopt?}',
      });
      return z.NEVER;
    }
  })
  .pipe(ownershipPolicySchema);

export type Verdict = { allowed: true } | { allowed: false; reason: string; message: string };

const matches = (pattern: string, value: string): boolean =>
  pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;

export class OwnershipPolicy {
  constructor(private readonly rules: readonly OwnershipRule[]) {}

  static parse(input: unknown): OwnershipPolicy {
    return new OwnershipPolicy(ownershipPolicySchema.parse(input));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  private rulesFor(namespace: string, orgId: string): OwnershipRule[] {
    return this.rules.filter(
      (r) => matches(r.namespace, namespace) && r.organisationIds.some((p) => matches(p, orgId)),
    );
  }

  /** Whether a ScimTenant in `namespace` may manage `orgId` at all. */
  mayClaim(namespace: string, orgId: string): Verdict {
    if (this.rulesFor(namespace, orgId).length > 0) return { allowed: true };
    return {
      allowed: false,
      reason: 'OrganisationNotAllowed',
      message: `the controller's ownership policy does not let namespace ${namespace} manage organisation ${orgId}; ask the operator to add it to ORGANISATION_POLICY, or use an organisation id this namespace may claim`,
    };
  }

  /** Whether a ScimTenant in `namespace` may take over `orgId`, which exists but no ScimTenant manages. */
  mayAdopt(namespace: string, orgId: string, requested: boolean): Verdict {
    if (!requested)
      return {
        allowed: false,
        reason: 'AdoptionRequired',
        message: `organisation ${orgId} already exists and no ScimTenant manages it (created outside Kubernetes, or released by a deleted ScimTenant); set spec.adoptExistingOrganisation: true to take it over, its token is then replaced`,
      };
    if (this.rulesFor(namespace, orgId).some((r) => r.adopt)) return { allowed: true };
    return {
      allowed: false,
      reason: 'AdoptionNotAllowed',
      message: `organisation ${orgId} already exists and the controller's ownership policy does not allow adopting it in namespace ${namespace}; ask the operator to set adopt: true for this namespace in ORGANISATION_POLICY`,
    };
  }

  /** Whether a Retain deletion in `namespace` leaves the organisation's token valid. */
  keepsTokenOnRelease(namespace: string, orgId: string): boolean {
    return this.rulesFor(namespace, orgId).some((r) => r.keepTokenOnRelease);
  }
}
