import type { Organisation } from '@scimbridge/tenancy';
import type { ApiLimits } from '../limits.js';

/** Who is asking, for which organisation: set by the auth hook on every SCIM request. */
export interface ScimContext {
  orgId: string;
  tokenId: string;
  organisation: Organisation;
  /** Absolute base URL of the SCIM endpoints (`…/scim/v2`), for `meta.location` and `Location`. */
  baseUrl: string;
  requestId: string;
  traceId: string | null;
  /** The limits this request is held to: the deployment's, lowered by the organisation's own (`limitsFor`). */
  limits: ApiLimits;
}

declare module 'fastify' {
  interface FastifyRequest {
    scim: ScimContext;
  }
}
