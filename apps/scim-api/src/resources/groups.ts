import {
  applyPatch,
  checkAttributeSizes,
  checkMemberChanges,
  limitExceeded,
  parsePatchRequest,
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
import { StreamedArray } from '../http/streamed-json.js';
import type { ApiLimits } from '../limits.js';
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
  limits: ApiLimits;
}

/**
 * Write responses list members only up to this size; beyond it `members` is omitted (Okta accepts a group
 * without members in a PATCH answer, Entra asks for none) so that a PATCH to a 100k-member group stays fast.
 */
const MAX_MEMBERS_IN_WRITE_RESPONSE = 10_000;

/** Members per cursor batch of a streamed member list: what a response holds in memory at a time. */
const MEMBER_BATCH = 1_000;

/**
 * How members are rendered (docs/api.md "Large groups"):
 * - `read`: a single group; all members, streamed from a cursor in batches when there are many;
 * - `page`: a list or search page; at most `membersPerPage` rows per page, the page ending early (itemsPerPage <
 *   count) before a group that would pass it, and a first group larger than that streamed on a page of its own;
 * - `write`: a write response; members up to MAX_MEMBERS_IN_WRITE_RESPONSE, omitted beyond.
 */
type MemberMode = 'read' | 'page' | 'write';

/** SCIM Groups; membership lives in its own collection and changes as set deltas. */
export class GroupService {
  constructor(private readonly deps: GroupServiceDeps) {}

  private get groups() {
    return this.deps.collections.groups;
  }

  /**
   * The groups as SCIM resources, in order; a `page` may render a prefix of `docs` only (never a group with part
   * of its members): the caller pages on from the first group not rendered.
   */
  async render(
    ctx: ScimContext,
    docs: GroupDocument[],
    projection: Projection,
    mode: MemberMode,
  ): Promise<ScimResource[]> {
    const { type } = this.deps;
    const resource = (doc: GroupDocument, members?: readonly MemberRef[]) =>
      projectResource(
        type,
        fromStored(type, doc, { baseUrl: ctx.baseUrl, ...(members ? { members } : {}) }),
        projection,
      );
    // excludedAttributes=members (Entra) never touches the membership collection.
    if (!isAttributeReturned(type, 'members', projection)) return docs.map((doc) => resource(doc));
    if (mode === 'write') {
      const doc = docs[0]!;
      const members = await this.deps.memberships.members(
        ctx.orgId,
        doc._id,
        MAX_MEMBERS_IN_WRITE_RESPONSE + 1,
      );
      return [resource(doc, members.length > MAX_MEMBERS_IN_WRITE_RESPONSE ? undefined : members)];
    }
    const budget = this.deps.limits.membersPerPage;
    if (mode === 'page') {
      const all = await this.deps.memberships.membersOfGroups(
        ctx.orgId,
        docs.map((d) => d._id),
        budget,
      );
      if (all) return docs.map((doc) => resource(doc, all.get(doc._id)));
    }
    const out: ScimResource[] = [];
    let remaining = budget;
    for (const doc of docs) {
      const members = await this.deps.memberships.members(
        ctx.orgId,
        doc._id,
        Math.max(remaining, MEMBER_BATCH) + 1,
      );
      if (members.length <= remaining) {
        out.push(resource(doc, members));
        remaining -= members.length;
        continue;
      }
      if (out.length === 0) out.push(this.streamed(ctx, doc, projection, members));
      break;
    }
    return out;
  }

  /** One group whose members are written from a cursor as the response goes out (`StreamedArray`). */
  private streamed(
    ctx: ScimContext,
    doc: GroupDocument,
    projection: Projection,
    firstBatch: readonly MemberRef[],
  ): ScimResource {
    const { type, memberships } = this.deps;
    const render = (batch: readonly MemberRef[]): unknown[] =>
      (projectResource(type, fromStored(type, doc, { baseUrl: ctx.baseUrl, members: batch }), projection)
        .members as unknown[] | undefined) ?? [];
    const { meta, ...rest } = projectResource(
      type,
      fromStored(type, doc, { baseUrl: ctx.baseUrl }),
      projection,
    );
    const skip = new Set(firstBatch.map((m) => m.value));
    async function* more(): AsyncGenerator<unknown[]> {
      // The cursor starts again from the first member: those already sent are skipped, the rest follow in batches.
      for await (const batch of memberships.memberBatches(ctx.orgId, doc._id, MEMBER_BATCH)) {
        const fresh = batch.filter((m) => !skip.delete(m.value));
        if (fresh.length > 0) yield render(fresh);
      }
    }
    return { ...rest, members: new StreamedArray(render(firstBatch), more()), ...(meta ? { meta } : {}) };
  }

  private async outcome(
    ctx: ScimContext,
    doc: GroupDocument,
    projection: Projection,
    status: 200 | 201,
    mode: MemberMode = 'write',
  ): Promise<ScimOutcome> {
    const [resource] = await this.render(ctx, [doc], projection, mode);
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
    return this.outcome(ctx, doc, projection, 200, 'read');
  }

  async list(ctx: ScimContext, params: SearchParams): Promise<ListResponse<ScimResource>> {
    return listResources(
      {
        type: this.deps.type,
        collection: this.groups,
        scope: { orgId: ctx.orgId },
        resolveExternal: externalResolver(
          this.deps.memberships,
          ctx.orgId,
          'groups',
          this.deps.limits.filter.maxMembershipRows,
        ),
        render: (docs, projection) => this.render(ctx, docs, projection, 'page'),
        limits: this.deps.limits,
      },
      params,
    );
  }

  async create(ctx: ScimContext, body: unknown, projection: Projection): Promise<ScimOutcome> {
    const { resource, members } = validateCreate(this.deps.type, body);
    this.checkLimits(resource, members);
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
    const { ignored } = await this.applyMembers(ctx, id, members);
    await this.deps.audit.record(ctx, {
      action: 'group.created',
      resourceType: 'Group',
      resourceId: id,
      changedAttributes: Object.keys(resource)
        .filter((k) => k !== 'schemas' && k !== 'id')
        .concat(members?.replaceAll?.length ? ['members'] : []),
      ...(ignored.length ? { details: { ignoredMembers: ignored } } : {}),
    });
    return this.outcome(ctx, doc, projection, 201);
  }

  /** The request's own size limits, before any read or write (docs/api.md "Limits"). */
  private checkLimits(resource: ScimResource, members: MembershipDelta | undefined): void {
    const { patch } = this.deps.limits;
    checkAttributeSizes(this.deps.type, resource, patch.maxAttributeValues);
    if (members) checkMemberChanges(members, patch.maxMemberChanges);
  }

  /**
   * Applies a membership delta with atomic inserts/deletes; returns the member ids that were ignored and whether
   * any row changed.
   */
  private async applyMembers(
    ctx: ScimContext,
    groupId: string,
    delta: MembershipDelta | undefined,
  ): Promise<{ ignored: string[]; changed: boolean }> {
    if (!delta) return { ignored: [], changed: false };
    const { collections, memberships } = this.deps;
    if (delta.replaceAll) {
      const { members, ignored } = await resolveMembers(
        collections,
        ctx.orgId,
        delta.replaceAll.filter((m) => m.value !== groupId),
      );
      return { ignored, changed: await memberships.replace(ctx.orgId, groupId, members) };
    }
    const { members, ignored } = await resolveMembers(
      collections,
      ctx.orgId,
      delta.add.filter((m) => m.value !== groupId),
    );
    const added = await memberships.add(ctx.orgId, groupId, members);
    const removed = await memberships.remove(ctx.orgId, groupId, delta.remove);
    return { ignored, changed: added + removed > 0 };
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
      this.checkLimits(resource, members);
      // Whether the membership really changes is known once its rows are replaced (`changeMembers`).
      return { resource, changed: changedTopLevel(current, resource), ...(members ? { members } : {}) };
    });
  }

  async patch(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    const { patch: limits } = this.deps.limits;
    const request = parsePatchRequest(body, limits);
    const needsMembers = patchNeedsMembers(this.deps.type, request, limits);
    let currentMembers: MemberRef[] | undefined;
    return this.write(
      ctx,
      id,
      conditions,
      projection,
      (current) => {
        const result = applyPatch(this.deps.type, current, request, {
          limits,
          ...(currentMembers ? { members: currentMembers } : {}),
        });
        return {
          resource: result.resource,
          changed: result.changed,
          ...(result.members ? { members: result.members } : {}),
        };
      },
      needsMembers
        ? async () => {
            // A member filter that is not a list of ids is evaluated against the members: only on groups small
            // enough to read whole, so its cost is bounded before anything is read past the limit.
            const members = await this.deps.memberships.members(
              ctx.orgId,
              id,
              limits.maxMembersForFilter + 1,
            );
            if (members.length > limits.maxMembersForFilter)
              throw limitExceeded(
                'patch_too_costly',
                400,
                'invalidValue',
                `A member filter other than "value eq" is evaluated only on groups of at most ${limits.maxMembersForFilter} members; remove members by value instead.`,
              );
            currentMembers = members;
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
        if (attributesChanged.length === 0) {
          if (!members) return this.outcome(ctx, existing, projection, 200);
          return this.changeMembers(ctx, existing, members, conditions, projection);
        }
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
        const applied = await this.applyMembers(ctx, id, members);
        await this.deps.audit.record(ctx, {
          action: 'group.updated',
          resourceType: 'Group',
          resourceId: id,
          changedAttributes: applied.changed ? [...attributesChanged, 'members'] : attributesChanged,
          ...(applied.ignored.length ? { details: { ignoredMembers: applied.ignored } } : {}),
        });
        return this.outcome(ctx, doc, projection, 200);
      }
    });
  }

  /**
   * A change of members only: membership rows are inserted and deleted atomically, so member PATCHes through
   * several replicas commute (Entra sends them in parallel) and none gets 412; the group document only has its
   * version advanced ($inc). With If-Match the version is compared-and-set first, so a stale ETag changes nothing.
   * A delta that changes no row (an identical PUT, a repeated add) changes nothing: no version, no event.
   */
  private async changeMembers(
    ctx: ScimContext,
    existing: GroupDocument,
    delta: MembershipDelta,
    conditions: Preconditions,
    projection: Projection,
  ): Promise<ScimOutcome> {
    const id = existing._id;
    let doc: GroupDocument | null = null;
    if (conditions.ifMatch) {
      doc = await this.bumpVersion(ctx, id, existing.meta.version);
      if (!doc) throw preconditionFailed('The group was changed by another request; retry.');
    }
    const applied = await this.applyMembers(ctx, id, delta);
    if (applied.changed) doc ??= await this.bumpVersion(ctx, id);
    // Ids that were refused are named in an event even when no row changed: the admin can see why.
    if (applied.changed || applied.ignored.length > 0)
      await this.deps.audit.record(ctx, {
        action: 'group.members.changed',
        resourceType: 'Group',
        resourceId: id,
        changedAttributes: applied.changed ? ['members'] : [],
        ...(applied.ignored.length ? { details: { ignoredMembers: applied.ignored } } : {}),
      });
    return this.outcome(ctx, doc ?? existing, projection, 200);
  }

  /** `meta.version` + 1 (only from `expected`, when given); the group after the update, or null if none matched. */
  private async bumpVersion(ctx: ScimContext, id: string, expected?: number): Promise<GroupDocument | null> {
    return this.groups.findOneAndUpdate(
      { _id: id, orgId: ctx.orgId, ...(expected === undefined ? {} : { 'meta.version': expected }) },
      { $inc: { 'meta.version': 1 }, $set: { 'meta.lastModified': new Date() } } as never,
      { returnDocument: 'after' },
    );
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
