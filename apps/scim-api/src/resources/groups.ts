import {
  fromStored,
  isAttributeReturned,
  limitExceeded,
  patchNeedsMembers,
  projectResource,
  type MemberRef,
  type MembershipDelta,
  type PatchRequest,
  type ResourceType,
  type ScimResource,
} from '@scimbridge/scim-core';
import {
  type GroupDocument,
  type MembershipRepository,
  type OutboxEffect,
  type ResourceRepository,
  type StoreCollections,
} from '@scimbridge/store';
import { StreamedArray } from '../http/streamed-json.js';
import type { ScimContext } from '../http/context.js';
import {
  BasePolicy,
  storedDocument,
  type Computed,
  type Lifecycle,
  type PlannedWrite,
  type ResourcePolicy,
} from './lifecycle.js';
import { resolveMembers } from './members.js';
import type { Projection, ScimOutcome } from './outcome.js';

export interface GroupPolicyDeps {
  type: ResourceType;
  repository: ResourceRepository<GroupDocument>;
  collections: StoreCollections;
  memberships: MembershipRepository;
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

/** A membership delta as effects on the rows, with what it really changes, decided before the write. */
interface MemberPlan {
  effects: OutboxEffect[];
  changed: boolean;
  ignored: string[];
  /** The ids that join and leave the group (a replacement's delta against the current members). */
  added: string[];
  removed: string[];
}

/**
 * Member ids an event names at most per direction (`membersAdded`, `membersRemoved`); a larger delta (a PUT that
 * replaces a big group's members) sets `membersTruncated` and names none, so the event stays small. RFC 9967
 * receivers get the delta as a PatchOp from these (docs/worker.md "SCIM events").
 */
export const MAX_MEMBER_IDS_IN_EVENT = 1_000;

/** The event details of a member plan: who was refused, and the delta when it fits. */
function memberDetails(planned: MemberPlan): { details?: Record<string, unknown> } {
  const details: Record<string, unknown> = {};
  if (planned.ignored.length) details.ignoredMembers = planned.ignored;
  if (planned.changed) {
    if (planned.added.length > MAX_MEMBER_IDS_IN_EVENT || planned.removed.length > MAX_MEMBER_IDS_IN_EVENT)
      details.membersTruncated = true;
    else {
      details.membersAdded = planned.added;
      details.membersRemoved = planned.removed;
    }
  }
  return Object.keys(details).length ? { details } : {};
}

/**
 * SCIM Groups; membership lives in its own collection and changes as set deltas, applied as the write's outbox
 * effects. The lifecycle (versions, preconditions, outbox) is `Lifecycle`'s.
 */
export class GroupPolicy extends BasePolicy<GroupDocument> implements ResourcePolicy<GroupDocument> {
  constructor(private readonly deps: GroupPolicyDeps) {
    super(deps.type, deps.repository, 'displayName');
  }

  resolveExternal(ctx: ScimContext) {
    return this.membershipResolver(this.deps.memberships, ctx, ctx.limits.filter.maxMembershipRows);
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
    const budget = ctx.limits.membersPerPage;
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

  async create(
    ctx: ScimContext,
    { resource, changed, members }: Computed,
    projection: Projection,
    lifecycle: Lifecycle<GroupDocument>,
  ): Promise<ScimOutcome> {
    const doc: GroupDocument = storedDocument(this.type, ctx.orgId, resource);
    const id = doc._id;
    const planned = await this.memberPlan(ctx, id, members, true);
    const entry = lifecycle.entry(
      ctx,
      id,
      {
        action: 'group.created',
        changedAttributes: changed.concat(members?.replaceAll?.length ? ['members'] : []),
        ...memberDetails(planned),
      },
      planned.effects,
    );
    await lifecycle.commitInsert(resource, doc, entry);
    return lifecycle.outcome(ctx, doc, projection, 201);
  }

  /**
   * What a delta does to the group's rows, read before the write so the write knows whether anything changes
   * (an identical PUT or a repeated add changes nothing: no version, no event). Reads are bounded by the ids in
   * the delta, except a full replacement, which reads the group's member ids (as replacing them must).
   */
  private async memberPlan(
    ctx: ScimContext,
    groupId: string,
    delta: MembershipDelta | undefined,
    isNew = false,
  ): Promise<MemberPlan> {
    if (!delta) return { effects: [], changed: false, ignored: [], added: [], removed: [] };
    const { collections, memberships } = this.deps;
    if (delta.replaceAll) {
      const { members, ignored } = await resolveMembers(
        collections,
        ctx.orgId,
        delta.replaceAll.filter((m) => m.value !== groupId),
      );
      const current = isNew ? [] : await memberships.memberIds(ctx.orgId, groupId);
      const wanted = new Set(members.map((m) => m.id));
      const present = new Set(current);
      const added = [...wanted].filter((id) => !present.has(id));
      const removed = current.filter((id) => !wanted.has(id));
      const changed = added.length > 0 || removed.length > 0;
      return {
        effects: changed ? [{ kind: 'members.replace', groupId, members }] : [],
        changed,
        ignored,
        added,
        removed,
      };
    }
    const { members, ignored } = await resolveMembers(
      collections,
      ctx.orgId,
      delta.add.filter((m) => m.value !== groupId),
    );
    const present = await memberships.present(ctx.orgId, groupId, [
      ...members.map((m) => m.id),
      ...delta.remove,
    ]);
    const adds = members.filter((m) => !present.has(m.id));
    const removes = [...new Set(delta.remove)].filter((id) => present.has(id));
    const effects: OutboxEffect[] = [];
    if (adds.length) effects.push({ kind: 'members.add', groupId, members: adds });
    if (removes.length) effects.push({ kind: 'members.remove', groupId, memberIds: removes });
    return {
      effects,
      changed: effects.length > 0,
      ignored,
      added: adds.map((m) => m.id),
      removed: removes,
    };
  }

  /** A member filter that is not a list of ids is evaluated against the members: bounded before it is read. */
  async patchInput(ctx: ScimContext, id: string, request: PatchRequest): Promise<{ members?: MemberRef[] }> {
    const { patch: limits } = ctx.limits;
    if (!patchNeedsMembers(this.type, request, limits)) return {};
    const members = await this.deps.memberships.members(ctx.orgId, id, limits.maxMembersForFilter + 1);
    if (members.length > limits.maxMembersForFilter)
      throw limitExceeded(
        'patch_too_costly',
        400,
        'invalidValue',
        `A member filter other than "value eq" is evaluated only on groups of at most ${limits.maxMembersForFilter} members; remove members by value instead.`,
      );
    return { members };
  }

  /**
   * The group document is rewritten (version-conditioned) only when its own attributes changed; a change of
   * members only moves the version on in place ($inc), so member PATCHes through several replicas commute
   * (Entra sends them in parallel) and none gets 412. Ids that were refused are named in an event even when no
   * row changed: the admin can see why.
   */
  async plan(
    ctx: ScimContext,
    existing: GroupDocument,
    { resource, changed, members }: Computed,
  ): Promise<PlannedWrite<GroupDocument> | null> {
    const attributesChanged = changed.filter((c) => c !== 'members');
    const planned = await this.memberPlan(ctx, existing._id, members);
    const details = memberDetails(planned);
    if (attributesChanged.length === 0) {
      if (!planned.changed && planned.ignored.length === 0) return null;
      return {
        kind: 'update',
        update: {},
        commutes: true,
        event: {
          action: 'group.members.changed',
          changedAttributes: planned.changed ? ['members'] : [],
          ...details,
        },
        effects: planned.effects,
      };
    }
    const doc: GroupDocument = storedDocument(this.type, ctx.orgId, resource, existing);
    return {
      kind: 'replace',
      doc,
      event: {
        action: 'group.updated',
        changedAttributes: planned.changed ? [...attributesChanged, 'members'] : attributesChanged,
        ...details,
      },
      effects: planned.effects,
    };
  }

  /** Marks the group deleted; its effect removes its memberships (the member users stay), then the document. */
  async planDelete(_ctx: ScimContext, existing: GroupDocument): Promise<PlannedWrite<GroupDocument>> {
    return {
      kind: 'update',
      update: { $set: { deletedAt: new Date() } },
      event: { action: 'group.deleted' },
      effects: [{ kind: 'group.delete', groupId: existing._id }, { kind: 'document.delete' }],
    };
  }
}
