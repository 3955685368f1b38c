import { currentTraceCarrier, traceIdOf } from '@scimbridge/jobs';
import { ScimError } from '@scimbridge/scim-core';
import {
  accessDenial,
  hashToken,
  tokenFingerprint,
  type AuthenticationRefusal,
  type CredentialInfo,
  type Organisation,
  type TokenAuthenticator,
} from '@scimbridge/tenancy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { limitsFor, type ApiLimits } from '../limits.js';
import type { AuthFailureAudit } from '../audit.js';
import type { FailedAuthenticationLimiter } from './address-limit.js';
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
  addressLimiter: FailedAuthenticationLimiter;
  metrics: ApiMetrics;
  /** Fixed public base URL, or derived from the request's Host. */
  publicBaseUrl?: string;
  /** The deployment's limits; each organisation's own lower them (`limitsFor`). */
  limits: ApiLimits;
}

/** The audit log names what the client did, not which cache answered: a recently refused token is unknown. */
const AUDIT_REASON: Record<AuthenticationRefusal, string> = {
  'malformed-token': 'malformed-token',
  'recently-refused': 'unknown-token',
  'unknown-token': 'unknown-token',
  'expired-token': 'expired-token',
  'revoked-token': 'revoked-token',
  'lookup-refused': 'address-limited',
};

function unauthorized(reply: FastifyReply, detail: string, error?: 'invalid_token'): FastifyReply {
  // RFC 6750 §3: the challenge names the scheme, and the error once a token was presented.
  reply.header('WWW-Authenticate', error ? `Bearer realm="scim", error="${error}"` : 'Bearer realm="scim"');
  return sendScimError(reply, new ScimError(401, detail));
}

const REFUSAL_DETAIL: Record<Exclude<AuthenticationRefusal, 'lookup-refused' | 'revoked-token'>, string> = {
  'malformed-token': 'The bearer token is not a scimbridge token (wrong length, prefix or checksum).',
  'recently-refused': 'The bearer token is not valid. It may have been regenerated or revoked.',
  'unknown-token': 'The bearer token is not valid. It may have been regenerated or revoked.',
  'expired-token':
    'The token has expired: get a new access token from the token endpoint (or, for a rotated bearer token, use the new one).',
};

/**
 * A refused credential that was the organisation's, in the words of its request log: a bearer token revoked or
 * rotated away (its overlap over) is `token-regenerated` or `token-revoked`, with when, so the admin knows to update
 * the IdP; an access token past its lifetime is `access-token-expired`.
 */
function ownCredentialRefusal(credential: CredentialInfo | undefined): { reason: string; detail: string } {
  if (credential?.revokedAt) {
    const at = credential.revokedAt.toISOString();
    return credential.replaced
      ? {
          reason: 'token-regenerated',
          detail: `The bearer token was regenerated at ${at}; update your IdP with the new token.`,
        }
      : {
          reason: 'token-revoked',
          detail: `The bearer token was revoked at ${at}; the organisation has to issue a new one.`,
        };
  }
  if (credential?.kind === 'bearer' && credential.validUntil)
    return {
      reason: 'token-regenerated',
      detail: `The bearer token was regenerated; its overlap ended at ${credential.validUntil.toISOString()}. Update your IdP with the new token.`,
    };
  return { reason: 'access-token-expired', detail: REFUSAL_DETAIL['expired-token'] };
}

/** Seconds an IdP is asked to wait while its organisation is paused (spec.paused). */
export const PAUSED_RETRY_AFTER_SECONDS = 60;

/** A credential of a mode the organisation turned off (settings.authentication) is refused like an unknown one. */
function modeOff(organisation: Organisation, credential: CredentialInfo): string | null {
  const { authentication } = organisation.settings;
  if (credential.kind === 'bearer')
    return authentication.bearerToken.enabled
      ? null
      : 'Bearer tokens are turned off for this organisation: get an access token from the OAuth token endpoint.';
  if (credential.grant === 'federation')
    return authentication.federation
      ? null
      : 'Workload identity federation is turned off for this organisation.';
  return authentication.clientCredentials.enabled
    ? null
    : 'OAuth client credentials are turned off for this organisation.';
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
  const { authenticator, rateLimiter, failures, addressLimiter, metrics } = options;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      metrics.authFailures.inc({ reason: header ? 'malformed' : 'missing' });
      metrics.refused.inc({ reason: 'auth_preflight' });
      failures.note(null, header ? 'malformed' : 'missing');
      await unauthorized(reply, 'Authenticate with "Authorization: Bearer <token>".');
      return;
    }
    const token = match[1]!;
    let retryAfterSeconds = 0;
    const result = await authenticator.authenticate(token, {
      mayLookUp: async () => {
        const decision = await addressLimiter.check(request.ip);
        if (!decision.allowed) retryAfterSeconds = decision.retryAfterSeconds;
        return decision.allowed;
      },
    });
    if (!result.ok) {
      metrics.authFailures.inc({ reason: result.reason });
      // Hashed once, by the authenticator; only a malformed token (never hashed there) is hashed here.
      const fingerprint = result.fingerprint ?? tokenFingerprint(hashToken(token));
      failures.note(result.orgId ?? null, AUDIT_REASON[result.reason], fingerprint);
      if (result.reason === 'expired-token' || result.reason === 'revoked-token') {
        // Not a failed guess (the token was ours): no address penalty, the refusal is the organisation's (its
        // request log), and the IdP is told what happened to its token.
        const refusal = ownCredentialRefusal(result.credential);
        if (result.orgId) {
          metrics.orgRefused(result.orgId, refusal.reason);
          request.requestLog = {
            orgId: result.orgId,
            fingerprint,
            reason: refusal.reason,
            traceId: traceId(),
          };
        }
        await unauthorized(reply, refusal.detail, 'invalid_token');
        return;
      }
      if (result.reason === 'unknown-token') {
        await addressLimiter.failed(request.ip);
        await unauthorized(reply, REFUSAL_DETAIL[result.reason], 'invalid_token');
        return;
      }
      if (result.reason === 'lookup-refused') {
        metrics.refused.inc({ reason: 'auth_address_limit' });
        // 401, not 429: the credential was not accepted, and an IdP must not mistake this for its own quota.
        reply.header('Retry-After', String(retryAfterSeconds));
        await unauthorized(
          reply,
          `Too many failed authentications from this address; retry after ${retryAfterSeconds} s with a valid token.`,
          'invalid_token',
        );
        return;
      }
      metrics.refused.inc({ reason: 'auth_preflight' });
      await unauthorized(reply, REFUSAL_DETAIL[result.reason], 'invalid_token');
      return;
    }
    if (!result.organisation) {
      metrics.authFailures.inc({ reason: 'unknown-token' });
      failures.note(result.orgId, 'unknown-token', result.fingerprint);
      await unauthorized(reply, REFUSAL_DETAIL['unknown-token'], 'invalid_token');
      return;
    }
    const attribution = { orgId: result.orgId, fingerprint: result.fingerprint, traceId: traceId() };
    /** A refusal of this organisation's credential: its request log and the per-organisation metric. */
    const refuse = (reason: string) => {
      request.requestLog = { ...attribution, reason };
      metrics.orgRefused(result.orgId, reason);
    };
    const off = modeOff(result.organisation, result.credential);
    if (off) {
      refuse('credential-mode-off');
      metrics.authFailures.inc({ reason: 'mode-off' });
      failures.note(result.orgId, 'credential-mode-off', result.fingerprint);
      await unauthorized(reply, off, 'invalid_token');
      return;
    }
    const denial = accessDenial(result.organisation);
    if (denial) {
      refuse(denial);
      metrics.authFailures.inc({ reason: denial });
      failures.note(result.orgId, denial, result.fingerprint);
      await sendScimError(reply, new ScimError(403, DENIAL_DETAIL[denial]));
      return;
    }
    if (result.organisation.settings.paused) {
      // 503 + Retry-After: IdPs retry later instead of failing the job (a 403 would mark the app as broken).
      refuse('paused');
      metrics.refused.inc({ reason: 'paused' });
      reply.header('Retry-After', String(PAUSED_RETRY_AFTER_SECONDS));
      await sendScimError(
        reply,
        new ScimError(503, 'SCIM provisioning is paused for this organisation; retry later.'),
      );
      return;
    }
    const { requestsPerSecond, burst } = result.organisation.settings.rateLimit;
    const decision = await rateLimiter.take(result.orgId, requestsPerSecond, burst);
    if (!decision.allowed) {
      refuse('rate-limited');
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
    request.requestLog = attribution;
    request.log = request.log.child({ orgId: result.orgId, tokenId: result.tokenId });
    request.scim = {
      orgId: result.orgId,
      tokenId: result.tokenId,
      organisation: result.organisation,
      baseUrl: options.publicBaseUrl ?? `${request.protocol}://${request.host}/scim/v2`,
      requestId: request.id,
      traceId: attribution.traceId,
      limits: limitsFor(options.limits, result.organisation.settings.limits),
    };
  };
}
