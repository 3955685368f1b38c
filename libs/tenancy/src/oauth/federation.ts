import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { OrganisationSettings } from '../settings.js';

/** What an organisation trusts for workload identity federation (settings.authentication.federation). */
export type FederationTrust = NonNullable<OrganisationSettings['authentication']['federation']>;

/** Asymmetric signatures only: `none` and HMAC (a public key used as a shared secret) are never accepted. */
export const FEDERATION_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export interface FederationVerifierOptions {
  /** Bound on one JWKS fetch; a slow key server costs its own organisation this much, nobody else. Default 2 s. */
  fetchTimeoutMs?: number;
  /** A fetched key set is used this long before it is fetched again. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** After a fetch, an unknown `kid` triggers the next one no sooner than this. Default 30 s. */
  cooldownMs?: number;
  /** Clock skew accepted on `exp`/`nbf`/`iat`. Default 60 s. */
  clockToleranceSeconds?: number;
  /** An assertion's lifetime (`exp` − `iat`, or from now) may not exceed this. Default 1 day. */
  maxAssertionAgeSeconds?: number;
  /** Key sets cached at once (one per JWKS URL). Default 1,000. */
  maxKeySets?: number;
}

/** Why an assertion was refused; the token endpoint answers `invalid_client` for each, with this as description. */
export class FederationRefusal extends Error {
  constructor(
    readonly reason:
      'malformed' | 'bad-signature' | 'unknown-key' | 'claims' | 'expired' | 'algorithm' | 'jwks-unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'FederationRefusal';
  }
}

/**
 * Verifies RFC 7523 client assertions with jose: the key set of each JWKS URL is fetched with a bounded time,
 * cached, and refetched when an assertion names an unknown `kid` (at most once per cooldown), so an issuer's key
 * rotation is picked up without a restart.
 */
export class FederationVerifier {
  private readonly keySets: LRUCache<string, JWTVerifyGetKey>;
  private readonly o: Required<FederationVerifierOptions>;

  constructor(options: FederationVerifierOptions = {}) {
    this.o = {
      fetchTimeoutMs: options.fetchTimeoutMs ?? 2_000,
      cacheMaxAgeMs: options.cacheMaxAgeMs ?? 600_000,
      cooldownMs: options.cooldownMs ?? 30_000,
      clockToleranceSeconds: options.clockToleranceSeconds ?? 60,
      maxAssertionAgeSeconds: options.maxAssertionAgeSeconds ?? 86_400,
      maxKeySets: options.maxKeySets ?? 1_000,
    };
    this.keySets = new LRUCache({ max: this.o.maxKeySets });
  }

  private keySet(url: string): JWTVerifyGetKey {
    let set = this.keySets.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), {
        timeoutDuration: this.o.fetchTimeoutMs,
        cooldownDuration: this.o.cooldownMs,
        cacheMaxAge: this.o.cacheMaxAgeMs,
      });
      this.keySets.set(url, set);
    }
    return set;
  }

  /** The assertion's claims if it is signed by the trust's issuer and names its issuer, subject and audience. */
  async verify(assertion: string, trust: FederationTrust): Promise<{ subject: string; jti: string | null }> {
    try {
      const { payload } = await jwtVerify(assertion, this.keySet(trust.jwksUrl), {
        issuer: trust.issuer,
        subject: trust.subject,
        audience: trust.audience,
        algorithms: [...FEDERATION_ALGORITHMS],
        requiredClaims: ['exp', 'iss', 'sub', 'aud'],
        clockTolerance: this.o.clockToleranceSeconds,
        maxTokenAge: `${this.o.maxAssertionAgeSeconds}s`,
      });
      return { subject: payload.sub!, jti: typeof payload.jti === 'string' ? payload.jti : null };
    } catch (error) {
      throw refusal(error);
    }
  }
}

function refusal(error: unknown): FederationRefusal {
  if (error instanceof errors.JWTExpired)
    return new FederationRefusal('expired', 'the assertion has expired');
  if (error instanceof errors.JWTClaimValidationFailed)
    return new FederationRefusal(
      'claims',
      `the assertion's "${error.claim}" claim is not what this client trusts`,
    );
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new FederationRefusal(
      'algorithm',
      'the assertion is not signed with an allowed asymmetric algorithm',
    );
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return new FederationRefusal('unknown-key', "no key of the issuer's JWKS matches the assertion's kid");
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new FederationRefusal('bad-signature', 'the assertion signature does not verify');
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
    return new FederationRefusal('jwks-unavailable', "the issuer's JWKS could not be fetched in time");
  if (error instanceof errors.JOSEError)
    return new FederationRefusal('malformed', `the assertion is not acceptable (${error.code})`);
  // A network error from fetch (connection refused, DNS): the key server is unavailable.
  return new FederationRefusal('jwks-unavailable', "the issuer's JWKS could not be fetched");
}
