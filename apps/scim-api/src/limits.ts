import {
  DEFAULT_FILTER_LIMITS,
  DEFAULT_PATCH_LIMITS,
  type FilterLimits,
  type PatchLimits,
  type SearchLimits,
  type ServiceProviderCapabilities,
} from '@scimbridge/scim-core';

/**
 * The cost model the api enforces before work starts (docs/api.md "Limits"), advertised in /ServiceProviderConfig
 * where RFC 7644 has a field for it. One replica serves many organisations: none of them may exceed these.
 */
export interface ApiLimits {
  maxPayloadSize: number;
  bulkMaxOperations: number;
  pagination: { defaultCount: number; maxResults: number };
  filter: FilterLimits;
  patch: PatchLimits;
  /** Membership rows a list or search page may render; a page stops early (itemsPerPage < count) rather than exceed it. */
  membersPerPage: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxPayloadSize: 1_048_576,
  bulkMaxOperations: 1_000,
  pagination: { defaultCount: 100, maxResults: 1_000 },
  filter: DEFAULT_FILTER_LIMITS,
  patch: DEFAULT_PATCH_LIMITS,
  membersPerPage: 10_000,
};

/** An organisation's own limits (its settings' `limits`, from the `ScimTenant` or `scimctl`); null = unset. */
export interface OrganisationLimits {
  patchMaxOperations: number | null;
  maxMemberChanges: number | null;
  filterMaxTerms: number | null;
  bulkMaxOperations: number | null;
  maxResults: number | null;
}

const effective = new WeakMap<ApiLimits, WeakMap<OrganisationLimits, ApiLimits>>();

/**
 * The limits one organisation's requests get: the deployment's, lowered where the organisation sets its own (never
 * raised: the deployment's limits protect every organisation on the replica). Memoised per settings object, so a
 * request pays nothing for it.
 */
export function limitsFor(base: ApiLimits, own: OrganisationLimits | undefined): ApiLimits {
  if (!own || Object.values(own).every((v) => v === null)) return base;
  let byOrganisation = effective.get(base);
  if (!byOrganisation) effective.set(base, (byOrganisation = new WeakMap()));
  const cached = byOrganisation.get(own);
  if (cached) return cached;
  const lower = (deployment: number, organisation: number | null) =>
    organisation === null ? deployment : Math.min(deployment, organisation);
  const maxResults = lower(base.pagination.maxResults, own.maxResults);
  const limits: ApiLimits = {
    ...base,
    bulkMaxOperations: lower(base.bulkMaxOperations, own.bulkMaxOperations),
    pagination: { maxResults, defaultCount: Math.min(base.pagination.defaultCount, maxResults) },
    filter: { ...base.filter, maxTerms: lower(base.filter.maxTerms, own.filterMaxTerms) },
    patch: {
      ...base.patch,
      maxOperations: lower(base.patch.maxOperations, own.patchMaxOperations),
      maxMemberChanges: lower(base.patch.maxMemberChanges, own.maxMemberChanges),
    },
  };
  byOrganisation.set(own, limits);
  return limits;
}

/** What list and search requests are parsed with. */
export function searchLimits(limits: ApiLimits): SearchLimits {
  return { ...limits.pagination, filter: { maxTerms: limits.filter.maxTerms } };
}

/** What /ServiceProviderConfig says: the limits enforced for this organisation and its authentication schemes. */
export function capabilities(
  limits: ApiLimits,
  authenticationSchemes: ServiceProviderCapabilities['authenticationSchemes'],
): ServiceProviderCapabilities {
  return {
    patch: true,
    bulk: { supported: true, maxOperations: limits.bulkMaxOperations, maxPayloadSize: limits.maxPayloadSize },
    filter: { supported: true, maxResults: limits.pagination.maxResults },
    changePassword: false,
    sort: true,
    etag: true,
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: limits.pagination.defaultCount,
      maxPageSize: limits.pagination.maxResults,
    },
    authenticationSchemes,
  };
}
