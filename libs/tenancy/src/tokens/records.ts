import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { recordTokenRevocation } from '../broadcast.js';
import { deliverBroadcast } from '../pending-broadcasts.js';
import {
  isDuplicateKey,
  tenancyCollections,
  type AccessGrant,
  type TokenDocument,
  type TokenKind,
} from '../collections.js';
import { hashToken, mintToken, tokenFingerprint, tokenShapeProblem } from './format.js';

/** A token as MongoDB knows it: never the plaintext. */
export interface TokenRecord {
  tokenId: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  issuedAt: Date;
  lastUsedAt: Date | null;
  kind: TokenKind;
  /** Refused from this instant on (an access token's expiry, a rotated-away token's grace); null: until revoked. */
  validUntil: Date | null;
  /** Access tokens only: the client and how the token was obtained. */
  clientId: string | null;
  grant: AccessGrant | null;
  /**
   * A revoked bearer token kept (until the organisation's next rotation) so that a request still presenting it is
   * attributed to its organisation: when, and whether a new token replaced it (regenerated) or none (revoked).
   */
  revokedAt: Date | null;
  replaced: boolean;
}

/** How a new bearer token replaces the previous ones. */
export interface ReplaceOptions {
  /** Keep the previous token(s) valid this long after the replacement (default 0: refused at once). */
  previousValidForMs?: number;
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
    kind: doc.kind ?? 'bearer',
    validUntil: doc.validUntil ?? null,
    clientId: doc.clientId ?? null,
    grant: doc.grant ?? null,
    revokedAt: doc.revokedAt ?? null,
    replaced: doc.replaced ?? false,
  };
}

/** Every bearer token of the organisation, current and in a grace period, oldest first. */
async function bearerTokens(connection: Connection, orgId: string): Promise<TokenRecord[]> {
  const docs = await tenancyCollections(connection)
    .tokens.find({ orgId, kind: { $ne: 'access' } })
    .sort({ issuedAt: 1 })
    .toArray();
  return docs.map(toRecord);
}

/** The organisation's current bearer token(s): not access tokens, not previous tokens in their grace period. */
export async function listTokens(connection: Connection, orgId: string): Promise<TokenRecord[]> {
  return (await bearerTokens(connection, orgId)).filter((t) => t.validUntil === null);
}

/** Rotated-away bearer tokens still valid (their grace period), soonest to end first. */
export async function previousTokens(
  connection: Connection,
  orgId: string,
  now = new Date(),
): Promise<TokenRecord[]> {
  return (await bearerTokens(connection, orgId))
    .filter((t) => t.validUntil !== null && t.validUntil > now)
    .sort((a, b) => a.validUntil!.getTime() - b.validUntil!.getTime());
}

export async function findTokenByHash(connection: Connection, hash: string): Promise<TokenRecord | null> {
  const doc = await tenancyCollections(connection).tokens.findOne({ hash });
  return doc ? toRecord(doc) : null;
}

/**
 * Mints a token and makes it the organisation's only valid one: the new hash is inserted first, then the
 * previous tokens are deleted and their ids broadcast, so every api replica refuses them at once.
 */
export async function issueToken(
  connection: Connection,
  redis: Redis,
  orgId: string,
  options: ReplaceOptions = {},
): Promise<IssuedToken> {
  const token = mintToken();
  const record = await replaceTokens(connection, redis, orgId, token, options);
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
  options: ReplaceOptions = {},
): Promise<TokenRecord> {
  const problem = tokenShapeProblem(token);
  if (problem) throw new WeakTokenError(problem);
  return replaceTokens(connection, redis, orgId, token, options);
}

/**
 * Leaves the organisation without a valid token. MongoDB decides: the tokens are gone before anything is published.
 * The revocation is recorded in the broadcast outbox first, so it is published even if Redis is down now (the api
 * replicas re-publish it) and a retry of a half-done revocation still publishes. Works without Redis.
 */
export async function revokeTokens(connection: Connection, redis: Redis, orgId: string): Promise<string[]> {
  const existing = (await bearerTokens(connection, orgId)).filter((t) => t.revokedAt === null);
  if (existing.length === 0) return [];
  const ids = existing.map((t) => t.tokenId);
  await revoke(connection, redis, orgId, ids, { replaced: false });
  return ids;
}

/**
 * Outbox record, delete (or mark), publish: the order that loses no revocation whatever fails in between. Bearer
 * tokens are marked (`revokedAt`, `validUntil` now) instead of deleted, so the api can tell the IdP that its token
 * was regenerated and attribute the refusal to the organisation (docs/api.md "Request log"); the next rotation
 * deletes them, so an organisation keeps at most one generation of revoked tokens.
 */
export async function revoke(
  connection: Connection,
  redis: Redis,
  orgId: string,
  tokenIds: string[],
  keep?: { replaced: boolean },
): Promise<void> {
  const pending = await recordTokenRevocation(connection, orgId, tokenIds);
  const { tokens } = tenancyCollections(connection);
  if (keep) {
    const now = new Date();
    await tokens.updateMany(
      { orgId, _id: { $in: tokenIds } },
      { $set: { revokedAt: now, validUntil: now, replaced: keep.replaced } },
    );
  } else await tokens.deleteMany({ orgId, _id: { $in: tokenIds } });
  await deliverBroadcast(connection, redis, pending);
}

async function replaceTokens(
  connection: Connection,
  redis: Redis,
  orgId: string,
  token: string,
  options: ReplaceOptions,
): Promise<TokenRecord> {
  const { tokens } = tenancyCollections(connection);
  const hash = hashToken(token);
  const now = new Date();
  const all = await bearerTokens(connection, orgId);
  // Previous tokens whose grace has ended are removed here (the authenticator already refuses them).
  const ended = all.filter((t) => t.validUntil !== null && t.validUntil <= now).map((t) => t.tokenId);
  if (ended.length > 0) await tokens.deleteMany({ orgId, _id: { $in: ended } });
  const before = all.filter((t) => !ended.includes(t.tokenId));
  let record = before.find((t) => t.hash === hash);
  if (record && record.validUntil !== null) {
    // Re-adopting a token in its grace period makes it current again.
    await tokens.updateOne({ _id: record.tokenId, orgId }, { $set: { validUntil: null } });
    record = { ...record, validUntil: null };
  }
  if (!record) {
    const doc: TokenDocument = {
      _id: randomUUID(),
      orgId,
      hash,
      fingerprint: tokenFingerprint(hash),
      issuedAt: now,
      lastUsedAt: null,
      kind: 'bearer',
      validUntil: null,
    };
    try {
      await tokens.insertOne(doc);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // A revoked token kept for attribution (by another organisation) does not hold its plaintext hostage.
      const holder = await tokens.findOne({ hash });
      if (!holder?.revokedAt) throw new TokenInUseError();
      await tokens.deleteOne({ orgId: holder.orgId, _id: holder._id });
      await tokens.insertOne(doc);
    }
    record = toRecord(doc);
  }
  const others = before.filter((t) => t.hash !== hash);
  const graceMs = options.previousValidForMs ?? 0;
  if (graceMs > 0) {
    // The current token(s) become previous ones, valid until the grace ends; one already in grace keeps its end
    // (a second rotation does not extend the first one's). Every replica re-reads them (the broadcast drops
    // its cached answer), then refuses each at its validUntil without another message.
    const current = others.filter((t) => t.validUntil === null).map((t) => t.tokenId);
    if (current.length > 0) {
      await tokens.updateMany(
        { orgId, _id: { $in: current } },
        { $set: { validUntil: new Date(now.getTime() + graceMs) } },
      );
      await deliverBroadcast(connection, redis, await recordTokenRevocation(connection, orgId, current));
    }
  } else if (others.length > 0) {
    await revoke(
      connection,
      redis,
      orgId,
      others.map((t) => t.tokenId),
      { replaced: true },
    );
  }
  return record;
}
