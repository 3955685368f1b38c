import type { StoredResource } from '@scimbridge/scim-core';
import type { mongo } from 'mongoose';
import { findInOrganisation } from './collections.js';
import type { OutboxEntry } from './documents.js';
import type { Outbox, OutboxCarrier, OutboxCollectionName } from './outbox.js';
import { documentById, FERRETDB_PROFILE, withFlatKeys, type StoreProfile } from './profile.js';

/** A SCIM resource as stored: scim-core's shape, its organisation and its pending outbox entries. */
export interface ResourceDocument extends StoredResource, OutboxCarrier {
  orgId: string;
  /** Set by a DELETE in the same write as its entry (kinds whose documents go away; users are kept, hidden). */
  deletedAt?: Date | null;
}

/** Fields an in-place update may set; `meta.version` and `meta.lastModified` are always moved on. */
export interface InPlaceUpdate {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
}

/**
 * The persistence of one resource kind, shared by every kind (users, groups, and any registered later). Every
 * write is one single-document write that carries the change's outbox entry, conditioned on the version read
 * (compare-and-set) unless the caller says the change commutes; the entry is then completed by `complete`.
 */
export class ResourceRepository<D extends ResourceDocument> {
  /**
   * `settleMs`: how old another replica's pending entry must be before a writer completes it (the relay's age).
   * `profile`: the server's store profile (lookup shapes, `$elemMatch`); without one, the shapes every server serves.
   */
  constructor(
    readonly name: OutboxCollectionName,
    readonly collection: mongo.Collection<D>,
    private readonly outbox: Outbox,
    private readonly settleMs = 5_000,
    readonly profile: StoreProfile = FERRETDB_PROFILE,
  ) {}

  /** The document by id in the organisation, whatever its visibility (the caller's policy decides). */
  find(orgId: string, id: string): Promise<D | null> {
    return findInOrganisation(this.collection, id, orgId, this.profile) as Promise<D | null>;
  }

  /**
   * The document for a write. Entries this process left (a completion that failed) and entries older than
   * `settleMs` (a writer that died) are completed first, so this write's entry never overtakes them; a young entry
   * of another replica is left to its writer (see `Outbox.mustSettle`).
   */
  async forWrite(orgId: string, id: string): Promise<D | null> {
    const doc = await this.find(orgId, id);
    if (!doc?.outbox?.length) return doc;
    const now = Date.now();
    const settled = await this.outbox.completePending(this.name, doc, (entry) =>
      this.outbox.mustSettle(entry, this.settleMs, now),
    );
    return settled ? this.find(orgId, id) : doc;
  }

  /**
   * Completes every pending entry of the document (other replicas' in-flight ones too: their completion is
   * idempotent) and reads it again. A replacement rewrites the outbox, so it starts from an empty one.
   */
  async settle(doc: D): Promise<D | null> {
    if (!doc.outbox?.length) return doc;
    await this.outbox.completePending(this.name, doc);
    return this.find(doc.orgId, doc._id);
  }

  /** Inserts a new document with its entry; a unique-index violation is the caller's to map. */
  async insert(doc: D, entry: OutboxEntry): Promise<void> {
    await this.collection.insertOne({
      ...withFlatKeys(this.profile, this.name, doc),
      outbox: [entry],
    } as mongo.OptionalUnlessRequiredId<D>);
  }

  /**
   * Replaces the document if it is still at `expectedVersion`; the caller settled its pending entries (`settle`),
   * so the new outbox is this change's entry alone. False when another write got there first.
   */
  async replace(doc: D, expectedVersion: number | undefined, entry: OutboxEntry): Promise<boolean> {
    const result = await this.collection.replaceOne(
      {
        ...documentById(this.profile, doc.orgId, doc._id),
        'meta.version': expectedVersion,
      } as mongo.Filter<D>,
      { ...withFlatKeys(this.profile, this.name, doc), outbox: [entry] },
    );
    return result.matchedCount > 0;
  }

  /**
   * Moves the version on and appends the entry, in one update; with `expectedVersion` only from that version.
   * Without it the update commutes with concurrent ones (member changes through several replicas). Returns the
   * document after the update, or null if none matched.
   */
  async update(
    orgId: string,
    id: string,
    expectedVersion: number | undefined,
    update: InPlaceUpdate,
    entry: OutboxEntry,
  ): Promise<D | null> {
    return this.collection.findOneAndUpdate(
      {
        ...documentById(this.profile, orgId, id),
        ...(expectedVersion === undefined ? {} : { 'meta.version': expectedVersion }),
      } as mongo.Filter<D>,
      {
        ...(update.$unset ? { $unset: update.$unset } : {}),
        $set: { ...update.$set, 'meta.lastModified': entry.at },
        $inc: { 'meta.version': 1 },
        $push: { outbox: entry },
      } as unknown as mongo.UpdateFilter<D>,
      { returnDocument: 'after' },
    ) as Promise<D | null>;
  }

  /** Finishes this write's entry (effects, audit event, removal); throws if a step fails (the relay finishes it). */
  complete(id: string, entry: OutboxEntry): Promise<void> {
    return this.outbox.complete(this.name, id, entry);
  }
}
