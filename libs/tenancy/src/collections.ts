import type { Connection, mongo } from 'mongoose';
import { REQUEST_LOG_INDEXES } from './request-log.js';
import type { OrganisationSettings } from './settings.js';

/** `organisations` (docs/contracts.md): `_id` is the organisation id. */
export interface OrganisationDocument {
  _id: string;
  displayName: string;
  settings: OrganisationSettings;
  deleting: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * `tokens`: only the hash of a token is stored, never its plaintext. Two kinds: the organisation's bearer token
 * (`kind` absent or `bearer`; `validUntil` set only on a rotated-away token in its grace period) and access tokens
 * from the token endpoint (`access`, always with `validUntil`, and the client and grant that obtained them).
 */
export interface TokenDocument {
  _id: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  issuedAt: Date;
  lastUsedAt: Date | null;
  kind?: TokenKind;
  /** Refused from this instant on; null/absent: until revoked. */
  validUntil?: Date | null;
  /** A revoked bearer token kept for attribution (tokens/records.ts `revoke`): when, and whether it was replaced. */
  revokedAt?: Date | null;
  replaced?: boolean;
  /** Access tokens: the OAuth client, the secret that authenticated it (null for federation), and the grant. */
  clientId?: string;
  secretId?: string | null;
  grant?: AccessGrant;
}

export type TokenKind = 'bearer' | 'access';
/** How an access token was obtained: a client secret (RFC 6749 §4.4) or a federated assertion (RFC 7523 §2.2). */
export type AccessGrant = 'client_secret' | 'federation';

/** `oauth_clients`: an organisation's OAuth client ids (no secret here; an id is not a credential). */
export interface OAuthClientDocument {
  _id: string;
  orgId: string;
  createdAt: Date;
  /** Who manages it: `scim-controller` for a ScimTenant's client, null for one made with scimctl. */
  managedBy: string | null;
}

/** `oauth_client_secrets`: one hashed secret of a client; a client may have several during a rotation. */
export interface ClientSecretDocument {
  _id: string;
  clientId: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  createdAt: Date;
  /** Refused from this instant on; null: until revoked. */
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

/** `pending_broadcasts`: the broadcast outbox, a message recorded until Redis took it (pending-broadcasts.ts). */
export interface PendingBroadcastDocument {
  _id: string;
  orgId: string;
  channel: string;
  /** The message as published (JSON text). */
  message: string;
  createdAt: Date;
}

export interface TenancyCollections {
  organisations: mongo.Collection<OrganisationDocument>;
  tokens: mongo.Collection<TokenDocument>;
  clients: mongo.Collection<OAuthClientDocument>;
  clientSecrets: mongo.Collection<ClientSecretDocument>;
  pendingBroadcasts: mongo.Collection<PendingBroadcastDocument>;
}

export function tenancyCollections(connection: Connection): TenancyCollections {
  return {
    organisations: connection.collection<OrganisationDocument>('organisations'),
    tokens: connection.collection<TokenDocument>('tokens'),
    clients: connection.collection<OAuthClientDocument>('oauth_clients'),
    clientSecrets: connection.collection<ClientSecretDocument>('oauth_client_secrets'),
    pendingBroadcasts: connection.collection<PendingBroadcastDocument>('pending_broadcasts'),
  };
}

/**
 * One declared index (the same shape as `@scimbridge/store`'s `IndexDeclaration`): `ensureTenancyIndexes` creates
 * exactly these and the query-shape audit (docs/query-shapes.md) checks recorded queries against them.
 */
export interface TenancyIndexDeclaration {
  collection: string;
  key: Record<string, 1 | -1>;
  /** `expireAfterSeconds`: a TTL index on MongoDB (FerretDB v1 keeps the documents; a retention pass trims). */
  options?: { unique?: boolean; sparse?: boolean; expireAfterSeconds?: number };
  /** Why the index exists (the query it serves), for docs/query-shapes.md. */
  serves?: string;
}

/** Unique hashes make a token belong to exactly one organisation. */
export const TENANCY_INDEXES: readonly TenancyIndexDeclaration[] = [
  {
    collection: 'tokens',
    key: { hash: 1 },
    options: { unique: true },
    serves: 'authentication by token hash',
  },
  // `issuedAt` after the organisation: the controller lists an organisation's tokens oldest first.
  { collection: 'tokens', key: { orgId: 1, issuedAt: 1 }, serves: "an organisation's tokens, oldest first" },
  // An organisation's access tokens of one client, oldest first (pruning at issue, revocation of a client).
  {
    collection: 'tokens',
    key: { orgId: 1, clientId: 1, issuedAt: 1 },
    serves: "a client's access tokens, oldest first",
  },
  {
    collection: 'oauth_clients',
    key: { orgId: 1, createdAt: 1 },
    serves: "an organisation's clients, oldest first",
  },
  {
    collection: 'oauth_client_secrets',
    key: { hash: 1 },
    options: { unique: true },
    serves: 'client authentication by secret hash',
  },
  { collection: 'oauth_client_secrets', key: { orgId: 1, clientId: 1 }, serves: "a client's secrets" },
  {
    collection: 'oauth_client_secrets',
    key: { orgId: 1, createdAt: 1 },
    serves: "an organisation's secrets, oldest first (the controller's status)",
  },
  // The relay reads the outbox oldest first across organisations, like the audit relay's scan.
  { collection: 'pending_broadcasts', key: { createdAt: 1 }, serves: 'the broadcast relay, oldest first' },
  ...REQUEST_LOG_INDEXES,
];

/**
 * Creates `TENANCY_INDEXES`; idempotent. A server without TTL indexes (FerretDB v1 answers NotImplemented) gets the
 * same key without `expireAfterSeconds`: the worker's retention pass trims there (docs/worker.md "Retention").
 */
export async function ensureTenancyIndexes(connection: Connection): Promise<void> {
  for (const { collection, key, options } of TENANCY_INDEXES) {
    try {
      await connection.collection(collection).createIndex(key, options ?? {});
    } catch (error) {
      if (!(options && 'expireAfterSeconds' in options && isNotImplemented(error))) throw error;
      const { expireAfterSeconds: _ttl, ...rest } = options;
      await connection.collection(collection).createIndex(key, rest);
    }
  }
}

function isNotImplemented(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 238;
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
