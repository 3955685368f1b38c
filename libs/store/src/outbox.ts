import { randomUUID } from 'node:crypto';
import type { Connection, mongo } from 'mongoose';
import { isDuplicateKey, storeCollections, type StoreCollections } from './collections.js';
import type { AuditEventDocument, OutboxEffect, OutboxEntry } from './documents.js';
import { uuidv7 } from './ids.js';
import { MembershipRepository } from './memberships.js';
import { documentById, FERRETDB_PROFILE, type StoreProfile } from './profile.js';

/** A document that can carry pending entries. */
export interface OutboxCarrier {
  _id: string;
  orgId: string;
  outbox?: OutboxEntry[];
}

/** A collection whose documents carry outbox entries: users, groups, and those of resource types added later. */
export type OutboxCollectionName = string;

/** The collections of the built-in resource kinds; groups first, so a relay pass settles memberships first. */
export const OUTBOX_COLLECTIONS: readonly OutboxCollectionName[] = ['groups', 'users'];

export type EventInput = Pick<AuditEventDocument, 'orgId' | 'action' | 'actor' | 'resourceType'> & {
  resourceId: string;
  changedAttributes?: string[];
  requestId?: string | null;
  traceId?: string | null;
  details?: Record<string, unknown>;
};

/** Tells the worker about a stored event (the fan-out job); may fail: the audit relay re-sends undispatched events. */
export type EventDispatch = (event: AuditEventDocument) => Promise<void>;

/**
 * The transactional outbox without transactions: every SCIM write puts its event (and the effects on other
 * documents) into the written document, then completes it. A crash, a killed pod or a failed database call
 * between the steps leaves the entry on the document, where the next write of that resource or the relay
 * (`relayOnce`) finishes it. Entries are completed in the order they were written; a writer completes the
 * pending entries of a document before writing it again, so a late replay never undoes a newer change.
 */
export class Outbox {
  private readonly collections: StoreCollections;
  private readonly memberships: MembershipRepository;

  private readonly carriers: readonly OutboxCollectionName[];
  /** This process's writer id, in every entry it writes. */
  readonly writer = randomUUID();

  /**
   * `collections`: every collection whose documents carry entries (the relay scans them), users and groups by
   * default. `profile`: the store profile, whose `documentById` filters the completion writes.
   */
  constructor(
    private readonly connection: Connection,
    private readonly dispatch: EventDispatch | null = null,
    collections: readonly OutboxCollectionName[] = OUTBOX_COLLECTIONS,
    private readonly profile: StoreProfile = FERRETDB_PROFILE,
  ) {
    this.collections = storeCollections(connection);
    this.memberships = new MembershipRepository(connection);
    this.carriers = collections;
  }

  /**
   * A new entry. Every value is defined (no `undefined` fields): FerretDB v1 removes an array element only by
   * exact equality (`$pull` with a condition matches nothing there), so the stored entry must equal this one.
   */
  entry(input: EventInput, effects: OutboxEffect[] = []): OutboxEntry {
    const event = auditEvent(input);
    return {
      id: event._id,
      at: event.occurredAt,
      writer: this.writer,
      event,
      effects: effects.map((e) => definedOnly<OutboxEffect>(e)),
    };
  }

  /**
   * Finishes one entry of a document: effects, the stored event, then the entry's removal (for `document.delete`,
   * the document's). Throws if a database step fails: the entry stays, and completing it again is safe.
   */
  async complete(collection: OutboxCollectionName, docId: string, entry: OutboxEntry): Promise<void> {
    for (const effect of entry.effects) await this.apply(entry.event.orgId, effect);
    try {
      await this.collections.auditEvents.insertOne(entry.event);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const target = this.collection(collection);
    // The document is the event's organisation's: on MongoDB the writes carry it (targeted on the shard key).
    const byId = documentById(this.profile, entry.event.orgId, docId) as mongo.Filter<OutboxCarrier>;
    if (entry.effects.some((e) => e.kind === 'document.delete')) {
      await target.deleteOne({ ...byId, deletedAt: { $ne: null } });
    } else {
      // Exact-equality $pull: the one form both MongoDB and FerretDB v1 apply (see `entry`).
      await target.updateOne(byId, {
        $pull: { outbox: entry },
      });
    }
    if (this.dispatch) {
      // The event is stored: a failed dispatch is the audit relay's to repeat, never the request's failure.
      await this.dispatch(entry.event).catch(() => undefined);
    }
  }

  /**
   * Completes the pending entries of a document, oldest first (those `which` selects; all by default). True when
   * any was completed, so the caller reads the document again.
   */
  async completePending(
    collection: OutboxCollectionName,
    doc: OutboxCarrier,
    which: (entry: OutboxEntry) => boolean = () => true,
  ): Promise<boolean> {
    const pending = (doc.outbox ?? []).filter(which).sort((a, b) => a.at.getTime() - b.at.getTime());
    for (const entry of pending) await this.complete(collection, doc._id, entry);
    return pending.length > 0;
  }

  /**
   * Whether a writer about to write a document completes this entry first: its own process's (a completion that
   * failed: the process holds the resource's lock, so none of its own is in flight), or anyone's older than
   * `settleMs` (its writer died or stalls). A younger entry of another process is its writer's, in flight: a write
   * that commutes with it ($push of its own entry) leaves it, and a replacement settles every entry first.
   */
  mustSettle(entry: OutboxEntry, settleMs: number, now = Date.now()): boolean {
    return entry.writer === this.writer || entry.at.getTime() <= now - settleMs;
  }

  /**
   * One relay pass: documents with an entry older than `minAgeMs` (their writer is gone), at most `limit` of
   * them per collection, completed in order. Returns how many entries were completed. Served by the
   * `outbox.at` index on MongoDB; safe to run on every replica at once.
   */
  async relayOnce(options: { minAgeMs: number; limit?: number; now?: number }): Promise<number> {
    const cutoff = new Date((options.now ?? Date.now()) - options.minAgeMs);
    let completed = 0;
    for (const name of this.carriers) {
      const docs = await this.collection(name)
        .find({ 'outbox.at': { $lte: cutoff } } as mongo.Filter<OutboxCarrier>, {
          projection: { _id: 1, orgId: 1, outbox: 1 },
        })
        .limit(options.limit ?? 500)
        .toArray();
      for (const doc of docs) {
        await this.completePending(name, doc);
        completed += doc.outbox?.length ?? 0;
      }
    }
    return completed;
  }

  private collection(name: OutboxCollectionName): mongo.Collection<OutboxCarrier> {
    return this.connection.collection<OutboxCarrier>(name);
  }

  private async apply(orgId: string, effect: OutboxEffect): Promise<void> {
    switch (effect.kind) {
      case 'members.add':
        await this.memberships.add(orgId, effect.groupId, effect.members);
        return;
      case 'members.remove':
        await this.memberships.remove(orgId, effect.groupId, effect.memberIds);
        return;
      case 'members.replace':
        await this.memberships.replace(orgId, effect.groupId, effect.members);
        return;
      case 'member.leave':
        // A repeat finds no rows and moves no version on.
        await this.memberships.touchGroups(
          orgId,
          await this.memberships.removeMember(orgId, effect.memberId),
        );
        return;
      case 'group.delete':
        await this.memberships.removeGroup(orgId, effect.groupId);
        return;
      case 'document.delete':
        // Done by `complete` once the event is stored: the document carries the entry until then.
        return;
    }
  }
}

/** An audit event as stored (`dispatchedAt` set for events nobody needs to fan out); no `undefined` fields. */
export function auditEvent(
  input: Omit<EventInput, 'resourceId'> & { resourceId: string | null },
  dispatched = false,
): AuditEventDocument {
  const now = new Date();
  return {
    _id: uuidv7(now.getTime()),
    orgId: input.orgId,
    action: input.action,
    actor: input.actor,
    resourceType: input.resourceType,
    resourceId: input.resourceId,
    changedAttributes: input.changedAttributes ?? [],
    requestId: input.requestId ?? null,
    traceId: input.traceId ?? null,
    occurredAt: now,
    dispatchedAt: dispatched ? now : null,
    ...(input.details ? { details: definedOnly(input.details) } : {}),
  };
}

/** A copy without `undefined` values (at any depth), so the stored entry is equal to the one in memory. */
function definedOnly<T>(value: T): T {
  if (Array.isArray(value)) return value.map(definedOnly) as T;
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = definedOnly(v);
  return out as T;
}
