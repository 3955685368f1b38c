import { keyFieldName } from '@scimbridge/scim-core';
import type { Connection, mongo } from 'mongoose';
import type {
  AppliedEffectDocument,
  AuditEventDocument,
  GroupDocument,
  MembershipDocument,
  UserDocument,
} from './documents.js';
import { documentById, FERRETDB_PROFILE, type StoreProfile } from './profile.js';

export interface StoreCollections {
  users: mongo.Collection<UserDocument>;
  groups: mongo.Collection<GroupDocument>;
  memberships: mongo.Collection<MembershipDocument>;
  auditEvents: mongo.Collection<AuditEventDocument>;
  appliedEffects: mongo.Collection<AppliedEffectDocument>;
}

export function storeCollections(connection: Connection): StoreCollections {
  return {
    users: connection.collection<UserDocument>('users'),
    groups: connection.collection<GroupDocument>('groups'),
    memberships: connection.collection<MembershipDocument>('memberships'),
    auditEvents: connection.collection<AuditEventDocument>('audit_events'),
    appliedEffects: connection.collection<AppliedEffectDocument>('applied_effects'),
  };
}

/**
 * Every index starts with `orgId` (tenants never share an index range). Case-insensitive uniqueness rests on
 * stored lower-cased keys because the test server has no collation.
 */
export async function ensureStoreIndexes(connection: Connection): Promise<void> {
  const { users, groups, memberships, auditEvents, appliedEffects } = storeCollections(connection);
  await users.createIndex({ orgId: 1, [keyFieldName('userName')]: 1 }, { unique: true });
  await users.createIndex({ orgId: 1, externalId: 1 });
  await users.createIndex({ orgId: 1, [`emails.${keyFieldName('value')}`]: 1 });
  await groups.createIndex({ orgId: 1, [keyFieldName('displayName')]: 1 }, { unique: true });
  await groups.createIndex({ orgId: 1, externalId: 1 });
  await memberships.createIndex({ orgId: 1, groupId: 1, memberId: 1 });
  await memberships.createIndex({ orgId: 1, memberId: 1 });
  // The outbox relay's scan: documents with an entry older than its minimum age (docs/contracts.md "Outbox").
  await users.createIndex({ 'outbox.at': 1 }, { sparse: true });
  await groups.createIndex({ 'outbox.at': 1 }, { sparse: true });
  await auditEvents.createIndex({ dispatchedAt: 1, occurredAt: 1 });
  await auditEvents.createIndex({ orgId: 1, occurredAt: 1 });
  // Retention trims the ledger of applied side effects by date, like the events it refers to.
  await appliedEffects.createIndex({ at: 1 });
}

/**
 * A unique-index violation. MongoDB reports code 11000 for inserts and updates alike; FerretDB v1 does for
 * inserts, but an update that violates an index fails with its SQLite message and no such code.
 */
export function isDuplicateKey(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, writeErrors, message } = error as {
    code?: unknown;
    writeErrors?: { code?: unknown }[];
    message?: unknown;
  };
  return (
    code === 11000 ||
    (Array.isArray(writeErrors) && writeErrors.every((e) => e.code === 11000)) ||
    (typeof message === 'string' && /UNIQUE constraint failed/.test(message))
  );
}

/** SCIM sees an account iff it is SCIM-managed and not deleted by SCIM. */
export const SCIM_VISIBLE = { 'scim.managed': true, 'scim.deletedAt': null } as const;

/**
 * A document by id, only if it belongs to the organisation. The filter is the profile's (`documentById`): on
 * MongoDB `{orgId, _id}` (targeted on a cluster sharded by organisation, served by the `_id` index); on FerretDB
 * v1, and without a profile, `_id` alone with the organisation checked on the result, since that is the only
 * filter FerretDB v1 pushes down to SQL (`{ _id, orgId }` is filtered in FerretDB's Go code after reading every
 * row). Ids are UUIDs, unique across organisations, so the result is the same either way.
 */
export async function findInOrganisation<T extends { _id: string; orgId: string }>(
  collection: mongo.Collection<T>,
  id: string,
  orgId: string,
  profile: StoreProfile = FERRETDB_PROFILE,
): Promise<mongo.WithId<T> | null> {
  const doc = await collection.findOne(documentById(profile, orgId, id) as mongo.Filter<T>);
  return doc && doc.orgId === orgId ? doc : null;
}
