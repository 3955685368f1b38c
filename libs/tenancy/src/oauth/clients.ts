import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import {
  tenancyCollections,
  type AccessGrant,
  type ClientSecretDocument,
  type OAuthClientDocument,
  type TokenDocument,
} from '../collections.js';
import {
  CLIENT_SECRET_PREFIX,
  hashToken,
  mintIdentifier,
  mintToken,
  tokenFingerprint,
  verifyTokenFormat,
} from '../tokens/format.js';
import { revoke } from '../tokens/records.js';

// OAuth 2.0 clients of an organisation (docs/contracts.md "Credentials"): a client id, its hashed secrets (several
// during a rotation) and the access tokens the token endpoint issued to it. Access tokens live in `tokens` beside
// the bearer tokens, so the api authenticates both the same way and a revocation reaches every replica the same way.

export const CLIENT_ID_PREFIX = 'scimc_';
/** Access tokens alive at once per client; issuing one more removes the oldest (an IdP asks about once an hour). */
export const MAX_ACTIVE_ACCESS_TOKENS = 20;
/** Secrets per client at once (current plus those of rotations in their grace period). */
export const MAX_CLIENT_SECRETS = 10;

/** A secret as status and `scimctl client list` show it: never the hash or the plaintext. */
export interface ClientSecretRecord {
  secretId: string;
  clientId: string;
  fingerprint: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export interface IssuedClientSecret extends ClientSecretRecord {
  /** The plaintext, to be shown once and stored nowhere by us. */
  secret: string;
}

export interface OAuthClientRecord {
  clientId: string;
  orgId: string;
  createdAt: Date;
  managedBy: string | null;
  /** Secrets not yet expired, oldest first. */
  secrets: ClientSecretRecord[];
}

/** What happens to a client's existing secrets when a new one is added. */
export type PreviousSecrets =
  /** Revoked at once, with the access tokens they obtained (the default; like regenerating a token). */
  | { revoke: true }
  /** Kept valid this much longer (ms), then refused; their access tokens run out by their own expiry. */
  | { validForMs: number }
  /** Kept as they are: several active secrets, each revoked on its own later. */
  | { keep: true };

export class ClientNotFoundError extends Error {
  constructor(clientId: string) {
    super(`no OAuth client ${clientId} in this organisation`);
    this.name = 'ClientNotFoundError';
  }
}

export class TooManySecretsError extends Error {
  constructor() {
    super(`a client holds at most ${MAX_CLIENT_SECRETS} secrets; revoke one first`);
    this.name = 'TooManySecretsError';
  }
}

function secretRecord(doc: ClientSecretDocument): ClientSecretRecord {
  return {
    secretId: doc._id,
    clientId: doc.clientId,
    fingerprint: doc.fingerprint,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt ?? null,
    lastUsedAt: doc.lastUsedAt ?? null,
  };
}

const live = (doc: { expiresAt: Date | null }, now: Date) => doc.expiresAt === null || doc.expiresAt > now;

/** The organisation's clients with their live secrets, oldest first. */
export async function listClients(connection: Connection, orgId: string): Promise<OAuthClientRecord[]> {
  const { clients, clientSecrets } = tenancyCollections(connection);
  const now = new Date();
  const [docs, secrets] = await Promise.all([
    clients.find({ orgId }).sort({ createdAt: 1 }).toArray(),
    clientSecrets.find({ orgId }).sort({ createdAt: 1 }).toArray(),
  ]);
  return docs.map((doc) => clientRecord(doc, secrets, now));
}

function clientRecord(
  doc: OAuthClientDocument,
  secrets: ClientSecretDocument[],
  now: Date,
): OAuthClientRecord {
  return {
    clientId: doc._id,
    orgId: doc.orgId,
    createdAt: doc.createdAt,
    managedBy: doc.managedBy ?? null,
    secrets: secrets.filter((s) => s.clientId === doc._id && live(s, now)).map(secretRecord),
  };
}

export async function getClient(
  connection: Connection,
  orgId: string,
  clientId: string,
): Promise<OAuthClientRecord | null> {
  const { clients, clientSecrets } = tenancyCollections(connection);
  const doc = await clients.findOne({ _id: clientId, orgId });
  if (!doc) return null;
  const secrets = await clientSecrets.find({ orgId, clientId }).sort({ createdAt: 1 }).toArray();
  return clientRecord(doc, secrets, new Date());
}

/**
 * A new client of the organisation, with a first secret unless `withSecret` is false (a client used only with
 * workload identity federation needs no secret).
 */
export async function createClient(
  connection: Connection,
  orgId: string,
  options: { managedBy?: string | null; withSecret?: boolean; secretExpiresAt?: Date | null } = {},
): Promise<{ client: OAuthClientRecord; secret: IssuedClientSecret | null }> {
  const doc: OAuthClientDocument = {
    _id: mintIdentifier(CLIENT_ID_PREFIX),
    orgId,
    createdAt: new Date(),
    managedBy: options.managedBy ?? null,
  };
  await tenancyCollections(connection).clients.insertOne(doc);
  const secret =
    options.withSecret === false
      ? null
      : await insertSecret(connection, orgId, doc._id, options.secretExpiresAt ?? null);
  return { client: clientRecord(doc, [], new Date()), secret };
}

async function insertSecret(
  connection: Connection,
  orgId: string,
  clientId: string,
  expiresAt: Date | null,
): Promise<IssuedClientSecret> {
  const secret = mintToken(CLIENT_SECRET_PREFIX);
  const hash = hashToken(secret);
  const doc: ClientSecretDocument = {
    _id: randomUUID(),
    clientId,
    orgId,
    hash,
    fingerprint: tokenFingerprint(hash),
    createdAt: new Date(),
    expiresAt,
    lastUsedAt: null,
  };
  await tenancyCollections(connection).clientSecrets.insertOne(doc);
  return { ...secretRecord(doc), secret };
}

/**
 * Adds a secret to the client (a rotation) and deals with the existing ones as `previous` says. The new secret
 * is stored before any old one is touched, so a failure in between leaves the client with more secrets, never none.
 */
export async function rotateClientSecret(
  connection: Connection,
  redis: Redis,
  orgId: string,
  clientId: string,
  options: { previous?: PreviousSecrets; expiresAt?: Date | null } = {},
): Promise<IssuedClientSecret> {
  const { clients, clientSecrets } = tenancyCollections(connection);
  if (!(await clients.findOne({ _id: clientId, orgId }))) throw new ClientNotFoundError(clientId);
  const now = new Date();
  // Expired secrets are removed here; they are refused already.
  const existing = await clientSecrets.find({ orgId, clientId }).toArray();
  const expired = existing.filter((s) => !live(s, now)).map((s) => s._id);
  if (expired.length > 0) await clientSecrets.deleteMany({ orgId, clientId, _id: { $in: expired } });
  const current = existing.filter((s) => live(s, now));
  const previous = options.previous ?? { revoke: true };
  if ('keep' in previous && current.length >= MAX_CLIENT_SECRETS) throw new TooManySecretsError();
  const issued = await insertSecret(connection, orgId, clientId, options.expiresAt ?? null);
  if (current.length === 0 || 'keep' in previous) return issued;
  if ('validForMs' in previous && previous.validForMs > 0) {
    const until = new Date(now.getTime() + previous.validForMs);
    for (const s of current) {
      if (s.expiresAt !== null && s.expiresAt <= until) continue;
      await clientSecrets.updateOne({ _id: s._id, orgId }, { $set: { expiresAt: until } });
    }
    return issued;
  }
  await revokeSecrets(
    connection,
    redis,
    orgId,
    clientId,
    current.map((s) => s._id),
  );
  return issued;
}

/**
 * Revokes one secret (by id or fingerprint): refused by the token endpoint at once, and the access tokens it
 * obtained are revoked like a bearer token (every replica refuses them within the broadcast bound). False if the
 * client has no such secret.
 */
export async function revokeClientSecret(
  connection: Connection,
  redis: Redis,
  orgId: string,
  clientId: string,
  secret: string,
): Promise<boolean> {
  const docs = await tenancyCollections(connection).clientSecrets.find({ orgId, clientId }).toArray();
  const match = docs.find((d) => d._id === secret || d.fingerprint === secret);
  if (!match) return false;
  await revokeSecrets(connection, redis, orgId, clientId, [match._id]);
  return true;
}

async function revokeSecrets(
  connection: Connection,
  redis: Redis,
  orgId: string,
  clientId: string,
  secretIds: string[],
): Promise<void> {
  const { clientSecrets, tokens } = tenancyCollections(connection);
  await clientSecrets.deleteMany({ orgId, clientId, _id: { $in: secretIds } });
  const issued = await tokens.find({ orgId, clientId, kind: 'access' }).toArray();
  const ids = issued.filter((t) => t.secretId && secretIds.includes(t.secretId)).map((t) => t._id);
  if (ids.length > 0) await revoke(connection, redis, orgId, ids);
}

/** Removes the client, its secrets and every access token it holds. False if the organisation has no such client. */
export async function revokeClient(
  connection: Connection,
  redis: Redis,
  orgId: string,
  clientId: string,
): Promise<boolean> {
  const { clients, clientSecrets, tokens } = tenancyCollections(connection);
  const found = await clients.findOne({ _id: clientId, orgId });
  if (!found) return false;
  // Secrets first: from here on the token endpoint refuses the client, then its issued tokens go.
  await clientSecrets.deleteMany({ orgId, clientId });
  await clients.deleteOne({ _id: clientId, orgId });
  const issued = await tokens.find({ orgId, clientId, kind: 'access' }).toArray();
  if (issued.length > 0)
    await revoke(
      connection,
      redis,
      orgId,
      issued.map((t) => t._id),
    );
  return true;
}

/** Why the token endpoint refused client authentication (RFC 6749 §5.2 `invalid_client` in every case). */
export type ClientRefusal = 'malformed-secret' | 'unknown-client' | 'wrong-secret' | 'expired-secret';

export type ClientAuthentication =
  { ok: true; client: OAuthClientDocument; secretId: string | null } | { ok: false; reason: ClientRefusal };

/**
 * Checks a client id and secret: one lookup by the secret's hash (a secret is unique, like a token), then the
 * client it belongs to. A secret of another client is `wrong-secret`, as is a secret that does not exist.
 */
export async function authenticateClientSecret(
  connection: Connection,
  clientId: string,
  secret: string,
): Promise<ClientAuthentication> {
  if (!verifyTokenFormat(secret, CLIENT_SECRET_PREFIX)) return { ok: false, reason: 'malformed-secret' };
  const { clients, clientSecrets } = tenancyCollections(connection);
  const doc = await clientSecrets.findOne({ hash: hashToken(secret) });
  if (!doc || doc.clientId !== clientId) return { ok: false, reason: 'wrong-secret' };
  if (!live(doc, new Date())) return { ok: false, reason: 'expired-secret' };
  const client = await clients.findOne({ _id: clientId, orgId: doc.orgId });
  if (!client) return { ok: false, reason: 'unknown-client' };
  await clientSecrets.updateOne({ _id: doc._id, orgId: doc.orgId }, { $set: { lastUsedAt: new Date() } });
  return { ok: true, client, secretId: doc._id };
}

/** A client by id alone (the federation grant names its client; the assertion then proves it). */
export function findClient(connection: Connection, clientId: string): Promise<OAuthClientDocument | null> {
  return tenancyCollections(connection).clients.findOne({ _id: clientId });
}

export interface IssuedAccessToken {
  token: string;
  tokenId: string;
  expiresAt: Date;
  expiresInSeconds: number;
}

/**
 * Mints an access token for the client: stored hashed in `tokens` with its expiry, so the api accepts it like a
 * bearer token until `validUntil`. At most MAX_ACTIVE_ACCESS_TOKENS per client are alive: expired ones are
 * removed, and beyond the bound the oldest is revoked (the cost of a client that asks in a loop stays bounded).
 */
export async function issueAccessToken(
  connection: Connection,
  redis: Redis,
  input: {
    orgId: string;
    clientId: string;
    secretId: string | null;
    grant: AccessGrant;
    lifetimeSeconds: number;
  },
): Promise<IssuedAccessToken> {
  const { tokens } = tenancyCollections(connection);
  const now = new Date();
  const { orgId, clientId } = input;
  const held = await tokens.find({ orgId, clientId, kind: 'access' }).sort({ issuedAt: 1 }).toArray();
  const expired = held.filter((t) => t.validUntil && t.validUntil <= now).map((t) => t._id);
  if (expired.length > 0) await tokens.deleteMany({ orgId, _id: { $in: expired } });
  const alive = held.filter((t) => !expired.includes(t._id));
  const excess = alive.slice(0, Math.max(0, alive.length - (MAX_ACTIVE_ACCESS_TOKENS - 1))).map((t) => t._id);
  if (excess.length > 0) await revoke(connection, redis, orgId, excess);
  const token = mintToken();
  const hash = hashToken(token);
  const expiresAt = new Date(now.getTime() + input.lifetimeSeconds * 1000);
  const doc: TokenDocument = {
    _id: randomUUID(),
    orgId,
    hash,
    fingerprint: tokenFingerprint(hash),
    issuedAt: now,
    lastUsedAt: null,
    kind: 'access',
    validUntil: expiresAt,
    clientId,
    secretId: input.secretId,
    grant: input.grant,
  };
  await tokens.insertOne(doc);
  return { token, tokenId: doc._id, expiresAt, expiresInSeconds: input.lifetimeSeconds };
}

/** Revokes every access token of the organisation obtained by `grant` (a mode turned off). */
export async function revokeAccessTokens(
  connection: Connection,
  redis: Redis,
  orgId: string,
  grant?: AccessGrant,
): Promise<number> {
  const issued = await tenancyCollections(connection).tokens.find({ orgId, kind: 'access' }).toArray();
  const ids = issued.filter((t) => !grant || t.grant === grant).map((t) => t._id);
  if (ids.length > 0) await revoke(connection, redis, orgId, ids);
  return ids.length;
}
