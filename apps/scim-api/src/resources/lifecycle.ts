import {
  applyPatch,
  checkAttributeSizes,
  checkMemberChanges,
  etagFromVersion,
  fromStored,
  ifMatchSatisfied,
  ifNoneMatchMatches,
  parsePatchRequest,
  preconditionFailed,
  notFound,
  resourceLocation,
  toStored,
  uniqueness,
  validateCreate,
  validateReplace,
  type ExternalFilterResolver,
  type ListResponse,
  type MembershipDelta,
  type ResourceType,
  type ScimError,
  type ScimResource,
  type SearchParams,
} from '@scimbridge/scim-core';
import {
  isDuplicateKey,
  uuidv7,
  type EventInput,
  type InPlaceUpdate,
  type MembershipRepository,
  type Outbox,
  type OutboxEffect,
  type OutboxEntry,
  type ResourceDocument,
  type ResourceRepository,
} from '@scimbridge/store';
import type { ScimContext } from '../http/context.js';
import type { KeyedLock } from '../http/keyed-lock.js';
import { changedTopLevel } from './changes.js';
import { listResources } from './list.js';
import { externalResolver } from './members.js';
import type { Preconditions, Projection, ScimOutcome } from './outcome.js';

/**
 * How a kind's resources are rendered: `read` one resource (GET by id), `page` a list or search page, `write` a
 * write's response (bounded: see the group policy). A kind may render a prefix of a page only.
 */
export type RenderMode = 'read' | 'page' | 'write';

/** What a request computed from the current resource (PUT: the replacement, PATCH: the patched resource). */
export interface Computed {
  resource: ScimResource;
  changed: string[];
  /** Changes of an attribute held outside the document (group members), as a set delta. */
  members?: MembershipDelta;
}

/** The event of a change, as the policy describes it; the lifecycle adds actor, request and trace. */
export type ChangeEvent = Pick<EventInput, 'action' | 'changedAttributes' | 'details'>;

/**
 * A planned write:
 * - `replace`: the whole new document, compare-and-set on the version read;
 * - `update`: fields set in place with the version moved on; `commutes` lets it run without the version check
 *   (member changes through several replicas), unless the client sent If-Match.
 * Either carries its event and effects, written in the same single-document write (the outbox).
 */
export type PlannedWrite<D> =
  | { kind: 'replace'; doc: D; event: ChangeEvent; effects?: OutboxEffect[] }
  | {
      kind: 'update';
      update: InPlaceUpdate;
      commutes?: boolean;
      event: ChangeEvent;
      effects?: OutboxEffect[];
    };

/**
 * What differs between resource kinds; everything else (versioned writes, preconditions, retries, uniqueness,
 * the outbox) is the lifecycle's, written once. docs/api.md "Adding a resource type" shows a minimal policy.
 */
export interface ResourcePolicy<D extends ResourceDocument> {
  readonly type: ResourceType;
  readonly repository: ResourceRepository<D>;
  /** Whether SCIM sees the document (a user deleted by SCIM stays in the collection, hidden). */
  visible(doc: D): boolean;
  /** The filter of the documents SCIM sees in an organisation, for lists. */
  scope(ctx: ScimContext): Record<string, unknown>;
  /** The 409 for a unique-index violation by this resource. */
  conflict(resource: ScimResource): ScimError;
  render(ctx: ScimContext, docs: D[], projection: Projection, mode: RenderMode): Promise<ScimResource[]>;
  /** Filters on attributes held outside the document (RFC 7644 §3.4.2.2 over memberships). */
  resolveExternal?(ctx: ScimContext): ExternalFilterResolver;
  /** A create: the kind decides (a user may link an existing account); it commits through `lifecycle.commitInsert`. */
  create(
    ctx: ScimContext,
    created: Computed,
    projection: Projection,
    lifecycle: Lifecycle<D>,
  ): Promise<ScimOutcome>;
  /** The write for a computed change, or null when nothing changes (no version, no event). */
  plan(ctx: ScimContext, existing: D, computed: Computed): Promise<PlannedWrite<D> | null>;
  /** Runs the commit of a plan; e.g. under the plan limit's lock when a user becomes active. */
  guard?(
    ctx: ScimContext,
    existing: D,
    plan: PlannedWrite<D>,
    commit: () => Promise<D | null>,
  ): Promise<D | null>;
  /** The write that deletes the resource (its effects remove what hangs off it). */
  planDelete(ctx: ScimContext, existing: D): Promise<PlannedWrite<D>>;
  /** Reads a PATCH needs before it can be applied (e.g. the members a filter is evaluated on). */
  patchInput?(ctx: ScimContext, id: string, request: ReturnType<typeof parsePatchRequest>): Promise<object>;
}

/**
 * What most kinds share: their type and repository, and visibility "until deleted" (`deletedAt`, set by a DELETE
 * in the write that carries its entry). A kind that hides rather than deletes (users) overrides both.
 */
export abstract class BasePolicy<D extends ResourceDocument> implements Partial<ResourcePolicy<D>> {
  /** `uniqueBy`: the attribute a unique index keeps distinct (`userName`, `displayName`), named in the 409. */
  constructor(
    readonly type: ResourceType,
    readonly repository: ResourceRepository<D>,
    private readonly uniqueBy: string,
  ) {}

  conflict(resource: ScimResource): ScimError {
    const value = String(resource[this.uniqueBy]);
    return uniqueness(`A ${this.type.name.toLowerCase()} with ${this.uniqueBy} "${value}" already exists.`);
  }

  visible(doc: D): boolean {
    return !doc.deletedAt;
  }

  scope(ctx: ScimContext): Record<string, unknown> {
    return { orgId: ctx.orgId, deletedAt: null };
  }

  /**
   * Filters on an external attribute, answered from the membership rows: a writable one (Group `members`) lists
   * the resource's members, so rows are matched on the member and yield groups; a readOnly one (User `groups`)
   * lists what the resource is a member of, so rows are matched on the group and yield members.
   */
  protected membershipResolver(memberships: MembershipRepository, ctx: ScimContext, maxRows: number) {
    return externalResolver(
      memberships,
      ctx.orgId,
      this.type.writableExternalAttribute ? 'groups' : 'users',
      maxRows,
    );
  }
}

export interface LifecycleDeps {
  locks: KeyedLock;
  outbox: Outbox;
}

/**
 * A resource's document as scim-core stores it, in its organisation: a new one (fresh uuidv7 id, version 1) or
 * the next version of `existing` (its id and creation time kept). The kind adds its own fields.
 */
export function storedDocument(
  type: ResourceType,
  orgId: string,
  resource: ScimResource,
  existing?: Pick<ResourceDocument, '_id' | 'meta'>,
): ResourceDocument {
  const now = new Date();
  const id = existing?._id ?? uuidv7(now.getTime());
  const stamp = existing
    ? { created: existing.meta.created ?? now, lastModified: now, version: (existing.meta.version ?? 0) + 1 }
    : { created: now, lastModified: now, version: 1 };
  return { ...toStored(type, { ...resource, id }, stamp), orgId };
}

/** Version retries against another replica's write, when the client did not ask for If-Match. */
const MAX_ATTEMPTS = 4;

/**
 * The one lifecycle of every resource kind: get, list, create, replace, patch, delete, with If-Match /
 * If-None-Match (RFC 7644 §3.14), the versioned write loop and duplicate-key → 409 written once. Writes of one
 * resource are serialised in this process; across replicas the version compare-and-set decides.
 */
export class Lifecycle<D extends ResourceDocument> {
  constructor(
    readonly policy: ResourcePolicy<D>,
    private readonly deps: LifecycleDeps,
  ) {}

  get type(): ResourceType {
    return this.policy.type;
  }

  /** Runs `work` holding the in-process lock of `key` (a resource, or a uniqueness key of a create). */
  locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.deps.locks.run(key, work);
  }

  async outcome(
    ctx: ScimContext,
    doc: D,
    projection: Projection,
    status: 200 | 201,
    mode: RenderMode = 'write',
  ) {
    const [resource] = await this.policy.render(ctx, [doc], projection, mode);
    return {
      status,
      resource: resource!,
      version: doc.meta.version ?? 1,
      location: resourceLocation(ctx.baseUrl, this.type, doc._id),
    } satisfies ScimOutcome;
  }

  private notFound(id: string): ScimError {
    return notFound(`${this.type.name} ${id} not found.`);
  }

  private stale(version: number | undefined): ScimError {
    return preconditionFailed(
      `The ${this.type.name.toLowerCase()} has changed: its version is ${etagFromVersion(version ?? 1)}.`,
    );
  }

  private raced(): ScimError {
    return preconditionFailed(`The ${this.type.name.toLowerCase()} was changed by another request; retry.`);
  }

  /** An outbox entry for this kind's resource, attributed to the request's credential. */
  entry(ctx: ScimContext, resourceId: string, event: ChangeEvent, effects: OutboxEffect[] = []): OutboxEntry {
    return this.deps.outbox.entry(
      {
        orgId: ctx.orgId,
        actor: { type: 'token', id: ctx.tokenId },
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        resourceType: this.type.id,
        resourceId,
        ...event,
      },
      effects,
    );
  }

  /** Maps a unique-index violation of a write of `resource` to the kind's 409. */
  private async unique<T>(resource: ScimResource, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isDuplicateKey(error)) throw this.policy.conflict(resource);
      throw error;
    }
  }

  /** Commits a new document with its entry and completes the entry. */
  async commitInsert(resource: ScimResource, doc: D, entry: OutboxEntry): Promise<void> {
    await this.unique(resource, () => this.policy.repository.insert(doc, entry));
    await this.policy.repository.complete(doc._id, entry);
  }

  /** Commits a replacement of `existing` (compare-and-set) and completes it; false if another write came first. */
  async commitReplace(resource: ScimResource, existing: D, doc: D, entry: OutboxEntry): Promise<boolean> {
    const ok = await this.unique(resource, () =>
      this.policy.repository.replace(doc, existing.meta.version, entry),
    );
    if (ok) await this.policy.repository.complete(doc._id, entry);
    return ok;
  }

  /** The resource for a write, checked against If-Match. */
  private async current(ctx: ScimContext, id: string, conditions: Preconditions): Promise<D> {
    const existing = await this.load(ctx, id, true);
    if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version)) throw this.stale(existing.meta.version);
    return existing;
  }

  private async load(ctx: ScimContext, id: string, forWrite: boolean): Promise<D> {
    const { repository } = this.policy;
    const doc = forWrite ? await repository.forWrite(ctx.orgId, id) : await repository.find(ctx.orgId, id);
    if (!doc || !this.policy.visible(doc)) throw this.notFound(id);
    return doc;
  }

  async get(
    ctx: ScimContext,
    id: string,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    const doc = await this.load(ctx, id, false);
    if (ifNoneMatchMatches(conditions.ifNoneMatch, doc.meta.version))
      return { status: 304, version: doc.meta.version ?? 1 };
    return this.outcome(ctx, doc, projection, 200, 'read');
  }

  async list(ctx: ScimContext, params: SearchParams): Promise<ListResponse<ScimResource>> {
    return listResources(
      {
        type: this.type,
        collection: this.policy.repository.collection,
        scope: this.policy.scope(ctx),
        ...(this.policy.resolveExternal ? { resolveExternal: this.policy.resolveExternal(ctx) } : {}),
        render: (docs, projection) => this.policy.render(ctx, docs, projection, 'page'),
        limits: ctx.limits,
        elemMatch: this.policy.repository.profile.elemMatch,
      },
      params,
    );
  }

  /** The request's own size limits, before any read or write (docs/api.md "Limits"). */
  private checkSizes(ctx: ScimContext, computed: Pick<Computed, 'resource' | 'members'>): void {
    const { patch } = ctx.limits;
    checkAttributeSizes(this.type, computed.resource, patch.maxAttributeValues);
    if (computed.members) checkMemberChanges(computed.members, patch.maxMemberChanges);
  }

  async create(ctx: ScimContext, body: unknown, projection: Projection): Promise<ScimOutcome> {
    const { resource, members } = validateCreate(this.type, body);
    this.checkSizes(ctx, { resource, members });
    const changed = Object.keys(resource).filter((k) => k !== 'schemas' && k !== 'id');
    return this.policy.create(ctx, { resource, changed, ...(members ? { members } : {}) }, projection, this);
  }

  async replace(
    ctx: ScimContext,
    id: string,
    body: unknown,
    projection: Projection,
    conditions: Preconditions = {},
  ): Promise<ScimOutcome> {
    return this.write(ctx, id, conditions, projection, 'put', async (current) => {
      const { resource, members } = validateReplace(this.type, body, current);
      this.checkSizes(ctx, { resource, members });
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
    const limits = ctx.limits.patch;
    const request = parsePatchRequest(body, limits);
    return this.write(ctx, id, conditions, projection, 'patch', async (current) => {
      const extra = this.policy.patchInput ? await this.policy.patchInput(ctx, id, request) : {};
      const result = applyPatch(this.type, current, request, { limits, ...extra });
      return {
        resource: result.resource,
        changed: result.changed,
        ...(result.members ? { members: result.members } : {}),
      };
    });
  }

  /**
   * Read (completing earlier entries), check If-Match, compute, plan, commit conditioned on the version read,
   * complete the entry. A lost version race is retried unless the client sent If-Match.
   */
  private async write(
    ctx: ScimContext,
    id: string,
    conditions: Preconditions,
    projection: Projection,
    /** Named in the event (`details.operation`): RFC 9967 receivers tell a PUT from a PATCH by it. */
    operation: 'put' | 'patch',
    compute: (current: ScimResource) => Promise<Computed>,
  ): Promise<ScimOutcome> {
    // The lock covers the read-decide-write, not the response: rendering (a group's members) happens after it,
    // so parallel writes of one resource (Entra's member PATCHes) queue only behind each other's writes.
    const written = await this.locked(`${ctx.orgId}:${this.type.id}:${id}`, async (): Promise<D> => {
      for (let attempt = 1; ; attempt += 1) {
        const existing = await this.load(ctx, id, true);
        if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
          throw this.stale(existing.meta.version);
        const computed = await compute(fromStored(this.type, existing));
        const plan = await this.policy.plan(ctx, existing, computed);
        if (!plan) return existing;
        if (plan.kind === 'replace' && existing.outbox?.length) {
          // A replacement rewrites the outbox: another replica's in-flight entries are completed first (a
          // completion is idempotent), then the change is computed again from the settled document. This counts
          // as an attempt: entries keep appearing only while others keep writing (their $inc moves the version).
          // Settling moves no version, so If-Match still holds on the next read.
          await this.policy.repository.settle(existing);
          if (attempt >= MAX_ATTEMPTS) throw this.raced();
          continue;
        }
        const event = { ...plan.event, details: { ...plan.event.details, operation } };
        const done = await this.commit(ctx, existing, { ...plan, event }, conditions, computed.resource);
        if (done) return done;
        if (conditions.ifMatch || attempt >= MAX_ATTEMPTS) throw this.raced();
      }
    });
    return this.outcome(ctx, written, projection, 200);
  }

  /** One planned write and its entry's completion; the written document, or null when the version moved on. */
  private async commit(
    ctx: ScimContext,
    existing: D,
    plan: PlannedWrite<D>,
    conditions: Preconditions,
    resource: ScimResource,
  ): Promise<D | null> {
    const { repository } = this.policy;
    const entry = this.entry(ctx, existing._id, plan.event, plan.effects);
    const run = async (): Promise<D | null> => {
      if (plan.kind === 'replace')
        return (await this.unique(resource, () => repository.replace(plan.doc, existing.meta.version, entry)))
          ? plan.doc
          : null;
      const expected = plan.commutes && !conditions.ifMatch ? undefined : existing.meta.version;
      return this.unique(resource, () =>
        repository.update(ctx.orgId, existing._id, expected, plan.update, entry),
      );
    };
    const written = this.policy.guard ? await this.policy.guard(ctx, existing, plan, run) : await run();
    if (written) await repository.complete(existing._id, entry);
    return written;
  }

  async delete(ctx: ScimContext, id: string, conditions: Preconditions = {}): Promise<ScimOutcome> {
    return this.locked(`${ctx.orgId}:${this.type.id}:${id}`, async () => {
      for (let attempt = 1; ; attempt += 1) {
        const existing = await this.load(ctx, id, true);
        if (!ifMatchSatisfied(conditions.ifMatch, existing.meta.version))
          throw this.stale(existing.meta.version);
        const plan = await this.policy.planDelete(ctx, existing);
        const written = await this.commit(ctx, existing, plan, conditions, fromStored(this.type, existing));
        if (written) return { status: 204 };
        if (conditions.ifMatch || attempt >= MAX_ATTEMPTS) throw this.raced();
      }
    });
  }
}
