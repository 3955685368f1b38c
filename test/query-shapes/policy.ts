import { AUDIT_DELIVERY_INDEXES } from '@scimbridge/audit-delivery';
import { STORE_INDEXES } from '@scimbridge/store';
import type { CollectionPolicy, DeclaredIndex, FilterShape, QueryShape } from '@scimbridge/telemetry';
import { TENANCY_INDEXES } from '@scimbridge/tenancy';

/** What production creates (the same lists `ensure*Indexes` iterate). */
export const DECLARED_INDEXES: readonly DeclaredIndex[] = [
  ...STORE_INDEXES,
  ...TENANCY_INDEXES,
  ...AUDIT_DELIVERY_INDEXES,
  // The resource type apps/scim-api/test/resource-types.test.ts adds through the recipe (docs/api.md), with the
  // indexes that test creates; keep the two in step.
  { collection: 'devices', key: { orgId: 1, serialNumberKey: 1 }, options: { unique: true } },
  { collection: 'devices', key: { 'outbox.at': 1 }, options: { sparse: true } },
];

/**
 * The shard key of the organisation-scoped collections (docs/mongodb.md "Sharding"): hashed `orgId`, so a query is
 * targeted when it pins `orgId` by equality. Its hashed index serves that equality only (no sort, no range), so
 * the checker assumes no index for it: every query must be served by a declared index or `_id`. (`tokens` and
 * `oauth_client_secrets` are sharded on their unique `hash` instead; their by-organisation queries, listings and
 * revocations, are the rare broadcast ones docs/mongodb.md names.)
 */
export const SHARD_KEY = { orgId: 'hashed' } as const;

const sharded = (residual: string[] = []): CollectionPolicy => ({
  orgField: 'orgId',
  residual,
});

/**
 * Per collection: the field that targets one shard and the fields a query may filter on after the index scan
 * (state flags that exclude few documents of the range the index bounds).
 */
export const COLLECTION_POLICIES: Readonly<Record<string, CollectionPolicy>> = {
  users: sharded(['scim.managed', 'scim.deletedAt']),
  groups: sharded(['deletedAt']),
  devices: sharded(['deletedAt']),
  memberships: sharded(),
  audit_events: sharded(),
  applied_effects: sharded(),
  // `kind`: a client's tokens are all access tokens; the filter restates it.
  tokens: sharded(['kind']),
  oauth_clients: sharded(),
  oauth_client_secrets: sharded(),
  pending_broadcasts: sharded(),
  audit_deliveries: sharded(),
  audit_dead_letters: sharded(),
  // One document per organisation, its `_id` the organisation id: small, unsharded, every query by `_id`.
  organisations: { orgField: '_id' },
  organisation_claims: { orgField: '_id' },
  // One document for the whole service (the SCIM event signing key set), read and written by `_id`; a rotation
  // is conditioned on the version it read.
  event_signing_keys: { orgField: '_id', residual: ['version'] },
};

/** A recorded shape the audit accepts although `checkShape` refuses it. */
export interface Allowed {
  collection?: string | string[];
  operation?: string | string[];
  /** The exact filter shape (keys in any order); absent: any filter. */
  filter?: FilterShape;
  sort?: [string, number][];
  service?: string;
  reason: string;
  /**
   * Narrows the entry to one kind of problem, so the index rules still hold for everything else: `untargeted`, the
   * one problem is the missing organisation (a scan across organisations that its own index serves); `regex` /
   * `presence`, the only unbounded predicates are patterns / `$exists`. Default: any problem of a matching shape.
   */
  only?: 'untargeted' | 'regex' | 'presence';
  /**
   * Read from the code, not from a recording: the path runs only in an in-process test the audit cannot record
   * (docs/query-shapes.md), so a whole run not matching it is not a stale entry. Says where it runs.
   */
  notRecorded?: string;
  /** Set for a shape that is genuinely not served on MongoDB: what index or query change fixes it (issue 15). */
  todo?: string;
}

const ADMIN = [
  'createIndexes',
  'listIndexes',
  'dropIndexes',
  'listCollections',
  'create',
  'drop',
  'dropDatabase',
  'buildInfo',
  'serverStatus',
  'getParameter',
  'collStats',
  'dbStats',
];

/** Scans across organisations by design (relays, retention), each bounded by its own index and a batch limit. */
const relay = (collection: string, filter: FilterShape, reason: string): Allowed => ({
  collection,
  operation: 'find',
  filter,
  only: 'untargeted',
  reason,
});

/** Lookups and writes by `_id` alone: served by `{_id: 1}`, one document, but scatter-gather on a sharded cluster. */
const byIdAlone = (
  collection: string | string[],
  operation: string[],
  todo: string,
  filter: FilterShape = { _id: 'eq' },
): Allowed => ({
  collection,
  operation,
  filter,
  only: 'untargeted',
  reason:
    'one document by primary key, but without `orgId` a cluster sharded by hashed `orgId` asks every shard',
  todo,
});

/** The SCIM resource collections (`devices`: the test's added resource type). */
const RESOURCES = ['users', 'groups', 'devices'];

const STORE_PROFILE_TODO =
  'the MongoDB store profile filters on `{orgId, _id}` (the `_id` index, targeted on the hashed `orgId` shard key); today `findInOrganisation` and the writes after it use `_id` alone, the one filter FerretDB v1 serves from an index (docs/testing.md)';

export const ALLOWED: readonly Allowed[] = [
  {
    operation: ADMIN,
    reason: 'admin command: index builds at start-up, test set-up and tear-down, server detection',
  },
  {
    collection: 'tokens',
    operation: 'find',
    filter: { hash: 'eq' },
    only: 'untargeted',
    reason:
      'authentication by token hash: the organisation is what it finds, so it cannot be in the filter; served by the unique `{hash: 1}` index (one document; one index probe per shard)',
  },
  {
    collection: 'oauth_client_secrets',
    operation: 'find',
    filter: { hash: 'eq' },
    only: 'untargeted',
    reason: 'client authentication by secret hash, like the token lookup: unique `{hash: 1}`, one document',
  },
  {
    collection: 'oauth_clients',
    operation: 'find',
    filter: { _id: 'eq' },
    only: 'untargeted',
    notRecorded:
      'the in-process token endpoint of apps/scim-api/test/oauth.test.ts is outside the per-request recording',
    reason:
      'the federation grant names its client (`findClient`): the client is how the organisation is found, so it cannot be in the filter; one document by `_id`',
  },
  relay(
    'users',
    { 'outbox.at': '$lte' },
    'outbox relay (`Outbox.relayOnce`): sparse `{outbox.at: 1}`, a batch per pass',
  ),
  relay(
    'groups',
    { 'outbox.at': '$lte' },
    'outbox relay (`Outbox.relayOnce`): sparse `{outbox.at: 1}`, a batch per pass',
  ),
  relay(
    'audit_events',
    { dispatchedAt: 'eq', occurredAt: '$lte' },
    'audit relay (scim-worker relay.ts): undispatched events older than the minimum age, `{dispatchedAt: 1, occurredAt: 1}`, a batch per pass',
  ),
  relay(
    'audit_events',
    { dispatchedAt: '$lt' },
    'retention (scim-worker retention.ts): `{dispatchedAt: 1, occurredAt: 1}`, a batch per pass',
  ),
  relay('applied_effects', { at: '$lt' }, 'retention of the effect ledger: `{at: 1}`, a batch per pass'),
  relay('audit_deliveries', { at: '$lt' }, 'retention of delivery records: `{at: 1}`, a batch per pass'),
  relay(
    'audit_dead_letters',
    { deadLetteredAt: '$lt' },
    'retention of dead letters: `{deadLetteredAt: 1}`, a batch per pass',
  ),
  relay(
    'pending_broadcasts',
    { createdAt: '$lt' },
    'broadcast relay (tenancy pending-broadcasts.ts): records older than a cut-off, oldest first, `{createdAt: 1}`, limited',
  ),
  {
    collection: RESOURCES,
    only: 'regex',
    reason:
      "SCIM `co`/`sw`/`ew` filters become `$regex` on the stored lower-cased keys: targeted (orgId) but a pattern bounds no index scan, so they read the organisation's documents up to the api's candidate cap",
    todo: 'serve `sw` as an anchored prefix (`^` + escaped value) on the lower-cased key, which MongoDB bounds on `{orgId, userNameKey}` (and the other key indexes); `co`/`ew` stay capped scans (or are refused)',
  },
  {
    collection: RESOURCES,
    only: 'presence',
    reason:
      'SCIM `pr` filters become `$exists`: targeted (orgId) and limited to a page, but no index bounds them; on a required attribute nearly every document matches, so the scan stops after a page, on a sparse one it reads the organisation',
    todo: 'refuse `pr` on attributes without an index, or declare sparse `{orgId, <attribute>}` indexes for the attributes IdPs filter with `pr`',
  },
  byIdAlone(RESOURCES, ['find', 'update', 'findAndModify', 'delete'], STORE_PROFILE_TODO),
  byIdAlone(
    RESOURCES,
    ['delete'],
    "the outbox's `document.delete` effect (libs/store outbox.ts) removes the document by `{_id, deletedAt: {$ne: null}}`: the entry knows the organisation, so add `orgId`",
    { _id: 'eq', deletedAt: '$ne' },
  ),
  {
    collection: 'users',
    operation: 'aggregate',
    filter: { active: '$ne', orgId: 'eq', 'scim.deletedAt': 'eq', 'scim.managed': 'eq' },
    reason:
      "the plan's user limit counts the organisation's active users before each create (scim-api resources/users.ts `addingActiveUser`): targeted, but it reads every SCIM-visible user of the organisation",
    todo: 'keep a per-organisation count of active users (updated with the outbox effects) or index `{orgId: 1, active: 1}` and count `active: {$in: [true, null]}`; only organisations with a user limit pay this today',
  },
  {
    collection: 'audit_dead_letters',
    operation: 'aggregate',
    filter: { status: 'eq' },
    reason:
      "the worker's `scim_audit_dead_letters` gauge (scim-worker metrics.ts) groups dead letters by sink on every scrape, across organisations",
    todo: 'declare `{status: 1, sink: 1}` on audit_dead_letters (the `$match` + `$group` is then covered by the index), or count at dead-letter/re-drive time instead of per scrape',
  },
  byIdAlone(
    'audit_events',
    ['find', 'update'],
    'the worker reads an event and marks it dispatched by `_id` alone (scim-worker audit/dispatch.ts, fan-out): its job and the relay both know the organisation, so filter `{orgId, _id}`',
  ),
  byIdAlone(
    'applied_effects',
    ['find'],
    'the effect ledger (libs/store effects.ts) checks `{_id: "<effect>:<eventId>"}`: add the event\'s `orgId` to the filter',
  ),
  byIdAlone(
    'audit_deliveries',
    ['find'],
    'delivery records are looked up by their key alone (scim-worker audit/dispatch.ts, processors/audit-delivery.ts): the job carries the organisation, so filter `{orgId, _id}`',
  ),
  {
    ...byIdAlone(
      'audit_dead_letters',
      ['find', 'update'],
      'dead letters are looked up and updated by their key alone (scim-worker processors/audit-delivery.ts): filter `{orgId, _id}`',
    ),
    notRecorded: 'dead-lettering runs in the in-process worker tests (apps/scim-worker/test)',
  },
  byIdAlone(
    'pending_broadcasts',
    ['delete'],
    'a relayed broadcast record is removed by `_id` alone (tenancy pending-broadcasts.ts): the record it read has `orgId`, so delete `{orgId, _id}`',
  ),
  byIdAlone(
    'tokens',
    ['update'],
    'the `lastUsedAt` flush (tenancy tokens/last-used.ts) updates by `_id` alone: remember the organisation with each use and filter `{orgId, _id}`',
  ),
];

export function canonical(filter: FilterShape | undefined): string {
  const sortDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortDeep);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return JSON.stringify(sortDeep(filter ?? {}));
}

const TARGETING = /no equality on \S+: not targeted/;
const PATTERN = /^(\$or branch \d+: )?regex on \S+ is not bounded/;
const PRESENCE = /^(\$or branch \d+: )?presence on \S+ is not bounded/;

export function allowance(shape: QueryShape, services: string[], problems: string[]): Allowed | undefined {
  return ALLOWED.find(
    (a) =>
      (a.only !== 'untargeted' || problems.every((p) => TARGETING.test(p))) &&
      (a.only !== 'regex' || problems.every((p) => PATTERN.test(p))) &&
      (a.only !== 'presence' || problems.every((p) => PRESENCE.test(p))) &&
      (a.collection === undefined ||
        (Array.isArray(a.collection)
          ? a.collection.includes(shape.collection)
          : a.collection === shape.collection)) &&
      (a.operation === undefined ||
        (Array.isArray(a.operation)
          ? a.operation.includes(shape.operation)
          : a.operation === shape.operation)) &&
      (a.filter === undefined || canonical(a.filter) === canonical(shape.filter)) &&
      (a.sort === undefined || JSON.stringify(a.sort) === JSON.stringify(shape.sort)) &&
      (a.service === undefined || services.includes(a.service)),
  );
}
