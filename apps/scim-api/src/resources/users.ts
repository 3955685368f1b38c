import {
  applyPatch,
  checkAttributeSizes,
  parsePatchRequest,
  etagFromVersion,
  fromStored,
  ifMatchSatisfied,
  ifNoneMatchMatches,
  isAttributeReturned,
  keyFieldName,
  normaliseKey,
  notFound,
  preconditionFailed,
  projectResource,
  resourceLocation,
  ScimError,
  toStored,
  uniqueness,
  validateCreate,
  validateReplace,
  type GroupRef,
  type ListResponse,
  type ResourceType,
  type ScimResource,
  type SearchParams,
} from '@scimbridge/scim-core';
import {
  findInOrganisation,
  isDuplicateKey,
  SCIM_VISIBLE,
  uuidv7,
  type MembershipRepository,
  type StoreCollections,
  type UserDocument,
} from '@scimbridge/store';
import type { AuditRecorder } from '../audit.js';
import type { ApiLimits } from '../limits.js';
import type { ScimContext } from '../http/context.js';
import type { KeyedLock } from '../http/keyed-lock.js';
import type { UserLimitLock } from './user-limit.js';
import { listResources } from './list.js';
import { externalResolver, groupsOfUser } from './members.js';
import type { Preconditions, Projection, ScimOutcome } from './outcome.js';
import { changedTopLevel } from './changes.js';

export interface UserServiceDeps {
  limits: ApiLimits;
  type: ResourceType;
  collections: StoreCollections;
  memberships: MembershipRepository;
  audit: AuditRecorder;
  locks: KeyedLock;
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
 * while keeping the account.
 */
export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  private get users() {
    return this.deps.collections.users;
  }

  /** `knownGroups` spares the membership query when the caller knows the answer (a user just inserted has none). */
  async render(
    ctx: ScimContext,
    docs: UserDocument[],
    projection: Projection,
    knownGroups?: Map<string, GroupRef[]>,
  ): Promise<ScimResource[]> {
    const { type, collections, memberships } = this.deps;
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

  private async outcome(
    ctx: ScimContext,
    doc: UserDocument,
    projection: Projection,
    status: 200 | 201,
    knownGroups?: Map<string, GroupRef[]>,
  ): Promise<ScimOutcome> {
    const [resource] = await this.render(ctx, [doc], projection, knownGroups);
    return {
      status,
      resource: resource!,
      version: doc.meta.version ?? 1,
      location: resourceLocation(ctx.baseUrl, this.deps.type, doc._id),
    };
  }

  private async load(ctx: ScimContext, id: string): Promise<UserDocument> {
    const doc = await findInOrganisation(this.users, id, ctx.orgId);
    if (!doc || !isVisible(doc)) throw notFound(`User ${id} not found.`);
    return doc;
  }

  async get(
    ctx: ScimContext,
    id: string,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    const doc = await this.load(ctx, id);
    if (ifNoneMatchMatches(conditions.ifNoneMatch, doc.meta.version))
      return { status: 304, version: doc.meta.version ?? 1 };
    return this.outcome(ctx, doc, projection, 200);
  }

  async list(ctx: ScimContext, params: SearchParams): Promise<ListResponse<ScimResource>> {
    return listResources(
      {
        type: this.deps.type,
        collection: this.users,
        scope: { orgId: ctx.orgId, ...SCIM_VISIBLE },
        resolveExternal: externalResolver(
          this.deps.memberships,
          ctx.orgId,
          'users',
          this.deps.limits.filter.maxMembershipRows,
        ),
        render: (docs, projection) => this.render(ctx, docs, projection),
        limits: this.deps.limits,
      },
      params,
    );
  }

  async create(ctx: ScimContext, body: unknown, projection: Projection): Promise<ScimOutcome> {
    const { resource } = validateCreate(this.deps.type, body);
    checkAttributeSizes(this.deps.type, resource, this.deps.limits.patch.maxAttributeValues);
    const userName = resource.userName as string;
    const key = normaliseKey(userName);
    // Creates of one userName are serialised: Okta retries a create after a timeout and must get 409, not a twin.
    return this.deps.locks.run(`${ctx.orgId}:userName:${key}`, async () => {
      const { sameName, sameEmail } = await this.accountsMatching(ctx, key, workEmail(resource));
      if (sameName && isVisible(sameName))
        throw uniqueness(`A user with userName "${userName}" already exists.`);
      const candidate = sameName ?? sameEmail;
      const write = () =>
        candidate
          ? this.link(ctx, candidate, resource, projection, sameName ? 'userName' : 'email')
          : this.insert(ctx, resource, projection);
      return resource.active === false ? write() : this.addingActiveUser(ctx, write);
    });
  }

  /**
   * The account with this userName, and an account the host application created (or SCIM deleted earlier) with
   * this work email, in one query: MongoDB answers each branch of the `$or` from its index, and a server without
   * those indexes (FerretDB) reads the collection once instead of twice.
   */
  private async accountsMatching(
    ctx: ScimContext,
    userNameKey: string,
    email: string | undefined,
  ): Promise<{ sameName?: UserDocument; sameEmail?: UserDocument }> {
    const emailKey = email === undefined ? undefined : normaliseKey(email);
    const docs = await this.users
      .find({
        orgId: ctx.orgId,
        $or: [
          { [USER_NAME_KEY]: userNameKey },
          ...(emailKey === undefined ? [] : [{ [EMAIL_KEY_FIELD]: emailKey }]),
        ],
      })
      .toArray();
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
      await this.checkUserLimit(ctx, limit);
      return write();
    });
  }

  private async checkUserLimit(ctx: ScimContext, limit: number): Promise<void> {
    const active = await this.users.countDocuments({
      orgId: ctx.orgId,
      ...SCIM_VISIBLE,
      active: { $ne: false },
    });
    if (active >= limit)
      throw new ScimError(
        403,
        `The organisation's plan allows ${limit} active users; deactivate or delete one first.`,
      );
  }

  private async insert(
    ctx: ScimContext,
    resource: ScimResource,
    projection: Projection,
  ): Promise<ScimOutcome> {
    const now = new Date();
    const id = uuidv7(now.getTime());
    const doc: UserDocument = {
      ...toStored(this.deps.type, { ...resource, id }, { created: now, lastModified: now, version: 1 }),
      orgId: ctx.orgId,
      scim: {
        managed: true,
        provisionedAt: now,
        deletedAt: null,
        ...(typeof resource.externalId === 'string' ? { externalId: resource.externalId } : {}),
      },
      auth: { ssoOnly: true },
    };
    try {
      await this.users.insertOne(doc);
    } catch (error) {
      if (isDuplicateKey(error))
        throw uniqueness(`A user with userName "${String(resource.userName)}" already exists.`);
      throw error;
    }
    const event = await this.deps.audit.record(ctx, {
      action: 'user.created',
      resourceType: 'User',
      resourceId: id,
      changedAttributes: Object.keys(resource).filter((k) => k !== 'schemas' && k !== 'id'),
      // The event is also the outbox of its provisioning jobs: the worker's relay re-derives a lost enqueue from it.
      details: defaultGroupDetail(ctx),
    });
    await this.deps.audit.assignDefaultGroup(ctx, id, event._id);
    // A new id has no memberships yet (the default group is the worker's, after this response).
    return this.outcome(ctx, doc, projection, 201, new Map());
  }

  /**
   * Takes over an existing account: the SCIM attributes become the request's, the account becomes SCIM-managed
   * and SSO-only (its password is dropped here; the worker's account.linked job repeats that idempotently).
   */
  private async link(
    ctx: ScimContext,
    existing: UserDocument,
    resource: ScimResource,
    projection: Projection,
    matchedBy: 'userName' | 'email',
  ): Promise<ScimOutcome> {
    const now = new Date();
    const version = (existing.meta.version ?? 0) + 1;
    const revived = existing.scim?.managed === true;
    const doc: UserDocument = {
      ...toStored(
        this.deps.type,
        { ...resource, id: existing._id },
        {
          created: existing.meta.created ?? now,
          lastModified: now,
          version,
        },
      ),
      orgId: ctx.orgId,
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
    try {
      const result = await this.users.replaceOne(
        { _id: existing._id, orgId: ctx.orgId, 'meta.version': existing.meta.version },
        doc,
      );
      if (result.matchedCount === 0)
        throw uniqueness('The account changed while it was being linked; retry.');
    } catch (error) {
      if (isDuplicateKey(error))
        throw uniqueness(`A user with userName "${String(resource.userName)}" already exists.`);
      throw error;
    }
    const event = await this.deps.audit.record(ctx, {
      action: 'user.created',
      resourceType: 'User',
      resourceId: existing._id,
      changedAttributes: Object.keys(resource).filter((k) => k !== 'schemas' && k !== 'id'),
      details: {
        linkedAccount: true,
        matchedBy,
        revived,
        ...defaultGroupDetail(ctx),
        ...(doc.scim.externalId ? { externalId: doc.scim.externalId } : {}),
      },
    });
    await this.deps.audit.accountLinked(ctx, existing._id, event._id, doc.scim.externalId);
    await this.deps.audit.assignDefaultGroup(ctx, existing._id, event._id);
    return this.outcome(ctx, doc, projection, 201);
  }

  async replace(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    return this.write(ctx, id, conditions, projection, (current) => {
      const { resource } = validateReplace(this.deps.type, body, current);
      checkAttributeSizes(this.deps.type, resource, this.deps.limits.patch.maxAttributeValues);
      return { resource, changed: changedTopLevel(current, resource) };
    });
  }

  async patch(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    const request = parsePatchRequest(body, this.deps.limits.patch);
    return this.write(ctx, id, conditions, projection, (current) => {
      const result = applyPatch(this.deps.type, current, request, { limits: this.deps.limits.patch });
      return { resource: result.resource, changed: result.changed };
    });
  }

  /**
   * Read, check If-Match, compute, write conditioned on the version read. Writes of one user are serialised in
   * this process; a version conflict with another replica is retried unless the client sent If-Match.
   */
  private async write(
    ctx: ScimContext,
    id: string,
    conditions: Preconditions,
    projection: Projection,
    compute: (current: ScimResource) => { resource: ScimResource; changed: string[] },
  ): Promise<ScimOutcome> {
    return this.deps.locks.run(`${ctx.orgId}:user:${id}`, async () => {
      for (let attempt = 0; ; attempt += 1) {
        const existing = await this.load(ctx, id);
        if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
          throw preconditionFailed(
            `The user has changed: its version is ${etagFromVersion(existing.meta.version ?? 1)}.`,
          );
        const current = fromStored(this.deps.type, existing);
        const { resource, changed } = compute(current);
        if (changed.length === 0) return this.outcome(ctx, existing, projection, 200);
        const now = new Date();
        const version = (existing.meta.version ?? 1) + 1;
        const doc: UserDocument = {
          ...toStored(
            this.deps.type,
            { ...resource, id },
            { created: existing.meta.created ?? now, lastModified: now, version },
          ),
          orgId: ctx.orgId,
          scim: {
            ...existing.scim,
            ...(typeof resource.externalId === 'string' ? { externalId: resource.externalId } : {}),
          },
          auth: existing.auth,
        };
        if (typeof resource.externalId !== 'string') delete doc.scim.externalId;
        const wasActive = existing.active !== false;
        const isActive = resource.active !== false;
        const replace = async () => {
          try {
            return (
              await this.users.replaceOne(
                { _id: id, orgId: ctx.orgId, 'meta.version': existing.meta.version },
                doc,
              )
            ).matchedCount;
          } catch (error) {
            if (isDuplicateKey(error))
              throw uniqueness(`A user with userName "${String(resource.userName)}" already exists.`);
            throw error;
          }
        };
        // Reactivating adds an active user, so the plan's active-user limit applies as it does to creates.
        const matched = !wasActive && isActive ? await this.addingActiveUser(ctx, replace) : await replace();
        if (matched === 0) {
          if (conditions.ifMatch || attempt >= 3)
            throw preconditionFailed('The user was changed by another request; retry.');
          continue;
        }
        const action =
          wasActive && !isActive
            ? 'user.deactivated'
            : !wasActive && isActive
              ? 'user.reactivated'
              : 'user.updated';
        await this.deps.audit.record(ctx, {
          action,
          resourceType: 'User',
          resourceId: id,
          changedAttributes: changed,
        });
        return this.outcome(ctx, doc, projection, 200);
      }
    });
  }

  /** Hides the user from SCIM and deactivates the account; the record and its history stay (revived by a later create). */
  async delete(ctx: ScimContext, id: string, conditions: Preconditions = {}): Promise<ScimOutcome> {
    return this.deps.locks.run(`${ctx.orgId}:user:${id}`, async () => {
      const existing = await this.load(ctx, id);
      if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
        throw preconditionFailed(
          `The user has changed: its version is ${etagFromVersion(existing.meta.version ?? 1)}.`,
        );
      const now = new Date();
      // `load` checked the organisation; `_id` alone is the primary-key update on every server.
      await this.users.updateOne(
        { _id: id },
        {
          $set: {
            'scim.deletedAt': now,
            active: false,
            'meta.lastModified': now,
            'meta.version': (existing.meta.version ?? 1) + 1,
          },
        },
      );
      const groupIds = await this.deps.memberships.removeMember(ctx.orgId, id);
      if (groupIds.length > 0)
        await this.deps.collections.groups.updateMany({ orgId: ctx.orgId, _id: { $in: groupIds } }, {
          $inc: { 'meta.version': 1 },
          $set: { 'meta.lastModified': now },
        } as never);
      await this.deps.audit.record(ctx, {
        action: 'user.deleted',
        resourceType: 'User',
        resourceId: id,
        changedAttributes: ['active'],
        ...(groupIds.length ? { details: { removedFromGroups: groupIds } } : {}),
      });
      return { status: 204 };
    });
  }
}

/** The default group as configured at provisioning time, recorded so a lost default-group job can be re-derived. */
function defaultGroupDetail(ctx: ScimContext): { defaultGroup?: string } {
  const group = ctx.organisation.settings.defaultGroup;
  return group ? { defaultGroup: group } : {};
}
