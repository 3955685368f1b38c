import { currentTraceCarrier, traceIdOf } from '@scimbridge/jobs';
import { ScimError } from '@scimbridge/scim-core';
import { accessDenial, hashToken, tokenFingerprint, type TokenAuthenticator } from '@scimbridge/tenancy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthFailureAudit } from '../audit.js';
import { sendScimError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { OrganisationRateLimiter } from './rate-limit.js';

const DENIAL_DETAIL = {
  'scim-not-in-plan':
    'SCIM provisioning is not enabled for your account. Upgrade the plan to provision users.',
  'scim-disabled': 'SCIM provisioning is disabled for this organisation.',
  'organisation-deleting': 'This organisation is being deleted; SCIM provisioning has stopped.',
} as const;

export interface AuthHookOptions {
  authenticator: TokenAuthenticator;
  rateLimiter: OrganisationRateLimiter;
  failures: AuthFailureAudit;
  metrics: ApiMetrics;
  /** Fixed public base URL, or derived from the request's Host. */
  publicBaseUrl?: string;
}

function unauthorized(reply: FastifyReply, detail: string): FastifyReply {
  reply.header('WWW-Authenticate', 'Bearer realm="scim"');
  return sendScimError(reply, new ScimError(401, detail));
}

function traceId(): string | null {
  const id = traceIdOf(currentTraceCarrier());
  return id && !/^0+$/.test(id) ? id : null;
}

/**
 * Bearer token → organisation → access decision → per-organisation rate limit, before the body is read
 * (onRequest), so unauthenticated or throttled clients cost no parsing.
 */
export function authHook(options: AuthHookOptions) {
  const { authenticator, rateLimiter, failures, metrics } = options;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      metrics.authFailures.inc({ reason: header ? 'malformed' : 'missing' });
      failures.note(null, '-', header ? 'malformed' : 'missing');
      await unauthorized(reply, 'Authenticate with "Authorization: Bearer <token>".');
      return;
    }
    const token = match[1]!;
    const result = await authenticator.authenticate(token);
    if (!result.ok || !result.organisation) {
      metrics.authFailures.inc({ reason: 'unknown-token' });
      failures.note(result.ok ? result.orgId : null, tokenFingerprint(hashToken(token)), 'unknown-token');
      await unauthorized(reply, 'The bearer token is not valid. It may have been regenerated or revoked.');
      return;
    }
    const denial = accessDenial(result.organisation);
    if (denial) {
      metrics.authFailures.inc({ reason: denial });
      failures.note(result.orgId, tokenFingerprint(hashToken(token)), denial);
      await sendScimError(reply, new ScimError(403, DENIAL_DETAIL[denial]));
      return;
    }
    const { requestsPerSecond, burst } = result.organisation.settings.rateLimit;
    const decision = await rateLimiter.take(result.orgId, requestsPerSecond, burst);
    if (!decision.allowed) {
      metrics.rateLimited.inc();
      reply.header('Retry-After', String(decision.retryAfterSeconds));
      await sendScimError(
        reply,
        new ScimError(
          429,
          `Too many requests for this organisation (limit ${requestsPerSecond}/s); retry after ${decision.retryAfterSeconds} s.`,
        ),
      );
      return;
    }
    request.log = request.log.child({ orgId: result.orgId, tokenId: result.tokenId });
    request.scim = {
      orgId: result.orgId,
      tokenId: result.tokenId,
      organisation: result.organisation,
      baseUrl: options.publicBaseUrl ?? `${request.protocol}://${request.host}/scim/v2`,
      requestId: request.id,
      traceId: traceId(),
    };
  };
}
