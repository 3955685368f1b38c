import type { MemberRef } from '@scimbridge/scim-core';
import type { Connection } from 'mongoose';
import { isDuplicateKey, storeCollections, type StoreCollections } from './collections.js';
import type { MembershipDocument, ResolvedMember } from './documents.js';
import { anyOf } from './query.js';

const MEMBER_FIELDS = { memberId: 1, memberType: 1, display: 1 } as const;

function memberRef(d: Pick<MembershipDocument, 'memberId' | 'memberType' | 'display'>): MemberRef {
  return {
    value: d.memberId,
    type: d.memberType,
    ...(d.display === undefined ? {} : { display: d.display }),
  };
}

export function membershipId(groupId: string, memberId: string): string {
  return `${groupId}:${memberId}`;
}

/**
 * Group membership, one document per member. Adds are unique-key inserts and removes are deletes by key, both
 * atomic on MongoDB and FerretDB alike, so concurrent PATCHes of one group never lose a member (interop #22).
 */
export class MembershipRepository {
  private readonly collections: StoreCollections;

  constructor(connection: Connection) {
    this.collections = storeCollections(connection);
  }

  /** Inserts the members not yet present; returns how many were new. */
  async add(orgId: string, groupId: string, members: readonly ResolvedMember[]): Promise<number> {
    if (members.length === 0) return 0;
    const now = new Date();
    const docs: MembershipDocument[] = members.map((m) => ({
      _id: membershipId(groupId, m.id),
      orgId,
      groupId,
      memberId: m.id,
      memberType: m.type,
      ...(m.display === undefined ? {} : { display: m.display }),
      addedAt: now,
    }));
    try {
      const result = await this.collections.memberships.insertMany(docs, { ordered: false });
      return result.insertedCount;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const inserted = (error as { result?: { insertedCount?: number } }).result?.insertedCount;
      return typeof inserted === 'number' ? inserted : 0;
    }
  }

  /** Deletes the given members of the group; returns how many were removed. */
  async remove(orgId: string, groupId: string, memberIds: readonly string[]): Promise<number> {
    if (memberIds.length === 0) return 0;
    const result = await this.collections.memberships.deleteMany({
      orgId,
      _id: anyOf(memberIds.map((id) => membershipId(groupId, id))),
    });
    return result.deletedCount;
  }

  /** Makes the membership exactly `members`: deletes the others, inserts the missing ones. */
  async replace(orgId: string, groupId: string, members: readonly ResolvedMember[]): Promise<boolean> {
    const wanted = new Set(members.map((m) => m.id));
    const current = await this.memberIds(orgId, groupId);
    const stale = current.filter((id) => !wanted.has(id));
    const have = new Set(current);
    const removed = await this.remove(orgId, groupId, stale);
    const added = await this.add(
      orgId,
      groupId,
      members.filter((m) => !have.has(m.id)),
    );
    return removed + added > 0;
  }

  /** Which of `memberIds` are members of the group now: one keyed read, bounded by the ids asked about. */
  async present(orgId: string, groupId: string, memberIds: readonly string[]): Promise<Set<string>> {
    if (memberIds.length === 0) return new Set();
    const docs = await this.collections.memberships
      .find(
        { orgId, _id: anyOf(memberIds.map((id) => membershipId(groupId, id))) },
        { projection: { memberId: 1 } },
      )
      .toArray();
    return new Set(docs.map((d) => d.memberId));
  }

  async memberIds(orgId: string, groupId: string): Promise<string[]> {
    const docs = await this.collections.memberships
      .find({ orgId, groupId }, { projection: { memberId: 1 } })
      .toArray();
    return docs.map((d) => d.memberId);
  }

  /** The group's members, at most `limit` of them, as SCIM renders them (`$ref` is computed on output). */
  async members(orgId: string, groupId: string, limit: number): Promise<MemberRef[]> {
    const docs = await this.collections.memberships
      .find({ orgId, groupId }, { projection: MEMBER_FIELDS })
      .limit(limit)
      .toArray();
    return docs.map(memberRef);
  }

  /**
   * The members of several groups in one query, or undefined when together they have more than `limit`: a list
   * page asks once for all its groups instead of once per group.
   */
  async membersOfGroups(
    orgId: string,
    groupIds: readonly string[],
    limit: number,
  ): Promise<Map<string, MemberRef[]> | undefined> {
    const byGroup = new Map<string, MemberRef[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return byGroup;
    const docs = await this.collections.memberships
      .find({ orgId, groupId: anyOf(groupIds) }, { projection: { ...MEMBER_FIELDS, groupId: 1 } })
      .limit(limit + 1)
      .toArray();
    if (docs.length > limit) return undefined;
    for (const d of docs) byGroup.get(d.groupId)?.push(memberRef(d));
    return byGroup;
  }

  /**
   * Every member of the group, read from one cursor in batches: memory stays at one batch whatever the group's
   * size. Closing the iteration early (a client that went away) closes the cursor.
   */
  async *memberBatches(orgId: string, groupId: string, batchSize: number): AsyncGenerator<MemberRef[]> {
    const cursor = this.collections.memberships
      .find({ orgId, groupId }, { projection: MEMBER_FIELDS })
      .batchSize(batchSize);
    try {
      let batch: MemberRef[] = [];
      for await (const doc of cursor) {
        batch.push(memberRef(doc));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await cursor.close();
    }
  }

  /** Every membership of a member (a user's `groups`, or the groups a group belongs to). */
  async ofMember(orgId: string, memberId: string): Promise<MembershipDocument[]> {
    return this.collections.memberships.find({ orgId, memberId }).toArray();
  }

  async ofMembers(orgId: string, memberIds: readonly string[]): Promise<MembershipDocument[]> {
    if (memberIds.length === 0) return [];
    return this.collections.memberships.find({ orgId, memberId: anyOf(memberIds) }).toArray();
  }

  /**
   * Membership rows of the organisation matching a query on `memberId` / `groupId` (filters on members), at most
   * `limit` of them: the caller asks for one more than it accepts, and refuses a filter that reads past that.
   */
  async rows(
    orgId: string,
    query: { memberId?: string; groupId?: string },
    limit: number,
  ): Promise<MembershipDocument[]> {
    return this.collections.memberships
      .find({ orgId, ...query })
      .limit(limit)
      .toArray();
  }

  /**
   * Moves the groups' versions on after their members changed outside a SCIM write of the group (a deleted user
   * left them, the default group took a user): their ETags must change with their members (RFC 7644 §3.14).
   */
  async touchGroups(orgId: string, groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    await this.collections.groups.updateMany({ orgId, _id: anyOf(groupIds) }, {
      $inc: { 'meta.version': 1 },
      $set: { 'meta.lastModified': new Date() },
    } as never);
  }

  /** A deleted group takes its memberships with it, and leaves every group it was a member of. */
  async removeGroup(orgId: string, groupId: string): Promise<void> {
    await this.collections.memberships.deleteMany({ orgId, groupId });
    await this.collections.memberships.deleteMany({ orgId, memberId: groupId });
  }

  /** A user deleted by SCIM is gone from every group's members. */
  async removeMember(orgId: string, memberId: string): Promise<string[]> {
    const docs = await this.ofMember(orgId, memberId);
    if (docs.length === 0) return [];
    await this.collections.memberships.deleteMany({ orgId, memberId });
    return docs.map((d) => d.groupId);
  }
}
