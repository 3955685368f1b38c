import type { Connection, mongo } from 'mongoose';
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

/** `tokens`: only the hash of a token is stored, never its plaintext. */
export interface TokenDocument {
  _id: string;
  orgId: string;
  hash: string;
  fingerprint: string;
  issuedAt: Date;
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
  pendingBroadcasts: mongo.Collection<PendingBroadcastDocument>;
}

export function tenancyCollections(connection: Connection): TenancyCollections {
  return {
    organisations: connection.collection<OrganisationDocument>('organisations'),
    tokens: connection.collection<TokenDocument>('tokens'),
    pendingBroadcasts: connection.collection<PendingBroadcastDocument>('pending_broadcasts'),
  };
}

/** Unique hashes make a token belong to exactly one organisation. */
export async function ensureTenancyIndexes(connection: Connection): Promise<void> {
  const { tokens } = tenancyCollections(connection);
  await tokens.createIndex({ hash: 1 }, { unique: true });
  await tokens.createIndex({ orgId: 1 });
  // The relay reads the outbox oldest first across organisations, like the audit relay's scan.
  await tenancyCollections(connection).pendingBroadcasts.createIndex({ createdAt: 1 });
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
