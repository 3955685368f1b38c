import { keyFieldName } from '@scimbridge/scim-core';
import type { Connection, mongo } from 'mongoose';
import type {
  AppliedEffectDocument,
  AuditEventDocument,
  GroupDocument,
  MembershipDocument,
  UserDocument,
} from './documents.js';
import { documentById, FERRETDB_PROFILE, flatKeyCopies, type StoreProfile } from './profile.js';

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
 * One declared index: the collection's name, the key spec and its options. `ensure*Indexes` create exactly these,
 * and the query-shape audit (docs/query-shapes.md) checks every recorded query against the same lists, so a
 * query's index and the index production builds cannot drift apart.
 */
export interface IndexDeclaration {
  collection: string;
  key: Record<string, 1 | -1>;
  options?: { unique?: boolean; sparse?: boolean };
  /** Why the index exists (the query it serves), for docs/query-shapes.md. */
  serves?: string;
}

/**
 * The paging indexes of a resource collection: its documents in `_id` order, and in its unique key's order with
 * the `_id` tie-break (the unique `{orgId, <key>}` index cannot give that second key).
 */
function pagingIndexes(collection: string, uniqueAttribute: string): IndexDeclaration[] {
  return [
    {
      collection,
      key: { orgId: 1, _id: 1 },
      serves: `an organisation's ${collection} in id order (list pages, cursors)`,
    },
    {
      collection,
      key: { orgId: 1, [keyFieldName(uniqueAttribute)]: 1, _id: 1 },
      serves: `list pages sorted by ${uniqueAttribute}, then \`_id\``,
    },
  ];
}

/**
 * The store's indexes. Every organisation-scoped index starts with `orgId` (tenants never share an index range).
 * Case-insensitive uniqueness rests on stored lower-cased keys because the test server has no collation.
 */
export const STORE_INDEXES: readonly IndexDeclaration[] = [
  {
    collection: 'users',
    key: { orgId: 1, [keyFieldName('userName')]: 1 },
    options: { unique: true },
    serves: 'userName lookups and uniqueness',
  },
  // `_id` last in each lookup index: list pages are in `_id` order (or the sort key's, then `_id`), so the index
  // gives the order after its equalities and MongoDB needs no in-memory sort (equality, sort, range).
  ...pagingIndexes('users', 'userName'),
  { collection: 'users', key: { orgId: 1, externalId: 1, _id: 1 }, serves: 'externalId lookups' },
  // The plan's user limit counts an organisation's active users before a create, at most up to the limit.
  { collection: 'users', key: { orgId: 1, active: 1 }, serves: "the plan's user-limit count" },
  {
    collection: 'users',
    key: { orgId: 1, [`emails.${keyFieldName('value')}`]: 1, _id: 1 },
    serves: 'email lookups',
  },
  {
    collection: 'groups',
    key: { orgId: 1, [keyFieldName('displayName')]: 1 },
    options: { unique: true },
    serves: 'displayName lookups and uniqueness',
  },
  ...pagingIndexes('groups', 'displayName'),
  { collection: 'groups', key: { orgId: 1, externalId: 1, _id: 1 }, serves: 'externalId lookups' },
  {
    collection: 'memberships',
    key: { orgId: 1, groupId: 1, memberId: 1 },
    serves: "a group's members",
  },
  { collection: 'memberships', key: { orgId: 1, memberId: 1 }, serves: "a member's groups" },
  // The outbox relay's scan: documents with an entry older than its minimum age (docs/contracts.md "Outbox").
  {
    collection: 'users',
    key: { 'outbox.at': 1 },
    options: { sparse: true },
    serves: 'the outbox relay scan',
  },
  {
    collection: 'groups',
    key: { 'outbox.at': 1 },
    options: { sparse: true },
    serves: 'the outbox relay scan',
  },
  {
    collection: 'audit_events',
    key: { dispatchedAt: 1, occurredAt: 1, _id: 1 },
    serves: "the audit relay's scan of undispatched events, oldest first",
  },
  {
    collection: 'audit_events',
    key: { orgId: 1, occurredAt: 1 },
    serves: "an organisation's events by date",
  },
  // The drift report's scan of one organisation's undispatched events, oldest first (docs/operations.md "Drift"):
  // the relay's index above has no orgId, so it cannot serve a targeted query.
  {
    collection: 'audit_events',
    key: { orgId: 1, dispatchedAt: 1, occurredAt: 1, _id: 1 },
    serves: "an organisation's undispatched events, oldest first (drift report)",
  },
  // Retention trims the ledger of applied side effects by date, like the events it refers to.
  { collection: 'applied_effects', key: { at: 1 }, serves: 'retention by date' },
];

/** Creates `STORE_INDEXES`; idempotent. */
/** The indexes a profile needs besides STORE_INDEXES: on FerretDB v1, `{orgId, <copy>}` for each key copy. */
export function profileIndexes(profile: StoreProfile): IndexDeclaration[] {
  return flatKeyCopies(profile).map(({ collection, nested, copy }) => ({
    collection,
    key: { orgId: 1, [copy]: 1 },
    serves: `${nested} lookups on the FerretDB profile (its top-level copy)`,
  }));
}

export async function ensureStoreIndexes(
  connection: Connection,
  /** The server's profile: FerretDB v1 also gets the indexes of its flat key copies (`profileIndexes`). */
  profile: StoreProfile = FERRETDB_PROFILE,
): Promise<void> {
  for (const { collection, key, options } of [...STORE_INDEXES, ...profileIndexes(profile)]) {
    await connection.collection(collection).createIndex(key, options ?? {});
  }
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
