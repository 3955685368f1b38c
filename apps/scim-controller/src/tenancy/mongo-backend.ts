import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { keyFieldName, normaliseKey } from '@scimbridge/scim-core';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import {
  BackendUnavailableError,
  TokenInUseError,
  type IssuedToken,
  type OrganisationSettings,
  type TenantBackend,
  type TokenRecord,
} from './backend.js';

// Token format and storage per docs/contracts.md "Tokens"; the adapter to swap for @scimbridge/tenancy.
const PREFIX = 'scimb_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 43; // 32 bytes in base62
const CHECKSUM_CHARS = 6;
export const REVOCATION_CHANNEL = 'scimbridge:tokens:revoked';

function base62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)]! + out;
    rest /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(random: string): string {
  return base62(BigInt(crc32(random)), CHECKSUM_CHARS);
}

interface TokenDoc {
  _id: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  issuedAt: Date;
  lastUsedAt: Date | null;
}

interface OrganisationDoc {
  _id: string;
  displayName: string;
  settings: OrganisationSettings;
  deleting: boolean;
  createdAt: Date;
  updatedAt: Date;
}

function isConnectivityError(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return /MongoServerSelectionError|MongoNetworkError|MongoNotConnectedError|MongoNetworkTimeoutError|MongoTopologyClosedError|PoolClearedError/.test(
    name,
  );
}

export class MongoTenantBackend implements TenantBackend {
  constructor(
    private readonly connection: Connection,
    private readonly redis: Redis,
  ) {}

  private get organisations() {
    return this.connection.collection<OrganisationDoc>('organisations');
  }

  private get tokenDocs() {
    return this.connection.collection<TokenDoc>('tokens');
  }

  private async mongo<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isConnectivityError(error)) throw new BackendUnavailableError('MongoDB', error);
      throw error;
    }
  }

  hashToken(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }

  isWellFormedToken(token: string): boolean {
    if (!token.startsWith(PREFIX) || token.length !== PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS)
      return false;
    const body = token.slice(PREFIX.length);
    if (![...body].every((c) => ALPHABET.includes(c))) return false;
    const random = body.slice(0, RANDOM_CHARS);
    return body.slice(RANDOM_CHARS) === checksum(random);
  }

  async applySettings(orgId: string, settings: OrganisationSettings): Promise<void> {
    const now = new Date();
    await this.mongo(() =>
      this.organisations.updateOne(
        { _id: orgId },
        {
          $set: { displayName: settings.displayName, settings, deleting: false, updatedAt: now },
          $setOnInsert: { createdAt: now },
        },
        { upsert: true },
      ),
    );
  }

  async groupExists(orgId: string, displayName: string): Promise<boolean> {
    const filter = { orgId, [keyFieldName('displayName')]: normaliseKey(displayName) };
    return this.mongo(async () => (await this.connection.collection('groups').findOne(filter)) !== null);
  }

  async tokens(orgId: string): Promise<TokenRecord[]> {
    const docs = await this.mongo(() => this.tokenDocs.find({ orgId }).toArray());
    return docs.map((d) => ({
      tokenId: d._id,
      hash: d.hash,
      fingerprint: d.fingerprint,
      issuedAt: d.issuedAt,
    }));
  }

  async issueToken(orgId: string): Promise<IssuedToken> {
    const random = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), RANDOM_CHARS);
    const token = `${PREFIX}${random}${checksum(random)}`;
    const record = await this.replaceTokens(orgId, token);
    return { ...record, token };
  }

  async adoptToken(orgId: string, token: string): Promise<TokenRecord> {
    return this.replaceTokens(orgId, token);
  }

  async revokeTokens(orgId: string): Promise<void> {
    const existing = await this.tokens(orgId);
    if (existing.length === 0) return;
    await this.mongo(() =>
      this.tokenDocs.deleteMany({ orgId, _id: { $in: existing.map((t) => t.tokenId) } }),
    );
    await this.broadcastRevocation(
      orgId,
      existing.map((t) => t.tokenId),
    );
  }

  async disable(orgId: string): Promise<void> {
    await this.mongo(() =>
      this.organisations.updateOne(
        { _id: orgId },
        { $set: { 'settings.enabled': false, updatedAt: new Date() } },
      ),
    );
  }

  async counts(orgId: string): Promise<{ users: number; groups: number }> {
    return this.mongo(async () => {
      const [users, groups] = await Promise.all([
        this.connection
          .collection('users')
          .countDocuments({ orgId, 'scim.managed': true, 'scim.deletedAt': null }),
        this.connection.collection('groups').countDocuments({ orgId }),
      ]);
      return { users, groups };
    });
  }

  /** Insert the new hash first (unique index on hash), then delete and broadcast the others. */
  private async replaceTokens(orgId: string, token: string): Promise<TokenRecord> {
    const hash = this.hashToken(token);
    const before = await this.tokens(orgId);
    let record = before.find((t) => t.hash === hash);
    if (!record) {
      if (await this.mongo(() => this.tokenDocs.findOne({ hash }))) throw new TokenInUseError();
      record = { tokenId: randomUUID(), hash, fingerprint: hash.slice(0, 8), issuedAt: new Date() };
      const doc: TokenDoc = {
        _id: record.tokenId,
        orgId,
        hash,
        fingerprint: record.fingerprint,
        issuedAt: record.issuedAt,
        lastUsedAt: null,
      };
      await this.mongo(() => this.tokenDocs.insertOne(doc));
    }
    const stale = before.filter((t) => t.hash !== hash).map((t) => t.tokenId);
    if (stale.length > 0) {
      await this.mongo(() => this.tokenDocs.deleteMany({ orgId, _id: { $in: stale } }));
      await this.broadcastRevocation(orgId, stale);
    }
    return record;
  }

  private async broadcastRevocation(orgId: string, tokenIds: string[]): Promise<void> {
    try {
      await this.redis.publish(REVOCATION_CHANNEL, JSON.stringify({ orgId, tokenIds }));
    } catch (error) {
      throw new BackendUnavailableError('Redis', error);
    }
  }
}
