import {
  accessDenial,
  authenticateClientSecret,
  findClient,
  FederationRefusal,
  issueAccessToken,
  type AccessGrant,
  type FederationVerifier,
  type Organisation,
  type TokenAuthenticator,
  TOKEN_ENDPOINT_PATH,
} from '@scimbridge/tenancy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { FailedAuthenticationLimiter } from '../http/address-limit.js';
import type { ApiMetrics } from '../http/metrics.js';

// The OAuth 2.0 token endpoint (docs/api.md "Token endpoint"): client credentials (RFC 6749 §4.4) with a client
// secret (HTTP Basic or form fields, §2.3.1) or with a JWT client assertion (RFC 7523 §2.2, Entra's workload identity
// federation). Errors are RFC 6749 §5.2 JSON, never SCIM errors.

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A form body larger than this is refused before parsing (an Entra assertion is about 1.5 KB). */
export const TOKEN_REQUEST_MAX_BYTES = 16 * 1024;

type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'unauthorized_client'
  | 'server_error'
  | 'temporarily_unavailable';

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export interface TokenEndpointOptions {
  connection: Connection;
  redis: Redis;
  authenticator: TokenAuthenticator;
  verifier: FederationVerifier;
  addressLimiter: FailedAuthenticationLimiter;
  metrics: ApiMetrics;
}

function send(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  // RFC 6749 §5.1: token responses are never cached.
  return reply
    .code(status)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(body));
}

function sendError(reply: FastifyReply, error: OAuthError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return send(reply, error.status, { error: error.code, error_description: error.description });
}

/** One value per parameter (RFC 6749 §3.2: a repeated parameter is an invalid request). */
function formParameters(body: unknown): Map<string, string> {
  if (!(body instanceof URLSearchParams))
    throw new OAuthError(
      400,
      'invalid_request',
      'Send the token request as application/x-www-form-urlencoded.',
    );
  const params = new Map<string, string>();
  for (const [name, value] of body) {
    if (params.has(name))
      throw new OAuthError(400, 'invalid_request', `The parameter "${name}" is repeated.`);
    params.set(name, value);
  }
  return params;
}

/** RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded client id and secret. */
function basicCredentials(header: string | undefined): { clientId: string; secret: string } | null {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match)
    throw new OAuthError(401, 'invalid_client', 'Use HTTP Basic client authentication.', basicChallenge);
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw new OAuthError(401, 'invalid_client', 'Malformed HTTP Basic credentials.', basicChallenge);
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw new OAuthError(401, 'invalid_client', 'Malformed HTTP Basic credentials.', basicChallenge);
  }
}

const basicChallenge = { 'WWW-Authenticate': 'Basic realm="scimbridge", charset="UTF-8"' };

/** The organisation may obtain tokens: it exists, is not refused as a whole, and has the grant's mode on. */
function refuseOrganisation(organisation: Organisation | null, grant: AccessGrant): OAuthError | null {
  if (!organisation || accessDenial(organisation))
    return new OAuthError(
      400,
      'unauthorized_client',
      'SCIM provisioning is not available for this organisation.',
    );
  const { authentication } = organisation.settings;
  if (grant === 'client_secret' && !authentication.clientCredentials.enabled)
    return new OAuthError(
      400,
      'unauthorized_client',
      'Client credentials are turned off for this organisation (spec.authentication.clientCredentials.enabled).',
    );
  if (grant === 'federation' && !authentication.federation)
    return new OAuthError(
      400,
      'unauthorized_client',
      'Workload identity federation is not configured for this organisation (spec.authentication.federation).',
    );
  return null;
}

export function tokenEndpoint(app: FastifyInstance, options: TokenEndpointOptions): void {
  const { connection, redis, authenticator, verifier, addressLimiter, metrics } = options;

  // Only the form media type, parsed by the platform's URLSearchParams, bounded before parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: TOKEN_REQUEST_MAX_BYTES },
    (_request, body: string, done) => done(null, new URLSearchParams(body)),
  );
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof OAuthError) return sendError(reply, error);
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.warn({ err: error.message }, 'token endpoint failed');
      // A dependency (MongoDB) failed: retryable, like the SCIM api's 503.
      return sendError(
        reply,
        new OAuthError(
          503,
          'temporarily_unavailable',
          'The token service is temporarily unavailable; retry.',
          {
            'Retry-After': '5',
          },
        ),
      );
    }
    const description =
      status === 413
        ? `The token request is larger than ${TOKEN_REQUEST_MAX_BYTES} bytes.`
        : status === 415
          ? 'Send the token request as application/x-www-form-urlencoded.'
          : error.message;
    return sendError(reply, new OAuthError(400, 'invalid_request', description));
  });

  const outcome = (grant: string, result: string) => metrics.tokenRequests.inc({ grant, outcome: result });

  /** The organisation, if it may obtain a token by `grant`; else the refusal is counted and thrown. */
  function permitted(organisation: Organisation | null, grant: AccessGrant): Organisation {
    const refusal = refuseOrganisation(organisation, grant);
    if (refusal) {
      outcome(grant, refusal.code);
      throw refusal;
    }
    return organisation!;
  }

  /** The per-address failure budget is shared with the SCIM api's: a guesser gets nowhere on either path. */
  async function gate(request: FastifyRequest): Promise<void> {
    const decision = await addressLimiter.check(request.ip);
    if (!decision.allowed)
      throw new OAuthError(
        401,
        'invalid_client',
        `Too many failed authentications from this address; retry after ${decision.retryAfterSeconds} s.`,
        { 'Retry-After': String(decision.retryAfterSeconds) },
      );
  }

  /** Counts a failed authentication against the address, then the caller throws the error. */
  async function penalised(request: FastifyRequest, error: OAuthError): Promise<OAuthError> {
    await addressLimiter.failed(request.ip);
    return error;
  }

  app.post(TOKEN_ENDPOINT_PATH, async (request, reply) => {
    const params = formParameters(request.body);
    const grantType = params.get('grant_type');
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is required.');
    if (grantType !== 'client_credentials') {
      outcome('other', 'unsupported_grant_type');
      throw new OAuthError(400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
    }
    const basic = basicCredentials(request.headers.authorization);
    const assertionType = params.get('client_assertion_type');
    const assertion = params.get('client_assertion');
    const formSecret = params.get('client_secret');
    const methods = [
      basic !== null,
      formSecret !== undefined,
      assertion !== undefined || assertionType !== undefined,
    ];
    if (methods.filter(Boolean).length > 1)
      throw new OAuthError(400, 'invalid_request', 'Use exactly one client authentication method.');

    let organisation: Organisation;
    let clientId: string;
    let secretId: string | null = null;
    let grant: AccessGrant;
    if (assertion !== undefined || assertionType !== undefined) {
      grant = 'federation';
      if (assertionType !== JWT_BEARER_ASSERTION)
        throw new OAuthError(
          400,
          'invalid_request',
          `client_assertion_type must be ${JWT_BEARER_ASSERTION}.`,
        );
      if (!assertion) throw new OAuthError(400, 'invalid_request', 'client_assertion is required.');
      const named = params.get('client_id');
      if (!named)
        throw new OAuthError(400, 'invalid_request', 'client_id is required with a client assertion.');
      await gate(request);
      const client = await findClient(connection, named);
      if (!client) {
        outcome(grant, 'invalid_client');
        throw await penalised(request, new OAuthError(401, 'invalid_client', 'Unknown client_id.'));
      }
      organisation = permitted(await authenticator.organisation(client.orgId), grant);
      try {
        await verifier.verify(assertion, organisation.settings.authentication.federation!);
      } catch (error) {
        if (!(error instanceof FederationRefusal)) throw error;
        outcome(grant, error.reason === 'jwks-unavailable' ? 'jwks_unavailable' : 'invalid_client');
        if (error.reason === 'jwks-unavailable')
          // Not the client's fault: retryable, and no address penalty.
          throw new OAuthError(503, 'temporarily_unavailable', error.message, { 'Retry-After': '5' });
        throw await penalised(request, new OAuthError(401, 'invalid_client', error.message));
      }
      clientId = client._id;
    } else {
      grant = 'client_secret';
      const credentials =
        basic ??
        (params.get('client_id') !== undefined && formSecret !== undefined
          ? { clientId: params.get('client_id')!, secret: formSecret }
          : null);
      if (!credentials)
        throw new OAuthError(
          401,
          'invalid_client',
          'Authenticate the client with HTTP Basic, client_id + client_secret, or a client assertion.',
          basicChallenge,
        );
      const challenge = basic ? basicChallenge : {};
      if (basic && params.has('client_id') && params.get('client_id') !== basic.clientId)
        throw new OAuthError(400, 'invalid_request', 'client_id differs from the HTTP Basic client id.');
      await gate(request);
      const result = await authenticateClientSecret(connection, credentials.clientId, credentials.secret);
      if (!result.ok) {
        outcome(grant, 'invalid_client');
        const description =
          result.reason === 'expired-secret'
            ? 'The client secret has expired; use a newer one.'
            : 'The client id or secret is not valid. The secret may have been rotated or revoked.';
        const error = new OAuthError(401, 'invalid_client', description, challenge);
        // A malformed secret was refused offline: no lookup, nothing to count.
        throw result.reason === 'malformed-secret' ? error : await penalised(request, error);
      }
      organisation = permitted(await authenticator.organisation(result.client.orgId), grant);
      clientId = result.client._id;
      secretId = result.secretId;
    }
    const orgId = organisation.id;
    const lifetimeSeconds = organisation.settings.authentication.clientCredentials.accessTokenLifetimeSeconds;
    const issued = await issueAccessToken(connection, redis, {
      orgId,
      clientId,
      secretId,
      grant,
      lifetimeSeconds,
    });
    outcome(grant, 'issued');
    request.log.info({ orgId, clientId, grant, tokenId: issued.tokenId }, 'access token issued');
    const scope = params.get('scope');
    return send(reply, 200, {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: issued.expiresInSeconds,
      // The token grants the organisation's SCIM API, whatever scope was asked for (Entra sends "scim").
      ...(scope ? { scope } : {}),
    });
  });

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: TOKEN_ENDPOINT_PATH,
    handler: async (_request, reply) => {
      reply.header('Allow', 'POST');
      return send(reply, 405, { error: 'invalid_request', error_description: 'Use POST.' });
    },
  });
}
