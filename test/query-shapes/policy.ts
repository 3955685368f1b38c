import { AUDIT_DELIVERY_INDEXES } from '@scimbridge/audit-delivery';
import { FERRETDB_PROFILE, STORE_INDEXES, profileIndexes } from '@scimbridge/store';
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
  { collection: 'devices', key: { orgId: 1, _id: 1 } },
  { collection: 'devices', key: { 'outbox.at': 1 }, options: { sparse: true } },
];

/**
 * What the FerretDB profile creates besides (`profileIndexes`: the indexes of its top-level key copies, such as
 * `emailKeys`). They serve only shapes sent under the FerretDB profile alone; a MongoDB-profile shape is checked
 * against DECLARED_INDEXES, so a key copy leaking into a MongoDB query fails the audit.
 */
export const FERRETDB_PROFILE_INDEXES: readonly DeclaredIndex[] = [
  ...DECLARED_INDEXES,
  ...profileIndexes(FERRETDB_PROFILE),
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
  // `kind`: a client's tokens are all access tokens; the filter restates it. Sharded on its unique `hash` (see
  // SHARD_KEY): `shardKey` is what the MongoDB counterpart of a FerretDB-profile write by `_id` adds (`mongodbCounterparts`).
  tokens: { ...sharded(['kind']), shardKey: { hash: 1 } },
  oauth_clients: sharded(),
  oauth_client_secrets: sharded(),
  // Transient revocation-broadcast records, a handful at a time: unsharded (docs/mongodb.md "Commands"), so a
  // query by `_id` alone or the relay's `{createdAt}` scan is one shard's; no organisation to target.
  pending_broadcasts: { orgField: null },
  audit_deliveries: sharded(),
  audit_dead_letters: sharded(),
  // `status`, `kind`, `outcome`: `scimctl log --status` and the status summary filter the `{orgId, at}` range.
  request_logs: sharded(['status', 'kind', 'outcome']),
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
   * `presence`, the only unbounded predicates are patterns / `$exists`; `sort`, the one problem is an in-memory sort
   * after an index range. Default: any problem of a matching shape.
   */
  only?: 'untargeted' | 'regex' | 'presence' | 'sort';
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

/** The SCIM resource collections (`devices`: the test's added resource type). */
const RESOURCES = ['users', 'groups', 'devices'];

export const ALLOWED: readonly Allowed[] = [
  {
    collection: ['users', 'groups', 'audit_deliveries', 'audit_dead_letters'],
    operation: ['find', 'update'],
    filter: { _id: 'eq' },
    only: 'untargeted',
    service: 'drift report (test)',
    reason:
      'the drift report and its repair under the FerretDB profile look documents up by `_id` alone, one at a time (FerretDB serves no `$in`); under the MongoDB profile the same look-ups are one `{orgId, _id: {$in}}` per batch, which libs/audit-delivery/test/drift.test.ts also runs and this audit checks',
  },
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
      'authentication by token hash: the organisation is what it finds, so it cannot be in the filter; served by the unique `{hash: 1}` index and targeted on the `tokens` shard key `{hash: 1}` (docs/mongodb.md), which the checker, counting only `orgId`, does not see',
  },
  {
    collection: 'tokens',
    operation: 'update',
    filter: { _id: 'eq', hash: 'eq' },
    only: 'untargeted',
    reason:
      'the `lastUsedAt` flush on the MongoDB profile (`credentialById`, libs/store profile.ts): `{hash, _id}`, targeted on the `tokens` shard key `{hash: 1}` and one document by `_id`; `{orgId, _id}` would ask every shard of a collection sharded by hash',
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
  {
    collection: 'audit_dead_letters',
    operation: 'aggregate',
    filter: { status: 'eq' },
    only: 'untargeted',
    reason:
      "the worker's `scim_audit_dead_letters` gauge (scim-worker metrics.ts) counts dead letters by sink on every scrape, across organisations: a range of `{status: 1, sink: 1}`, covered by it (no document is read), over the dead letters waiting for an operator",
  },
  {
    ...relay(
      'request_logs',
      { expiresAt: '$lt' },
      'retention of the request log (scim-worker retention.ts; a TTL index does it on MongoDB): `{expiresAt: 1}`, a batch per pass',
    ),
    notRecorded:
      'the retention pass runs in apps/scim-worker/test/retention.test.ts, whose connection is not recorded',
  },
  relay(
    'pending_broadcasts',
    { createdAt: '$lt' },
    'broadcast relay (tenancy pending-broadcasts.ts): records older than a cut-off, oldest first, `{createdAt: 1}`, limited',
  ),
  {
    collection: RESOURCES,
    only: 'regex',
    reason:
      "SCIM `co` and `ew` filters (and, without a stored key, case-insensitive ones) become unanchored or case-insensitive `$regex`: targeted (orgId) but a pattern bounds no index scan, so they read the organisation's documents, bounded by the page and the api's candidate cap. `sw` on a keyed attribute is an anchored, escaped, case-sensitive prefix on the lower-cased key (`$regex:prefix`): an index range, checked like any other",
  },
  // `sw` pages in `_id` order like every list (RFC 7644 leaves the order to the server; cursors need `_id`).
  ...(
    [
      ['users', { orgId: 'eq', 'scim.deletedAt': 'eq', 'scim.managed': 'eq', userNameKey: '$regex:prefix' }],
      ['devices', { deletedAt: 'eq', orgId: 'eq', serialNumberKey: '$regex:prefix' }],
    ] as const
  ).map(([collection, filter]): Allowed => ({
    collection,
    operation: 'find',
    filter,
    sort: [['_id', 1]],
    only: 'sort',
    reason:
      "`sw` on a keyed attribute: MongoDB bounds the prefix by the key's index range and sorts the matches in memory by `_id` (a top-k sort of skip + count, within its 100 MB sort limit); a prefix that matches most of an organisation costs about a scan of it. No IdP in docs/scim-interop sends `sw`",
    todo: 'sort a pure prefix filter by its key, then `_id` (served by `{orgId, userNameKey, _id}`), when no sortBy is given and no cursor is asked for',
  })),
  {
    collection: RESOURCES,
    only: 'presence',
    reason:
      'SCIM `pr` filters become `$exists`: targeted (orgId) and limited to a page, but no index bounds them. Kept (not refused, no sparse indexes): `pr` is a core operator of RFC 7644 that conformance checkers exercise, and no IdP in docs/scim-interop filters with it, so a sparse index per attribute would cost every write for traffic that does not come (docs/query-shapes.md "Decisions")',
  },
];

/**
 * What a shape the FerretDB profile sent stands for on MongoDB. The store profile's `documentById` (libs/store
 * profile.ts) filters one document of an organisation by `_id` alone on FerretDB v1 — the one filter it serves from
 * an index — and by `{orgId, _id}` on MongoDB (`credentialById`: `{hash, _id}` on `tokens`, sharded on `hash`). So a
 * FerretDB-profile shape by `_id` whose only problem is targeting is accepted when the run also recorded, under the
 * MongoDB profile, the same shape with the targeting field added (`orgField`, or the collection's own `shardKey`),
 * and that shape passes. A query that drops the organisation on both profiles has no such counterpart and fails.
 */
export function mongodbCounterparts(shape: QueryShape): QueryShape[] {
  const policy = COLLECTION_POLICIES[shape.collection];
  const filter = shape.filter;
  if (!policy?.orgField || !filter || filter._id !== 'eq') return [];
  return [policy.orgField, ...Object.keys(policy.shardKey ?? {})]
    .filter((field) => !(field in filter))
    .map((field) => ({
      ...shape,
      filter: Object.fromEntries(
        Object.entries({ ...filter, [field]: 'eq' }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
    }));
}

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
const IN_MEMORY_SORT = /^(\$or branch \d+: )?sort \{.*\} is not served by .* \(in-memory sort\)$/;

export function allowance(shape: QueryShape, services: string[], problems: string[]): Allowed | undefined {
  return ALLOWED.find(
    (a) =>
      (a.only !== 'untargeted' || problems.every((p) => TARGETING.test(p))) &&
      (a.only !== 'regex' || problems.every((p) => PATTERN.test(p))) &&
      (a.only !== 'presence' || problems.every((p) => PRESENCE.test(p))) &&
      (a.only !== 'sort' || problems.every((p) => IN_MEMORY_SORT.test(p))) &&
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
