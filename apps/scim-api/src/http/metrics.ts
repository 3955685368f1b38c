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
  requestLogDropped: Counter<'cause'>;
  requestLogWritten: Counter;
  /** Per-organisation metrics (opt-in, METRICS_ORG_LABEL); no-ops when off. */
  orgRefused(orgId: string, reason: string): void;
  orgRequest(orgId: string, outcome: 'success' | 'failure'): void;
}

/** The `org` label value when the opt-in label is off for an organisation beyond the bound. */
export const OTHER_ORGANISATIONS = 'other';

/**
 * The opt-in `org` label with bounded cardinality: the first `max` organisations this replica serves keep their
 * id as label (stable for the process's life, so rates stay continuous), every later one is folded into
 * `other`. Only organisations whose credential was recognised reach it, so unknown tokens cannot grow it.
 */
export class OrganisationLabels {
  private readonly labelled = new Set<string>();
  constructor(private readonly max: number) {}

  label(orgId: string): string {
    if (this.labelled.has(orgId)) return orgId;
    if (this.labelled.size >= this.max) return OTHER_ORGANISATIONS;
    this.labelled.add(orgId);
    return orgId;
  }
}

export interface ApiMetricsOptions {
  /** Adds the `org`-labelled series for at most this many organisations (docs/operations.md); off when absent. */
  orgLabel?: { maxOrganisations: number };
}

export function apiMetrics(registry: Registry, options: ApiMetricsOptions = {}): ApiMetrics {
  const orgLabels = options.orgLabel ? new OrganisationLabels(options.orgLabel.maxOrganisations) : null;
  const orgRefused = orgLabels
    ? new Counter({
        name: 'scim_org_refused_requests_total',
        help: 'SCIM requests of a recognised organisation refused before their work, by organisation (opt-in METRICS_ORG_LABEL; beyond METRICS_ORG_LABEL_MAX organisations `other`) and reason (token-regenerated, token-revoked, access-token-expired, credential-mode-off, scim-disabled, scim-not-in-plan, organisation-deleting, paused, rate-limited).',
        labelNames: ['org', 'reason'],
        registers: [registry],
      })
    : null;
  const orgRequests = orgLabels
    ? new Counter({
        name: 'scim_org_requests_total',
        help: 'SCIM requests of a recognised organisation by organisation (opt-in METRICS_ORG_LABEL, bounded like scim_org_refused_requests_total) and outcome (success: status < 400, failure).',
        labelNames: ['org', 'outcome'],
        registers: [registry],
      })
    : null;
  return {
    orgRefused: (orgId, reason) => orgRefused?.inc({ org: orgLabels!.label(orgId), reason }),
    orgRequest: (orgId, outcome) => orgRequests?.inc({ org: orgLabels!.label(orgId), outcome }),
    requestLogDropped: new Counter({
      name: 'scim_request_log_dropped_total',
      help: 'Request log records not kept, by cause: limit (REQUEST_LOG_PER_ORG_PER_MINUTE), buffer (the in-memory cap), database (a failed write). Each organisation also gets a `dropped` record in its log.',
      labelNames: ['cause'],
      registers: [registry],
    }),
    requestLogWritten: new Counter({
      name: 'scim_request_log_written_total',
      help: 'Request log records written to MongoDB.',
      registers: [registry],
    }),
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
