import {
  createClient,
  listClients,
  previousTokens,
  revokeAccessTokens,
  revokeClient,
  revokeClientSecret,
  rotateClientSecret,
  tenancyCollections,
  type AccessGrant,
  type IssuedClientSecret,
  type OAuthClientRecord,
  type PreviousSecrets,
  type ReplaceOptions,
  adoptToken,
  applyOrganisation,
  claimOrganisation,
  countUsersAndGroups,
  disableOrganisation,
  ensureTenancyIndexes,
  getOrganisation,
  groupExists,
  hashToken,
  issueToken,
  listTokens,
  organisationOwner,
  releaseOrganisationClaim,
  revokeTokens,
  summariseRequests,
  tokenShapeProblem,
  type IssuedToken,
  type RequestSummary,
  type OrganisationOwner,
  type OrganisationSettings,
  type TokenRecord,
} from '@scimbridge/tenancy';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { BackendUnavailableError, type TenantBackend } from './backend.js';

const CONNECTIVITY =
  /MongoServerSelectionError|MongoNetworkError|MongoNotConnectedError|MongoNetworkTimeoutError|MongoTopologyClosedError|PoolClearedError/;

/** The controller's TenantBackend on @scimbridge/tenancy: the one way tokens are minted, stored and revoked. */
export class TenancyBackend implements TenantBackend {
  constructor(
    private readonly connection: Connection,
    private readonly redis: Redis,
  ) {}

  /** The unique index on token hashes; idempotent. */
  async ensureIndexes(): Promise<void> {
    await this.call(() => ensureTenancyIndexes(this.connection));
  }

  /**
   * MongoDB connectivity failures become BackendUnavailableError (→ Ready=False MongoUnreachable). Redis never fails
   * a call: broadcasts go through the tenancy outbox, so a rotation with Redis down still reaches the Secret.
   */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (CONNECTIVITY.test((error as { name?: string }).name ?? ''))
        throw new BackendUnavailableError('MongoDB', error);
      throw error;
    }
  }

  claim(orgId: string, owner: OrganisationOwner): Promise<OrganisationOwner> {
    return this.call(() => claimOrganisation(this.connection, orgId, owner));
  }

  owner(orgId: string): Promise<OrganisationOwner | undefined> {
    return this.call(() => organisationOwner(this.connection, orgId));
  }

  organisationExists(orgId: string): Promise<boolean> {
    return this.call(
      async () =>
        (await getOrganisation(this.connection, orgId)) !== null ||
        (await listTokens(this.connection, orgId)).length > 0,
    );
  }

  async releaseClaim(orgId: string, uid: string): Promise<void> {
    await this.call(() => releaseOrganisationClaim(this.connection, orgId, uid));
  }

  async applySettings(orgId: string, settings: OrganisationSettings): Promise<void> {
    await this.call(() => applyOrganisation(this.connection, orgId, settings, this.redis));
  }

  groupExists(orgId: string, displayName: string): Promise<boolean> {
    return this.call(() => groupExists(this.connection, orgId, displayName));
  }

  tokens(orgId: string): Promise<TokenRecord[]> {
    return this.call(() => listTokens(this.connection, orgId));
  }

  previousTokens(orgId: string): Promise<TokenRecord[]> {
    return this.call(() => previousTokens(this.connection, orgId));
  }

  issueToken(orgId: string, options: ReplaceOptions = {}): Promise<IssuedToken> {
    return this.call(() => issueToken(this.connection, this.redis, orgId, options));
  }

  clients(orgId: string): Promise<OAuthClientRecord[]> {
    return this.call(() => listClients(this.connection, orgId));
  }

  createClient(
    orgId: string,
    options: { managedBy: string; withSecret: boolean },
  ): Promise<{ client: OAuthClientRecord; secret: IssuedClientSecret | null }> {
    return this.call(() => createClient(this.connection, orgId, options));
  }

  rotateClientSecret(
    orgId: string,
    clientId: string,
    previous: PreviousSecrets,
  ): Promise<IssuedClientSecret> {
    return this.call(() => rotateClientSecret(this.connection, this.redis, orgId, clientId, { previous }));
  }

  revokeClientSecrets(orgId: string, clientId: string): Promise<number> {
    return this.call(async () => {
      const secrets = await tenancyCollections(this.connection)
        .clientSecrets.find({ orgId, clientId })
        .toArray();
      for (const s of secrets) await revokeClientSecret(this.connection, this.redis, orgId, clientId, s._id);
      return secrets.length;
    });
  }

  revokeClient(orgId: string, clientId: string): Promise<boolean> {
    return this.call(() => revokeClient(this.connection, this.redis, orgId, clientId));
  }

  revokeAccessTokens(orgId: string, grant: AccessGrant): Promise<number> {
    return this.call(() => revokeAccessTokens(this.connection, this.redis, orgId, grant));
  }

  /** By hash, like authenticateClientSecret, but without recording a use (the controller is not a client). */
  clientSecretLive(orgId: string, clientId: string, secret: string): Promise<boolean> {
    return this.call(async () => {
      const doc = await tenancyCollections(this.connection).clientSecrets.findOne({
        orgId,
        clientId,
        hash: hashToken(secret),
      });
      return doc !== null && (!doc.expiresAt || doc.expiresAt > new Date());
    });
  }

  adoptToken(orgId: string, token: string): Promise<TokenRecord> {
    return this.call(() => adoptToken(this.connection, this.redis, orgId, token));
  }

  async revokeTokens(orgId: string): Promise<void> {
    await this.call(() => revokeTokens(this.connection, this.redis, orgId));
  }

  disable(orgId: string): Promise<void> {
    return this.call(() => disableOrganisation(this.connection, orgId, this.redis));
  }

  counts(orgId: string): Promise<{ users: number; groups: number }> {
    return this.call(() => countUsersAndGroups(this.connection, orgId));
  }

  requestSummary(orgId: string): Promise<RequestSummary> {
    return this.call(() => summariseRequests(this.connection, orgId));
  }

  hashToken(token: string): string {
    return hashToken(token);
  }

  tokenProblem(token: string): string | undefined {
    return tokenShapeProblem(token);
  }
}
