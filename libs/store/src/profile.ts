// The per-server store profile: what the MongoDB-wire server behind MONGODB_URI can be relied on for, decided once
// at connect time and passed down. This is the only module that knows which server it is (docs/mongodb.md);
// everything else asks the profile a question (`elemMatch`, `documentById`, …).
import { keyFieldName } from '@scimbridge/scim-core';
import type { Connection } from 'mongoose';

export type StoreServer = 'mongodb' | 'ferretdb';

/** `STORE_PROFILE`: `auto` detects the server with `buildInfo`; the others force a profile (operators' override). */
export type StoreProfileSetting = 'auto' | StoreServer;

export const STORE_PROFILE_SETTINGS = [
  'auto',
  'mongodb',
  'ferretdb',
] as const satisfies readonly StoreProfileSetting[];

export interface StoreProfile {
  readonly server: StoreServer;
  /** Exact value filters with `$elemMatch` (`emails[type eq "work" and value co "@x"]`). */
  readonly elemMatch: boolean;
  /** Single-document read-modify-write (`$inc`, `$addToSet`, compare-and-set on a version) is atomic. */
  readonly atomicReadModifyWrite: boolean;
  /** Filters other than exactly `{_id}` are served from the declared (compound) indexes. */
  readonly secondaryIndexes: boolean;
  /**
   * A top-level `$or` is served branch by branch from each branch's index (MongoDB). Without it (FerretDB v1
   * pushes no `$or` to its backend, so the query reads the whole organisation), callers send one query per branch.
   */
  readonly orBranches: boolean;
  /**
   * An equality on a nested field of an array (`emails.valueKey`) is served from an index (MongoDB's multikey
   * index). Without it (FerretDB v1 pushes no nested field down to its backend, so the query reads the whole
   * organisation) the store keeps a top-level copy of the field (`flatKeyField`), which it pushes down.
   */
  readonly nestedEquality: boolean;
  /** One line for people: what this server is good for. */
  readonly note: string;
  /** How the profile was chosen: detected from `buildInfo`, or forced by `STORE_PROFILE`. */
  readonly source: 'buildInfo' | 'override' | 'default';
  /** The server's version as `buildInfo` reports it (FerretDB: its own version), when detected. */
  readonly version?: string;
}

/** MongoDB 7+: indexes, `$elemMatch` and atomic single-document updates; queries carry the organisation id. */
export const MONGODB_PROFILE: StoreProfile = Object.freeze({
  server: 'mongodb',
  elemMatch: true,
  atomicReadModifyWrite: true,
  secondaryIndexes: true,
  orBranches: true,
  nestedEquality: true,
  note: 'MongoDB: compound indexes, $elemMatch and atomic single-document writes; every query carries the organisation id',
  source: 'default',
});

/**
 * FerretDB v1, the embedded test and demo server (docs/testing.md "Known limits of the test server"): over SQLite
 * only a filter of exactly `{_id}` is served from an index, over PostgreSQL top-level equalities (through the GIN
 * twins of scripts/postgres/ferretdb-gin.sql); `$elemMatch` is missing, nested fields are never pushed down, and
 * updates are read-modify-write without isolation.
 */
export const FERRETDB_PROFILE: StoreProfile = Object.freeze({
  server: 'ferretdb',
  elemMatch: false,
  atomicReadModifyWrite: false,
  secondaryIndexes: false,
  orBranches: false,
  nestedEquality: false,
  note: 'embedded FerretDB v1 is for evaluation: no secondary indexes (only top-level equalities are index look-ups, and over SQLite only _id; ranges, counts and nested fields scan), no atomic read-modify-write, single api replica',
  source: 'default',
});

const PROFILES: Record<StoreServer, StoreProfile> = { mongodb: MONGODB_PROFILE, ferretdb: FERRETDB_PROFILE };

/** The fields of `buildInfo` that decide the server. */
export interface BuildInfo {
  version?: unknown;
  ferretdbVersion?: unknown;
  ferretdbFeatures?: unknown;
  [field: string]: unknown;
}

/**
 * The server from a `buildInfo` answer. FerretDB answers with MongoDB's version numbers (v1.24: "7.0.42") and adds
 * `ferretdbVersion` and `ferretdbFeatures`; MongoDB has neither.
 */
export function serverFromBuildInfo(info: BuildInfo): StoreServer {
  return 'ferretdbVersion' in info || 'ferretdbFeatures' in info ? 'ferretdb' : 'mongodb';
}

/** The profile of a server as `buildInfo` describes it. */
export function profileFromBuildInfo(info: BuildInfo): StoreProfile {
  const server = serverFromBuildInfo(info);
  const version = server === 'ferretdb' ? info.ferretdbVersion : info.version;
  return Object.freeze({
    ...PROFILES[server],
    source: 'buildInfo' as const,
    ...(typeof version === 'string' && version !== 'unknown' ? { version } : {}),
  });
}

/** The profile named by an override (`STORE_PROFILE=mongodb|ferretdb`). */
export function profileFor(server: StoreServer): StoreProfile {
  return Object.freeze({ ...PROFILES[server], source: 'override' as const });
}

/**
 * Decides the profile once, at connect time: `auto` (the default) asks the server's `buildInfo`; `mongodb` or
 * `ferretdb` force it without asking (an operator's override, e.g. a proxy that hides the server).
 */
export async function detectStoreProfile(
  connection: Connection,
  setting: StoreProfileSetting = 'auto',
): Promise<StoreProfile> {
  if (setting !== 'auto') return profileFor(setting);
  const db = connection.db;
  if (!db) throw new Error('detectStoreProfile: the connection is not open');
  const info = (await db.admin().command({ buildInfo: 1 })) as BuildInfo;
  return profileFromBuildInfo(info);
}

/** What `/readyz` and the startup log say about the store. */
export function describeStoreProfile(profile: StoreProfile): {
  server: StoreServer;
  source: StoreProfile['source'];
  version?: string;
  note: string;
} {
  return {
    server: profile.server,
    source: profile.source,
    ...(profile.version === undefined ? {} : { version: profile.version }),
    note: profile.note,
  };
}

/**
 * The filter of one document by id in an organisation. On MongoDB the organisation id comes first, so the query is
 * targeted on a cluster sharded by organisation (docs/mongodb.md) and served by `_id`'s index all the same. On
 * FerretDB v1 only a filter of exactly `{_id}` is served from an index (`{_id, orgId}` reads every row), so the
 * filter is `_id` alone and the caller checks the organisation on the result (ids are UUIDs, unique across
 * organisations, so the answer is the same).
 */
export function documentById(
  profile: StoreProfile,
  orgId: string,
  id: string,
): { _id: string; orgId?: string } {
  return profile.server === 'mongodb' ? { orgId, _id: id } : { _id: id };
}

/**
 * The filter of one credential record (`tokens`) by id, for the writes after authentication (`lastUsedAt`).
 * `tokens` is sharded on its unique `hash` (docs/mongodb.md "Sharding"), not on the organisation, so on MongoDB
 * the filter carries the hash: targeted on the shard key and served by the unique `{hash: 1}` index (or `_id`'s),
 * where `{orgId, _id}` would still ask every shard. On FerretDB v1 `_id` alone, the one filter it serves from an
 * index.
 */
export function credentialById(
  profile: StoreProfile,
  id: string,
  hash: string,
): { _id: string; hash?: string } {
  return profile.server === 'mongodb' ? { hash, _id: id } : { _id: id };
}

/**
 * Top-level copies of nested key fields, per collection, for servers without `nestedEquality`: on FerretDB v1 a
 * user's email keys are also stored as `emailKeys: [...]`, a top-level field its backend filters on (and, on
 * PostgreSQL, serves from an index: scripts/postgres/ferretdb-gin.sql). MongoDB stores and queries only the
 * nested field, from its multikey index.
 */
const FLAT_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  users: { [`emails.${keyFieldName('value')}`]: 'emailKeys' },
};

/** The field to filter on for a nested key field: itself on MongoDB, its top-level copy on FerretDB v1. */
export function flatKeyField(profile: StoreProfile, collection: string, field: string): string {
  if (profile.nestedEquality) return field;
  return FLAT_KEYS[collection]?.[field] ?? field;
}

/**
 * `doc` with its top-level key copies for this profile (none on MongoDB), as every write of a whole document in
 * `collection` stores it (ResourceRepository's insert and replace, createAccount).
 */
export function withFlatKeys<D extends object>(profile: StoreProfile, collection: string, doc: D): D {
  const flat = FLAT_KEYS[collection];
  if (profile.nestedEquality || !flat) return doc;
  const copies: Record<string, unknown[]> = {};
  for (const [nested, top] of Object.entries(flat)) {
    const [array, field] = nested.split('.') as [string, string];
    const items = (doc as Record<string, unknown>)[array];
    copies[top] = Array.isArray(items)
      ? [
          ...new Set(
            items
              .map((item) => (item as Record<string, unknown> | null)?.[field])
              .filter((v): v is string => typeof v === 'string'),
          ),
        ]
      : [];
  }
  return { ...doc, ...copies };
}

/** The top-level key copies this profile stores (none on MongoDB): collection, nested field, its copy. */
export function flatKeyCopies(profile: StoreProfile): { collection: string; nested: string; copy: string }[] {
  if (profile.nestedEquality) return [];
  return Object.entries(FLAT_KEYS).flatMap(([collection, flat]) =>
    Object.entries(flat).map(([nested, copy]) => ({ collection, nested, copy })),
  );
}
