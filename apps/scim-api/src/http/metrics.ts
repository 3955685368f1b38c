import { DB_DURATION_BUCKETS } from '@scimbridge/telemetry';
import { Counter, Histogram, type Registry } from 'prom-client';

/** SCIM-level metrics of the api (HTTP RED metrics come from @scimbridge/telemetry). */
export interface ApiMetrics {
  operations: Counter<'resource' | 'operation' | 'outcome'>;
  authFailures: Counter<'reason'>;
  rateLimited: Counter;
  tokenRequests: Counter<'grant' | 'outcome'>;
  refused: Counter<'reason'>;
  databaseTime: Histogram<'resource' | 'operation'>;
}

export function apiMetrics(registry: Registry): ApiMetrics {
  return {
    operations: new Counter({
      name: 'scim_operations_total',
      help: 'SCIM operations by resource type, operation and outcome (success, client_error, server_error).',
      labelNames: ['resource', 'operation', 'outcome'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'scim_auth_failures_total',
      help: 'Refused SCIM requests by reason (missing, malformed, malformed-token, recently-refused, lookup-refused, unknown-token, expired-token, mode-off (a credential of a mode the organisation turned off), scim-disabled, scim-not-in-plan, organisation-deleting).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    tokenRequests: new Counter({
      name: 'scim_oauth_token_requests_total',
      help: 'Token endpoint requests by grant (client_secret, federation, other) and outcome (issued, or the RFC 6749 error code; jwks_unavailable).',
      labelNames: ['grant', 'outcome'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'scim_rate_limited_total',
      help: 'SCIM requests refused with 429 by the per-organisation rate limit.',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'scim_refused_requests_total',
      help: 'SCIM requests (and Bulk operations) refused before their work, by reason: the cost limits of docs/api.md "Limits", auth_preflight (a credential refused without a database lookup) auth_address_limit (too many failed authentications from the client address) and paused (503 while the organisation is paused).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    databaseTime: new Histogram({
      name: 'scim_request_database_seconds',
      help: 'Time one SCIM request spent in MongoDB commands, summed, by resource type and operation.',
      labelNames: ['resource', 'operation'],
      buckets: DB_DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}
