import {
  evaluateCompiled,
  type ExternalFilterRequest,
  type GroupRef,
  type MemberRef,
  type MongoFilter,
} from '@scimbridge/scim-core';
import {
  SCIM_VISIBLE,
  type MembershipRepository,
  type ResolvedMember,
  type StoreCollections,
} from '@scimbridge/store';

/**
 * Member values are checked against the organisation before they are stored: ids that are unknown, deleted or
 * belong to another organisation are never added. They are ignored (and named in the audit event) rather than
 * refused, because Entra and scim-sanity add members the server may not know yet and expect 200.
 */
export async function resolveMembers(
  collections: StoreCollections,
  orgId: string,
  refs: readonly MemberRef[],
): Promise<{ members: ResolvedMember[]; ignored: string[] }> {
  const ids = [...new Set(refs.map((r) => r.value).filter((v) => typeof v === 'string' && v !== ''))];
  if (ids.length === 0) return { members: [], ignored: [] };
  const [users, groups] = await Promise.all([
    collections.users
      .find(
        { orgId, _id: { $in: ids }, ...SCIM_VISIBLE },
        { projection: { _id: 1, userName: 1, displayName: 1 } },
      )
      .toArray(),
    collections.groups
      .find({ orgId, _id: { $in: ids } }, { projection: { _id: 1, displayName: 1 } })
      .toArray(),
  ]);
  const found = new Map<string, ResolvedMember>();
  for (const u of users) {
    const display = (u.displayName ?? u.userName) as string | undefined;
    found.set(u._id, { id: u._id, type: 'User', ...(display ? { display } : {}) });
  }
  for (const g of groups) found.set(g._id, { id: g._id, type: 'Group', display: g.displayName as string });
  return {
    members: ids.flatMap((id) => found.get(id) ?? []),
    ignored: ids.filter((id) => !found.has(id)),
  };
}

/** A user's computed `groups` (RFC 7643 §4.1.2, readOnly), from the membership collection. */
export async function groupsOfUser(
  collections: StoreCollections,
  memberships: MembershipRepository,
  orgId: string,
  userIds: readonly string[],
): Promise<Map<string, GroupRef[]>> {
  const rows = await memberships.ofMembers(orgId, userIds);
  const groupIds = [...new Set(rows.map((r) => r.groupId))];
  const groups = groupIds.length
    ? await collections.groups
        .find({ orgId, _id: { $in: groupIds } }, { projection: { displayName: 1 } })
        .toArray()
    : [];
  const names = new Map(groups.map((g) => [g._id, g.displayName as string]));
  const byUser = new Map<string, GroupRef[]>();
  for (const row of rows) {
    const display = names.get(row.groupId);
    const list = byUser.get(row.memberId) ?? [];
    list.push({ value: row.groupId, type: 'direct', ...(display ? { display } : {}) });
    byUser.set(row.memberId, list);
  }
  return byUser;
}

/**
 * Answers filters on `members` (Groups) and `groups` (Users), which live in the membership collection:
 * the membership rows are matched in memory with the core's compiled element filter.
 */
export function externalResolver(memberships: MembershipRepository, orgId: string, side: 'groups' | 'users') {
  return async (request: ExternalFilterRequest): Promise<MongoFilter> => {
    const node = request.filter;
    const valueEq =
      node?.type === 'compare' &&
      node.op === 'eq' &&
      node.attribute.toLowerCase() === 'value' &&
      typeof node.value === 'string'
        ? node.value
        : undefined;
    const base =
      valueEq === undefined ? {} : side === 'groups' ? { memberId: valueEq } : { groupId: valueEq };
    const rows = await memberships.rows(orgId, base);
    const matching = request.compiled
      ? rows.filter((row) =>
          evaluateCompiled(request.compiled!, {
            value: side === 'groups' ? row.memberId : row.groupId,
            type: side === 'groups' ? row.memberType : 'direct',
            ...(row.display && side === 'groups' ? { display: row.display } : {}),
          }),
        )
      : rows;
    const ids = [...new Set(matching.map((row) => (side === 'groups' ? row.groupId : row.memberId)))];
    return { _id: { $in: ids } };
  };
}
