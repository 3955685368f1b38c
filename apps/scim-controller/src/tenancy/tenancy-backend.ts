import {
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
  tokenShapeProblem,
  type IssuedToken,
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

  issueToken(orgId: string): Promise<IssuedToken> {
    return this.call(() => issueToken(this.connection, this.redis, orgId));
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

  hashToken(token: string): string {
    return hashToken(token);
  }

  tokenProblem(token: string): string | undefined {
    return tokenShapeProblem(token);
  }
}
