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

export interface TenancyCollections {
  organisations: mongo.Collection<OrganisationDocument>;
  tokens: mongo.Collection<TokenDocument>;
}

export function tenancyCollections(connection: Connection): TenancyCollections {
  return {
    organisations: connection.collection<OrganisationDocument>('organisations'),
    tokens: connection.collection<TokenDocument>('tokens'),
  };
}

/** Unique hashes make a token belong to exactly one organisation. */
export async function ensureTenancyIndexes(connection: Connection): Promise<void> {
  const { tokens } = tenancyCollections(connection);
  await tokens.createIndex({ hash: 1 }, { unique: true });
  await tokens.createIndex({ orgId: 1 });
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
