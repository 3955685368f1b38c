import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { recordTokenRevocation } from '../broadcast.js';
import { deliverBroadcast } from '../pending-broadcasts.js';
import { isDuplicateKey, tenancyCollections, type TokenDocument } from '../collections.js';
import { hashToken, mintToken, tokenFingerprint, tokenShapeProblem } from './format.js';

/** A token as MongoDB knows it: never the plaintext. */
export interface TokenRecord {
  tokenId: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  issuedAt: Date;
  lastUsedAt: Date | null;
}

/** A freshly minted token: `token` is the plaintext, to be shown once and stored nowhere by us. */
export interface IssuedToken extends TokenRecord {
  token: string;
}

/** A user-supplied token is already the token of another organisation (hashes are unique). */
export class TokenInUseError extends Error {
  constructor() {
    super('this token already belongs to another organisation');
    this.name = 'TokenInUseError';
  }
}

/** A user-supplied token the api would refuse by its shape alone (tokenShapeProblem), so it is not adopted. */
export class WeakTokenError extends Error {
  constructor(problem: string) {
    super(`a user-supplied token is not acceptable: ${problem}`);
    this.name = 'WeakTokenError';
  }
}

function toRecord(doc: TokenDocument): TokenRecord {
  return {
    tokenId: doc._id,
    orgId: doc.orgId,
    hash: doc.hash,
    fingerprint: doc.fingerprint,
    issuedAt: doc.issuedAt,
    lastUsedAt: doc.lastUsedAt ?? null,
  };
}

export async function listTokens(connection: Connection, orgId: string): Promise<TokenRecord[]> {
  const docs = await tenancyCollections(connection).tokens.find({ orgId }).sort({ issuedAt: 1 }).toArray();
  return docs.map(toRecord);
}

export async function findTokenByHash(connection: Connection, hash: string): Promise<TokenRecord | null> {
  const doc = await tenancyCollections(connection).tokens.findOne({ hash });
  return doc ? toRecord(doc) : null;
}

/**
 * Mints a token and makes it the organisation's only valid one: the new hash is inserted first, then the
 * previous tokens are deleted and their ids broadcast, so every api replica refuses them at once.
 */
export async function issueToken(connection: Connection, redis: Redis, orgId: string): Promise<IssuedToken> {
  const token = mintToken();
  const record = await replaceTokens(connection, redis, orgId, token);
  return { ...record, token };
}

/** Regenerate: the same operation as issuing; the name says what the caller means. */
export const rotateToken = issueToken;

/** Makes a user-supplied plaintext the organisation's only valid token (idempotent for the same plaintext). */
export async function adoptToken(
  connection: Connection,
  redis: Redis,
  orgId: string,
  token: string,
): Promise<TokenRecord> {
  const problem = tokenShapeProblem(token);
  if (problem) throw new WeakTokenError(problem);
  return replaceTokens(connection, redis, orgId, token);
}

/**
 * Leaves the organisation without a valid token. MongoDB decides: the tokens are gone before anything is published.
 * The revocation is recorded in the broadcast outbox first, so it is published even if Redis is down now (the api
 * replicas re-publish it) and a retry of a half-done revocation still publishes. Works without Redis.
 */
export async function revokeTokens(connection: Connection, redis: Redis, orgId: string): Promise<string[]> {
  const existing = await listTokens(connection, orgId);
  if (existing.length === 0) return [];
  const ids = existing.map((t) => t.tokenId);
  await revoke(connection, redis, orgId, ids);
  return ids;
}

/** Outbox record, delete, publish: the order that loses no revocation whatever fails in between. */
async function revoke(
  connection: Connection,
  redis: Redis,
  orgId: string,
  tokenIds: string[],
): Promise<void> {
  const pending = await recordTokenRevocation(connection, orgId, tokenIds);
  await tenancyCollections(connection).tokens.deleteMany({ orgId, _id: { $in: tokenIds } });
  await deliverBroadcast(connection, redis, pending);
}

async function replaceTokens(
  connection: Connection,
  redis: Redis,
  orgId: string,
  token: string,
): Promise<TokenRecord> {
  const { tokens } = tenancyCollections(connection);
  const hash = hashToken(token);
  const before = await listTokens(connection, orgId);
  let record = before.find((t) => t.hash === hash);
  if (!record) {
    const doc: TokenDocument = {
      _id: randomUUID(),
      orgId,
      hash,
      fingerprint: tokenFingerprint(hash),
      issuedAt: new Date(),
      lastUsedAt: null,
    };
    try {
      await tokens.insertOne(doc);
    } catch (error) {
      if (isDuplicateKey(error)) throw new TokenInUseError();
      throw error;
    }
    record = toRecord(doc);
  }
  const stale = before.filter((t) => t.hash !== hash).map((t) => t.tokenId);
  if (stale.length > 0) await revoke(connection, redis, orgId, stale);
  return record;
}
