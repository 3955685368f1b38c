import {
  evaluateCompiled,
  limitExceeded,
  type ExternalFilterRequest,
  type GroupRef,
  type MemberRef,
  type MongoFilter,
} from '@scimbridge/scim-core';
import {
  SCIM_VISIBLE,
  anyOf,
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
  const sent = new Map<string, MemberRef>();
  for (const ref of refs)
    if (typeof ref.value === 'string' && ref.value !== '' && !sent.has(ref.value)) sent.set(ref.value, ref);
  const ids = [...sent.keys()];
  if (ids.length === 0) return { members: [], ignored: [] };
  const [users, groups] = await Promise.all([
    collections.users.find({ orgId, _id: anyOf(ids), ...SCIM_VISIBLE }, { projection: { _id: 1 } }).toArray(),
    collections.groups
      .find({ orgId, _id: anyOf(ids), deletedAt: null }, { projection: { _id: 1 } })
      .toArray(),
  ]);
  const types = new Map<string, 'User' | 'Group'>();
  for (const u of users) types.set(u._id, 'User');
  for (const g of groups) types.set(g._id, 'Group');
  // `display` is kept as the client sent it (round-trips exactly, as checkers and IdPs compare it).
  return {
    members: ids.flatMap((id) => {
      const type = types.get(id);
      const display = sent.get(id)?.display;
      return type ? [{ id, type, ...(typeof display === 'string' ? { display } : {}) }] : [];
    }),
    ignored: ids.filter((id) => !types.has(id)),
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
        .find({ orgId, _id: anyOf(groupIds) }, { projection: { displayName: 1 } })
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
export function externalResolver(
  memberships: MembershipRepository,
  orgId: string,
  side: 'groups' | 'users',
  maxRows: number,
) {
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
    // One bounded query: a filter that would read more of the organisation's memberships is refused, not served.
    const rows = await memberships.rows(orgId, base, maxRows + 1);
    if (rows.length > maxRows)
      throw limitExceeded(
        'filter_too_broad',
        400,
        'tooMany',
        `The filter on "${request.attribute}" needs more than ${maxRows} memberships; narrow it (e.g. ${side === 'groups' ? 'members[value eq "<user id>"]' : 'groups[value eq "<group id>"]'}).`,
      );
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
    return { _id: anyOf(ids) };
  };
}
