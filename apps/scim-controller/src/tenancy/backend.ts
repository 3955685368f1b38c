import type {
  AccessGrant,
  IssuedClientSecret,
  IssuedToken,
  OAuthClientRecord,
  OrganisationOwner,
  OrganisationSettings,
  PreviousSecrets,
  ReplaceOptions,
  RequestSummary,
  TokenRecord,
} from '@scimbridge/tenancy';

/**
 * What the reconciler needs from the tenancy layer. One implementation (backend adapter) wires it to
 * @scimbridge/tenancy, the single place tokens are minted, hashed and revoked; the settings, token and owner
 * types are tenancy's own.
 */
export interface TenantBackend {
  /** Claims the organisation for `owner` unless another owner holds it; returns the holder. */
  claim(orgId: string, owner: OrganisationOwner): Promise<OrganisationOwner>;
  /** The organisation's current owner, if any. */
  owner(orgId: string): Promise<OrganisationOwner | undefined>;
  /** Whether the organisation exists in MongoDB (settings or tokens), e.g. created by scimctl or left by a released claim. */
  organisationExists(orgId: string): Promise<boolean>;
  /** Drops `uid`'s claim (its ScimTenant is gone); another holder's claim stays. */
  releaseClaim(orgId: string, uid: string): Promise<void>;
  /** Creates or updates the organisation with these settings (idempotent). */
  applySettings(orgId: string, settings: OrganisationSettings): Promise<void>;
  /** Whether a group with this displayName exists in the organisation (case-insensitive, as SCIM). */
  groupExists(orgId: string, displayName: string): Promise<boolean>;
  /** The organisation's currently valid tokens. */
  tokens(orgId: string): Promise<TokenRecord[]>;
  /** Rotated-away tokens still in their grace period, soonest to end first. */
  previousTokens(orgId: string): Promise<TokenRecord[]>;
  /**
   * Mints a new token and makes it the only current one; the others are refused at once on every replica, or
   * after `previousValidForMs`.
   */
  issueToken(orgId: string, options?: ReplaceOptions): Promise<IssuedToken>;
  /** Makes the given plaintext (a user-supplied token) the only valid one; tenancy's TokenInUseError if another organisation has it. */
  adoptToken(orgId: string, token: string): Promise<TokenRecord>;
  /** Leaves the organisation without a valid token. */
  revokeTokens(orgId: string): Promise<void>;
  /** Stops provisioning for the organisation; its users and groups stay. */
  disable(orgId: string): Promise<void>;
  /** The organisation's OAuth clients with their live secrets, oldest first. */
  clients(orgId: string): Promise<OAuthClientRecord[]>;
  /** A new client managed by `managedBy`, with a first secret when `withSecret`. */
  createClient(
    orgId: string,
    options: { managedBy: string; withSecret: boolean },
  ): Promise<{ client: OAuthClientRecord; secret: IssuedClientSecret | null }>;
  /** Adds a secret to the client; the existing ones are dealt with as `previous` says. */
  rotateClientSecret(orgId: string, clientId: string, previous: PreviousSecrets): Promise<IssuedClientSecret>;
  /** Revokes every secret of the client (and the access tokens they obtained); the client stays. */
  revokeClientSecrets(orgId: string, clientId: string): Promise<number>;
  /** Removes the client, its secrets and its access tokens. */
  revokeClient(orgId: string, clientId: string): Promise<boolean>;
  /** Revokes the organisation's access tokens obtained by `grant`; how many. */
  revokeAccessTokens(orgId: string, grant: AccessGrant): Promise<number>;
  /** Whether `secret` is a live (unexpired) secret of the client: a lookup by hash, recording no use. */
  clientSecretLive(orgId: string, clientId: string, secret: string): Promise<boolean>;
  counts(orgId: string): Promise<{ users: number; groups: number }>;
  /** The request log's summary of the last hour (bounded reads), for `status.requests`. */
  requestSummary(orgId: string): Promise<RequestSummary>;
  /** sha256 hex of a token, as stored. */
  hashToken(token: string): string;
  /** Why a user-supplied token is not acceptable (e.g. too short to be secret), or undefined. */
  tokenProblem(token: string): string | undefined;
}

/** MongoDB (or Redis) could not be reached; the reconcile is retried with backoff. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly dependency: 'MongoDB' | 'Redis',
    cause: unknown,
  ) {
    super(`${dependency} unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'BackendUnavailableError';
  }
}
