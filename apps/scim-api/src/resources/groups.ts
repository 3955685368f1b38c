import {
  applyPatch,
  etagFromVersion,
  fromStored,
  ifMatchSatisfied,
  ifNoneMatchMatches,
  isAttributeReturned,
  notFound,
  patchNeedsMembers,
  preconditionFailed,
  projectResource,
  resourceLocation,
  toStored,
  uniqueness,
  validateCreate,
  validateReplace,
  type ListResponse,
  type MemberRef,
  type MembershipDelta,
  type ResourceType,
  type ScimResource,
  type SearchParams,
} from '@scimbridge/scim-core';
import {
  findInOrganisation,
  isDuplicateKey,
  uuidv7,
  type GroupDocument,
  type MembershipRepository,
  type StoreCollections,
} from '@scimbridge/store';
import type { AuditRecorder } from '../audit.js';
import type { ScimContext } from '../http/context.js';
import type { KeyedLock } from '../http/keyed-lock.js';
import { changedTopLevel } from './changes.js';
import { listResources } from './list.js';
import { externalResolver, resolveMembers } from './members.js';
import type { Preconditions, Projection, ScimOutcome } from './outcome.js';

export interface GroupServiceDeps {
  type: ResourceType;
  collections: StoreCollections;
  memberships: MembershipRepository;
  audit: AuditRecorder;
  locks: KeyedLock;
}

/**
 * Write responses list members only up to this size; beyond it `members` is omitted (Okta accepts a group
 * without members in a PATCH answer, Entra asks for none) so that a PATCH to a 100k-member group stays fast.
 */
const MAX_MEMBERS_IN_WRITE_RESPONSE = 10_000;

/** SCIM Groups; membership lives in its own collection and changes as set deltas. */
export class GroupService {
  constructor(private readonly deps: GroupServiceDeps) {}

  private get groups() {
    return this.deps.collections.groups;
  }

  /**
   * `memberLimit`: a write response lists members only up to this many and omits `members` beyond it; one query
   * reads at most limit + 1 rows, so the answer to a PATCH of a 100k-member group does not read them all.
   */
  async render(
    ctx: ScimContext,
    docs: GroupDocument[],
    projection: Projection,
    memberLimit?: number,
  ): Promise<ScimResource[]> {
    const { type, memberships } = this.deps;
    // excludedAttributes=members (Entra) never touches the membership collection.
    const withMembers = isAttributeReturned(type, 'members', projection);
    const out: ScimResource[] = [];
    for (const doc of docs) {
      let members = withMembers
        ? await memberships.members(
            ctx.orgId,
            doc._id,
            memberLimit === undefined ? undefined : memberLimit + 1,
          )
        : undefined;
      if (members && memberLimit !== undefined && members.length > memberLimit) members = undefined;
      out.push(
        projectResource(
          type,
          fromStored(type, doc, { baseUrl: ctx.baseUrl, ...(members ? { members } : {}) }),
          projection,
        ),
      );
    }
    return out;
  }

  private async outcome(
    ctx: ScimContext,
    doc: GroupDocument,
    projection: Projection,
    status: 200 | 201,
    write = false,
  ): Promise<ScimOutcome> {
    const [resource] = await this.render(
      ctx,
      [doc],
      projection,
      write ? MAX_MEMBERS_IN_WRITE_RESPONSE : undefined,
    );
    return {
      status,
      resource: resource!,
      version: doc.meta.version ?? 1,
      location: resourceLocation(ctx.baseUrl, this.deps.type, doc._id),
    };
  }

  private async load(ctx: ScimContext, id: string): Promise<GroupDocument> {
    const doc = await findInOrganisation(this.groups, id, ctx.orgId);
    if (!doc) throw notFound(`Group ${id} not found.`);
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
        collection: this.groups,
        scope: { orgId: ctx.orgId },
        resolveExternal: externalResolver(this.deps.memberships, ctx.orgId, 'groups'),
        render: (docs) => this.render(ctx, docs, params),
      },
      params,
    );
  }

  async create(ctx: ScimContext, body: unknown, projection: Projection): Promise<ScimOutcome> {
    const { resource, members } = validateCreate(this.deps.type, body);
    const now = new Date();
    const id = uuidv7(now.getTime());
    const doc: GroupDocument = {
      ...toStored(this.deps.type, { ...resource, id }, { created: now, lastModified: now, version: 1 }),
      orgId: ctx.orgId,
    };
    try {
      await this.groups.insertOne(doc);
    } catch (error) {
      if (isDuplicateKey(error))
        throw uniqueness(`A group with displayName "${String(resource.displayName)}" already exists.`);
      throw error;
    }
    const ignored = await this.applyMembers(ctx, id, members);
    await this.deps.audit.record(ctx, {
      action: 'group.created',
      resourceType: 'Group',
      resourceId: id,
      changedAttributes: Object.keys(resource)
        .filter((k) => k !== 'schemas' && k !== 'id')
        .concat(members?.replaceAll?.length ? ['members'] : []),
      ...(ignored.length ? { details: { ignoredMembers: ignored } } : {}),
    });
    return this.outcome(ctx, doc, projection, 201, true);
  }

  /** Applies a membership delta with atomic inserts/deletes; returns the member ids that were ignored. */
  private async applyMembers(
    ctx: ScimContext,
    groupId: string,
    delta: MembershipDelta | undefined,
  ): Promise<string[]> {
    if (!delta) return [];
    const { collections, memberships } = this.deps;
    if (delta.replaceAll) {
      const { members, ignored } = await resolveMembers(
        collections,
        ctx.orgId,
        delta.replaceAll.filter((m) => m.value !== groupId),
      );
      await memberships.replace(ctx.orgId, groupId, members);
      return ignored;
    }
    const { members, ignored } = await resolveMembers(
      collections,
      ctx.orgId,
      delta.add.filter((m) => m.value !== groupId),
    );
    await memberships.add(ctx.orgId, groupId, members);
    await memberships.remove(ctx.orgId, groupId, delta.remove);
    return ignored;
  }

  async replace(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    return this.write(ctx, id, conditions, projection, (current) => {
      const { resource, members } = validateReplace(this.deps.type, body, current);
      // PUT replaces the membership whenever it is given (always, for a group): count it as a change.
      const changed = changedTopLevel(current, resource);
      if (members) changed.push('members');
      return { resource, changed, ...(members ? { members } : {}) };
    });
  }

  async patch(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    const needsMembers = patchNeedsMembers(this.deps.type, body);
    let currentMembers: MemberRef[] | undefined;
    return this.write(
      ctx,
      id,
      conditions,
      projection,
      (current) => {
        const result = applyPatch(
          this.deps.type,
          current,
          body,
          currentMembers ? { members: currentMembers } : {},
        );
        return {
          resource: result.resource,
          changed: result.changed,
          ...(result.members ? { members: result.members } : {}),
        };
      },
      needsMembers
        ? async () => {
            currentMembers = await this.deps.memberships.members(ctx.orgId, id);
          }
        : undefined,
    );
  }

  /**
   * Read, check If-Match, compute; the group document is rewritten (version-conditioned) only when its own
   * attributes changed, and membership deltas go to the membership collection, so concurrent member PATCHes
   * of one group never overwrite each other.
   */
  private async write(
    ctx: ScimContext,
    id: string,
    conditions: Preconditions,
    projection: Projection,
    compute: (current: ScimResource) => {
      resource: ScimResource;
      changed: string[];
      members?: MembershipDelta;
    },
    prepare?: () => Promise<void>,
  ): Promise<ScimOutcome> {
    return this.deps.locks.run(`${ctx.orgId}:group:${id}`, async () => {
      for (let attempt = 0; ; attempt += 1) {
        const existing = await this.load(ctx, id);
        if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
          throw preconditionFailed(
            `The group has changed: its version is ${etagFromVersion(existing.meta.version ?? 1)}.`,
          );
        if (prepare) await prepare();
        const current = fromStored(this.deps.type, existing);
        const { resource, changed, members } = compute(current);
        const attributesChanged = changed.filter((c) => c !== 'members');
        if (attributesChanged.length === 0 && !changed.includes('members'))
          return this.outcome(ctx, existing, projection, 200, true);
        const now = new Date();
        const version = (existing.meta.version ?? 1) + 1;
        const doc: GroupDocument = {
          ...toStored(
            this.deps.type,
            { ...resource, id },
            { created: existing.meta.created ?? now, lastModified: now, version },
          ),
          orgId: ctx.orgId,
        };
        let matched: number;
        try {
          matched = (
            await this.groups.replaceOne(
              { _id: id, orgId: ctx.orgId, 'meta.version': existing.meta.version },
              doc,
            )
          ).matchedCount;
        } catch (error) {
          if (isDuplicateKey(error))
            throw uniqueness(`A group with displayName "${String(resource.displayName)}" already exists.`);
          throw error;
        }
        if (matched === 0) {
          if (conditions.ifMatch || attempt >= 3)
            throw preconditionFailed('The group was changed by another request; retry.');
          continue;
        }
        // Members change after the document: a refused rename (409) or a lost version race changes nothing.
        const ignored = await this.applyMembers(ctx, id, members);
        const action = attributesChanged.length === 0 ? 'group.members.changed' : 'group.updated';
        await this.deps.audit.record(ctx, {
          action,
          resourceType: 'Group',
          resourceId: id,
          changedAttributes: changed,
          ...(ignored.length ? { details: { ignoredMembers: ignored } } : {}),
        });
        return this.outcome(ctx, doc, projection, 200, true);
      }
    });
  }

  /** Removes the group and its memberships; the member users stay. */
  async delete(ctx: ScimContext, id: string, conditions: Preconditions = {}): Promise<ScimOutcome> {
    return this.deps.locks.run(`${ctx.orgId}:group:${id}`, async () => {
      const existing = await this.load(ctx, id);
      if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
        throw preconditionFailed(
          `The group has changed: its version is ${etagFromVersion(existing.meta.version ?? 1)}.`,
        );
      // `load` checked the organisation; `_id` alone is the primary-key delete on every server.
      await this.groups.deleteOne({ _id: id });
      await this.deps.memberships.removeGroup(ctx.orgId, id);
      await this.deps.audit.record(ctx, { action: 'group.deleted', resourceType: 'Group', resourceId: id });
      return { status: 204 };
    });
  }
}
