import type { ScimResource } from '@scimbridge/scim-core';

/** What a SCIM operation produced, independent of HTTP framing, so routes and /Bulk render it alike. */
export interface ScimOutcome {
  status: 200 | 201 | 204 | 304;
  resource?: ScimResource;
  /** Integer version for the ETag header. */
  version?: number;
  location?: string;
}

/** `attributes` / `excludedAttributes` of the request (RFC 7644 §3.9), applied to every response body. */
export interface Projection {
  attributes: string[];
  excludedAttributes: string[];
}

export const NO_PROJECTION: Projection = { attributes: [], excludedAttributes: [] };

/** Conditional-request headers (RFC 7644 §3.14). */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}
