import type { RequestSummary } from '@scimbridge/tenancy';
import type { RequestsStatus } from '../api/scim-tenant.js';

/** Longest failure message kept in the status (the CRD's bound). */
const MAX_MESSAGE = 512;

/**
 * `status.requests` from the request log's summary (tenancy `summariseRequests`): what an IdP admin reads first
 * when provisioning fails, without database access. Reasons are bounded to the top five by the summary.
 */
export function requestsStatus(summary: RequestSummary): RequestsStatus {
  const status: RequestsStatus = {
    lastHour: {
      failures: summary.failures,
      byReason: summary.failuresByReason.map(({ reason, count }) => ({ reason: reason.slice(0, 64), count })),
      ...(summary.failuresCapped ? { atLeast: true } : {}),
      ...(summary.dropped > 0 ? { dropped: summary.dropped } : {}),
    },
  };
  if (summary.lastSuccess) status.lastSuccessAt = summary.lastSuccess.at.toISOString();
  const failure = summary.lastFailure;
  if (failure)
    status.lastFailure = {
      at: failure.at.toISOString(),
      status: failure.status,
      ...(failure.reason ? { reason: failure.reason.slice(0, 64) } : {}),
      ...(failure.detail ? { message: failure.detail.slice(0, MAX_MESSAGE) } : {}),
      ...(failure.fingerprint ? { tokenFingerprint: failure.fingerprint } : {}),
    };
  return status;
}
