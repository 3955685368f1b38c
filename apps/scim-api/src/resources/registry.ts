import {
  fromStored,
  projectResource,
  type ResourceType,
  type SchemaRegistry,
  type ScimResource,
} from '@scimbridge/scim-core';
import {
  MembershipRepository,
  ResourceRepository,
  storeCollections,
  type GroupDocument,
  type Outbox,
  type ResourceDocument,
  type StoreProfile,
  type UserDocument,
} from '@scimbridge/store';
import type { Connection } from 'mongoose';
import type { ScimContext } from '../http/context.js';
import { GroupPolicy } from './groups.js';
import {
  BasePolicy,
  Lifecycle,
  storedDocument,
  type Computed,
  type LifecycleDeps,
  type PlannedWrite,
  type ResourcePolicy,
} from './lifecycle.js';
import type { Projection, ScimOutcome } from './outcome.js';
import type { UserLimitLock } from './user-limit.js';
import { UserPolicy } from './users.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routes hold lifecycles of every document kind
export type AnyLifecycle = Lifecycle<any>;

/** What a policy gets to build itself: the api's shared parts and its own repository. */
export interface PolicyContext<D extends ResourceDocument> {
  type: ResourceType;
  repository: ResourceRepository<D>;
  connection: Connection;
}

/**
 * A resource kind the api serves: a resource type of the schema registry, the collection its documents live in,
 * and its policy. The api's routes, `/.search` and `/Bulk` are built from this list.
 */
export interface ResourceKind<D extends ResourceDocument = ResourceDocument> {
  /** The resource type's id in the schema registry (`User`, `Group`, …). */
  resourceType: string;
  collection: string;
  policy(context: PolicyContext<D>): ResourcePolicy<D>;
}

/** Users and Groups, the kinds every deployment serves. */
export function builtInKinds(userLimit: UserLimitLock): ResourceKind[] {
  const users: ResourceKind<UserDocument> = {
    resourceType: 'User',
    collection: 'users',
    policy: ({ type, repository, connection }) =>
      new UserPolicy({
        type,
        repository,
        collections: storeCollections(connection),
        memberships: new MembershipRepository(connection),
        userLimit,
      }),
  };
  const groups: ResourceKind<GroupDocument> = {
    resourceType: 'Group',
    collection: 'groups',
    policy: ({ type, repository, connection }) =>
      new GroupPolicy({
        type,
        repository,
        collections: storeCollections(connection),
        memberships: new MembershipRepository(connection),
      }),
  };
  return [users, groups] as ResourceKind[];
}

/** One lifecycle per kind, in order, each over its collection, the shared outbox and the server's store profile. */
export function buildLifecycles(
  registry: SchemaRegistry,
  kinds: readonly ResourceKind[],
  connection: Connection,
  outbox: Outbox,
  deps: LifecycleDeps,
  profile: StoreProfile,
): AnyLifecycle[] {
  return kinds.map((kind) => {
    const type = registry.resourceType(kind.resourceType);
    const repository = new ResourceRepository<ResourceDocument>(
      kind.collection,
      connection.collection<ResourceDocument>(kind.collection),
      outbox,
      undefined,
      profile,
    );
    return new Lifecycle(kind.policy({ type, repository, connection }), deps);
  });
}

/**
 * The policy of a kind with nothing special: every attribute in its document, visible until deleted, unique by
 * the attribute named `uniqueBy` (which needs a normalised key and a unique index, see docs/api.md "Adding a
 * resource type"). Its events are `<type>.created`, `<type>.updated` and `<type>.deleted`.
 */
export class PlainPolicy extends BasePolicy<ResourceDocument> implements ResourcePolicy<ResourceDocument> {
  private readonly action: Lowercase<string>;

  constructor(context: PolicyContext<ResourceDocument>, uniqueBy: string) {
    super(context.type, context.repository, uniqueBy);
    this.action = context.type.id.toLowerCase() as Lowercase<string>;
  }

  async render(ctx: ScimContext, docs: ResourceDocument[], projection: Projection): Promise<ScimResource[]> {
    return docs.map((doc) =>
      projectResource(this.type, fromStored(this.type, doc, { baseUrl: ctx.baseUrl }), projection),
    );
  }

  async create(
    ctx: ScimContext,
    { resource, changed }: Computed,
    projection: Projection,
    lifecycle: Lifecycle<ResourceDocument>,
  ): Promise<ScimOutcome> {
    const doc = storedDocument(this.type, ctx.orgId, resource);
    const entry = lifecycle.entry(ctx, doc._id, {
      action: `${this.action}.created`,
      changedAttributes: changed,
    });
    await lifecycle.commitInsert(resource, doc, entry);
    return lifecycle.outcome(ctx, doc, projection, 201);
  }

  async plan(
    ctx: ScimContext,
    existing: ResourceDocument,
    { resource, changed }: Computed,
  ): Promise<PlannedWrite<ResourceDocument> | null> {
    if (changed.length === 0) return null;
    const doc = storedDocument(this.type, ctx.orgId, resource, existing);
    return { kind: 'replace', doc, event: { action: `${this.action}.updated`, changedAttributes: changed } };
  }

  async planDelete(): Promise<PlannedWrite<ResourceDocument>> {
    return {
      kind: 'update',
      update: { $set: { deletedAt: new Date() } },
      event: { action: `${this.action}.deleted` },
      effects: [{ kind: 'document.delete' }],
    };
  }
}
