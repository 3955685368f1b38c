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

/** What list and search requests are parsed with. */
export function searchLimits(limits: ApiLimits): SearchLimits {
  return { ...limits.pagination, filter: { maxTerms: limits.filter.maxTerms } };
}

export function capabilities(limits: ApiLimits): ServiceProviderCapabilities {
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
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A per-organisation bearer token in the Authorization header (RFC 6750).',
        specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
        primary: true,
      },
    ],
  };
}
