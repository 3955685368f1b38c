import type { StoredResource } from '@scimbridge/scim-core';
import type { mongo } from 'mongoose';
import { findInOrganisation } from './collections.js';
import type { OutboxEntry } from './documents.js';
import type { Outbox, OutboxCarrier, OutboxCollectionName } from './outbox.js';

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
  constructor(
    readonly name: OutboxCollectionName,
    readonly collection: mongo.Collection<D>,
    private readonly outbox: Outbox,
  ) {}

  /** The document by id in the organisation, whatever its visibility (the caller's policy decides). */
  find(orgId: string, id: string): Promise<D | null> {
    return findInOrganisation(this.collection, id, orgId) as Promise<D | null>;
  }

  /**
   * The document for a write: entries left by an earlier writer (crashed, or still finishing on another replica)
   * are completed first, so this write's entry never overtakes them.
   */
  async forWrite(orgId: string, id: string): Promise<D | null> {
    const doc = await this.find(orgId, id);
    if (!doc?.outbox?.length) return doc;
    await this.outbox.completePending(this.name, doc);
    return this.find(orgId, id);
  }

  /** Inserts a new document with its entry; a unique-index violation is the caller's to map. */
  async insert(doc: D, entry: OutboxEntry): Promise<void> {
    await this.collection.insertOne({ ...doc, outbox: [entry] } as mongo.OptionalUnlessRequiredId<D>);
  }

  /**
   * Replaces the document if it is still at `expectedVersion`; its pending entries were completed by `forWrite`,
   * so the new outbox is this change's entry alone. False when another write got there first.
   */
  async replace(doc: D, expectedVersion: number | undefined, entry: OutboxEntry): Promise<boolean> {
    const result = await this.collection.replaceOne(
      { _id: doc._id, orgId: doc.orgId, 'meta.version': expectedVersion } as mongo.Filter<D>,
      { ...doc, outbox: [entry] },
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
        _id: id,
        orgId,
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
