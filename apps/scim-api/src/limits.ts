import type { ServiceProviderCapabilities } from '@scimbridge/scim-core';

/** The limits the api enforces, advertised as they are in /ServiceProviderConfig. */
export interface ApiLimits {
  maxPayloadSize: number;
  bulkMaxOperations: number;
  pagination: { defaultCount: number; maxResults: number };
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxPayloadSize: 1_048_576,
  bulkMaxOperations: 1_000,
  pagination: { defaultCount: 100, maxResults: 1_000 },
};

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
