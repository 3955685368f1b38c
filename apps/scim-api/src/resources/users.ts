import {
  fromStored,
  isAttributeReturned,
  keyFieldName,
  normaliseKey,
  projectResource,
  resourceLocation,
  ScimError,
  uniqueness,
  type GroupRef,
  type ResourceType,
  type ScimResource,
} from '@scimbridge/scim-core';
import {
  flatKeyField,
  SCIM_VISIBLE,
  type MembershipRepository,
  type ResourceRepository,
  type StoreCollections,
  type UserDocument,
} from '@scimbridge/store';
import type { ScimContext } from '../http/context.js';
import {
  BasePolicy,
  storedDocument,
  type Computed,
  type Lifecycle,
  type PlannedWrite,
  type ResourcePolicy,
} from './lifecycle.js';
import { groupsOfUser } from './members.js';
import type { Projection, ScimOutcome } from './outcome.js';
import type { UserLimitLock } from './user-limit.js';

export interface UserPolicyDeps {
  type: ResourceType;
  repository: ResourceRepository<UserDocument>;
  collections: StoreCollections;
  memberships: MembershipRepository;
  userLimit: UserLimitLock;
}

const USER_NAME_KEY = keyFieldName('userName');
const VALUE_KEY = keyFieldName('value');
const EMAIL_KEY_FIELD = `emails.${VALUE_KEY}`;

function workEmail(resource: ScimResource): string | undefined {
  const emails = Array.isArray(resource.emails) ? (resource.emails as Record<string, unknown>[]) : [];
  const work =
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails.find((e) => e.primary === true);
  return typeof work?.value === 'string' ? work.value : undefined;
}

function isVisible(doc: UserDocument): boolean {
  return doc.scim?.managed === true && !doc.scim.deletedAt;
}

/**
 * SCIM Users over the host application's accounts (DESIGN.md "What the product does"): SSO-only provisioning,
 * linking to existing accounts, deactivation that keeps everything, and DELETE that hides the user from SCIM
 * while keeping the account. The lifecycle (versions, preconditions, outbox) is `Lifecycle`'s.
 */
export class UserPolicy extends BasePolicy<UserDocument> implements ResourcePolicy<UserDocument> {
  constructor(private readonly deps: UserPolicyDeps) {
    super(deps.type, deps.repository, 'userName');
  }

  override visible(doc: UserDocument): boolean {
    return isVisible(doc);
  }

  override scope(ctx: ScimContext): Record<string, unknown> {
    return { orgId: ctx.orgId, ...SCIM_VISIBLE };
  }

  resolveExternal(ctx: ScimContext) {
    return this.membershipResolver(this.deps.memberships, ctx, ctx.limits.filter.maxMembershipRows);
  }

  /** `groups` comes from the membership collection, in one query for the whole page, only when returned. */
  async render(
    ctx: ScimContext,
    docs: UserDocument[],
    projection: Projection,
    mode: 'read' | 'page' | 'write',
    knownGroups?: Map<string, GroupRef[]>,
  ): Promise<ScimResource[]> {
    const { type, collections, memberships } = this.deps;
    void mode;
    const groups = !isAttributeReturned(type, 'groups', projection)
      ? undefined
      : (knownGroups ??
        (await groupsOfUser(
          collections,
          memberships,
          ctx.orgId,
          docs.map((d) => d._id),
        )));
    return docs.map((doc) =>
      projectResource(
        type,
        fromStored(type, doc, {
          baseUrl: ctx.baseUrl,
          ...(groups ? { groups: groups.get(doc._id) ?? [] } : {}),
        }),
        projection,
      ),
    );
  }

  async create(
    ctx: ScimContext,
    { resource, changed }: Computed,
    projection: Projection,
    lifecycle: Lifecycle<UserDocument>,
  ): Promise<ScimOutcome> {
    const userName = resource.userName as string;
    const key = normaliseKey(userName);
    // Creates of one userName are serialised: Okta retries a create after a timeout and must get 409, not a twin.
    return lifecycle.locked(`${ctx.orgId}:userName:${key}`, async () => {
      const { sameName, sameEmail } = await this.accountsMatching(ctx, key, workEmail(resource));
      if (sameName && isVisible(sameName)) throw this.conflict(resource);
      const candidate = sameName ?? sameEmail;
      const write = () =>
        candidate
          ? this.link(
              ctx,
              lifecycle,
              candidate,
              resource,
              changed,
              projection,
              sameName ? 'userName' : 'email',
            )
          : this.insert(ctx, lifecycle, resource, changed, projection);
      return resource.active === false ? write() : this.addingActiveUser(ctx, write);
    });
  }

  /**
   * The account with this userName, and an account the host application created (or SCIM deleted earlier) with
   * this work email: one query on MongoDB, which answers each branch of the `$or` from its index; one query per
   * branch where the store profile says `$or` is not served by branch (FerretDB pushes down each branch's
   * equality, but nothing under `$or`). FerretDB pushes no nested field down either, so there the email branch
   * filters the top-level copy of the email keys (`flatKeyField`).
   */
  private async accountsMatching(
    ctx: ScimContext,
    userNameKey: string,
    email: string | undefined,
  ): Promise<{ sameName?: UserDocument; sameEmail?: UserDocument }> {
    const emailKey = email === undefined ? undefined : normaliseKey(email);
    const branches = [
      { [USER_NAME_KEY]: userNameKey },
      ...(emailKey === undefined
        ? []
        : [{ [flatKeyField(this.repository.profile, 'users', EMAIL_KEY_FIELD)]: emailKey }]),
    ];
    const collection = this.repository.collection;
    const docs = this.repository.profile.orBranches
      ? await collection.find({ orgId: ctx.orgId, $or: branches }).toArray()
      : (
          await Promise.all(
            branches.map((branch) => collection.find({ orgId: ctx.orgId, ...branch }).toArray()),
          )
        )
          .flat()
          .filter((doc, i, all) => all.findIndex((d) => d._id === doc._id) === i);
    const sameName = docs.find((d) => (d as Record<string, unknown>)[USER_NAME_KEY] === userNameKey);
    const sameEmail = docs.find(
      (d) =>
        d !== sameName &&
        !isVisible(d) &&
        emailKey !== undefined &&
        (Array.isArray(d.emails) ? (d.emails as Record<string, unknown>[]) : []).some(
          (e) => e[VALUE_KEY] === emailKey,
        ),
    );
    return { ...(sameName ? { sameName } : {}), ...(sameEmail ? { sameEmail } : {}) };
  }

  /**
   * Runs a write that adds an active user: with a plan limit, the count and the write run under one lock per
   * organisation across replicas, or parallel writes through several replicas could pass the limit together.
   */
  private addingActiveUser<T>(ctx: ScimContext, write: () => Promise<T>): Promise<T> {
    const limit = ctx.organisation.settings.plan.userLimit;
    if (limit === null) return write();
    return this.deps.userLimit.run(ctx.orgId, async () => {
      // Counted on `{orgId, active}` (absent `active` is active: `null` matches it) and only up to the limit,
      // so a create reads at most `limit` index entries, however many users the organisation has.
      const active = await this.repository.collection.countDocuments(
        { orgId: ctx.orgId, ...SCIM_VISIBLE, active: { $in: [true, null] } },
        { limit },
      );
      if (active >= limit)
        throw new ScimError(
          403,
          `The organisation's plan allows ${limit} active users; deactivate or delete one first.`,
        );
      return write();
    });
  }

  private async insert(
    ctx: ScimContext,
    lifecycle: Lifecycle<UserDocument>,
    resource: ScimResource,
    changed: string[],
    projection: Projection,
  ): Promise<ScimOutcome> {
    const base = storedDocument(this.type, ctx.orgId, resource);
    const id = base._id;
    const now = base.meta.created as Date;
    const doc: UserDocument = {
      ...base,
      scim: {
        managed: true,
        provisionedAt: now,
        deletedAt: null,
        ...(typeof resource.externalId === 'string' ? { externalId: resource.externalId } : {}),
      },
      auth: { ssoOnly: true },
    };
    const entry = lifecycle.entry(ctx, id, {
      action: 'user.created',
      changedAttributes: changed,
      // The setting at provisioning time: the worker derives the default-group job from the event.
      details: defaultGroupDetail(ctx),
    });
    await lifecycle.commitInsert(resource, doc, entry);
    // A new id has no memberships yet (the default group is the worker's, after this response).
    const [rendered] = await this.render(ctx, [doc], projection, 'write', new Map());
    return {
      status: 201,
      resource: rendered!,
      version: 1,
      location: resourceLocation(ctx.baseUrl, this.type, id),
    };
  }

  /**
   * Takes over an existing account: the SCIM attributes become the request's, the account becomes SCIM-managed
   * and SSO-only (its password is dropped here; the worker's account.linked job repeats that idempotently).
   */
  private async link(
    ctx: ScimContext,
    lifecycle: Lifecycle<UserDocument>,
    candidate: UserDocument,
    resource: ScimResource,
    changed: string[],
    projection: Projection,
    matchedBy: 'userName' | 'email',
  ): Promise<ScimOutcome> {
    // A revived account may still carry the entries of its deletion: they complete before it is written again.
    const existing = (await this.repository.settle(candidate)) ?? candidate;
    if (isVisible(existing)) throw this.conflict(resource);
    const base = storedDocument(this.type, ctx.orgId, resource, existing);
    const now = base.meta.lastModified as Date;
    const revived = existing.scim?.managed === true;
    const doc: UserDocument = {
      ...base,
      scim: {
        managed: true,
        provisionedAt: existing.scim?.provisionedAt ?? now,
        linkedAt: now,
        linkedBy: ctx.tokenId,
        deletedAt: null,
        ...(typeof resource.externalId === 'string' ? { externalId: resource.externalId } : {}),
      },
      auth: { ssoOnly: true },
    };
    const entry = lifecycle.entry(ctx, existing._id, {
      action: 'user.created',
      changedAttributes: changed,
      details: {
        linkedAccount: true,
        matchedBy,
        revived,
        ...defaultGroupDetail(ctx),
        ...(doc.scim.externalId ? { externalId: doc.scim.externalId } : {}),
      },
    });
    if (!(await lifecycle.commitReplace(resource, existing, doc, entry)))
      throw uniqueness('The account changed while it was being linked; retry.');
    return lifecycle.outcome(ctx, doc, projection, 201);
  }

  async plan(
    ctx: ScimContext,
    existing: UserDocument,
    { resource, changed }: Computed,
  ): Promise<PlannedWrite<UserDocument> | null> {
    if (changed.length === 0) return null;
    const doc: UserDocument = {
      ...storedDocument(this.type, ctx.orgId, resource, existing),
      scim: {
        ...existing.scim,
        ...(typeof resource.externalId === 'string' ? { externalId: resource.externalId } : {}),
      },
      auth: existing.auth,
    };
    if (typeof resource.externalId !== 'string') delete doc.scim.externalId;
    const wasActive = existing.active !== false;
    const isActive = resource.active !== false;
    const action =
      wasActive && !isActive
        ? 'user.deactivated'
        : !wasActive && isActive
          ? 'user.reactivated'
          : 'user.updated';
    return { kind: 'replace', doc, event: { action, changedAttributes: changed } };
  }

  /** Reactivating adds an active user, so the plan's active-user limit applies as it does to creates. */
  guard(
    ctx: ScimContext,
    existing: UserDocument,
    plan: PlannedWrite<UserDocument>,
    commit: () => Promise<UserDocument | null>,
  ): Promise<UserDocument | null> {
    const reactivates = plan.kind === 'replace' && existing.active === false && plan.doc.active !== false;
    return reactivates ? this.addingActiveUser(ctx, commit) : commit();
  }

  /** Hides the user from SCIM and deactivates the account; the record and its history stay (revived by a later create). */
  async planDelete(ctx: ScimContext, existing: UserDocument): Promise<PlannedWrite<UserDocument>> {
    const groupIds = (await this.deps.memberships.ofMember(ctx.orgId, existing._id)).map((m) => m.groupId);
    return {
      kind: 'update',
      update: { $set: { 'scim.deletedAt': new Date(), active: false } },
      event: {
        action: 'user.deleted',
        changedAttributes: ['active'],
        ...(groupIds.length ? { details: { removedFromGroups: groupIds } } : {}),
      },
      effects: [{ kind: 'member.leave', memberId: existing._id }],
    };
  }
}

/** The default group as configured at provisioning time, recorded so the worker derives its job from the event. */
function defaultGroupDetail(ctx: ScimContext): { defaultGroup?: string } {
  const group = ctx.organisation.settings.defaultGroup;
  return group ? { defaultGroup: group } : {};
}
