import type { DefaultGroupPayload } from '@scimbridge/jobs';
import { normaliseKey } from '@scimbridge/scim-core';
import { MembershipRepository } from '@scimbridge/store';
import { findInOrganisation } from '../store/collections.js';
import type { UserDocument } from '../store/documents.js';
import type { ProcessorContext } from './context.js';
import type { JobOutcome } from './outcome.js';

/**
 * Adds the user to the default group named in the payload (the setting as it was at provisioning time).
 * libs/store's membership insert is keyed `${groupId}:${userId}`, so a retry or a second run is a no-op. A group
 * that no longer exists ends the job with a recorded reason: retrying cannot make it appear.
 */
export async function assignDefaultGroup(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'mongo' | 'logger' | 'effects'>,
  payload: DefaultGroupPayload,
): Promise<JobOutcome> {
  // Once per provisioning event: a re-sent job (relay, replay, re-drive) never adds back a user the IdP removed.
  return context.effects.once(
    payload.orgId,
    'default-group',
    payload.eventId,
    () => assign(context, payload),
    { outcome: 'skipped', reason: 'already-applied' },
  );
}

async function assign(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'mongo' | 'logger'>,
  payload: DefaultGroupPayload,
): Promise<JobOutcome> {
  const { users, groups } = context.collections;
  const user = await findInOrganisation(users, payload.userId, payload.orgId, context.storeProfile);
  if (!user) return skipped(context, payload, 'user-not-found');
  if (!isVisible(user)) return skipped(context, payload, 'user-deleted');
  const group = await groups.findOne(
    { orgId: payload.orgId, displayNameKey: normaliseKey(payload.groupDisplayName), deletedAt: null },
    { projection: { _id: 1 } },
  );
  if (!group) return skipped(context, payload, 'group-not-found');

  const memberships = new MembershipRepository(context.mongo);
  const added = await memberships.add(payload.orgId, group._id, [
    { id: user._id, type: 'User', ...displayOf(user) },
  ]);
  if (added === 0) return { outcome: 'skipped', reason: 'already-member' };
  // A DELETE that ran meanwhile removed the user's memberships before this row existed: take it back.
  const now = await findInOrganisation(users, payload.userId, payload.orgId, context.storeProfile);
  if (!now || !isVisible(now)) {
    await memberships.remove(payload.orgId, group._id, [user._id]);
    return skipped(context, payload, 'user-deleted');
  }
  // Only the run that added the member moves the group's version on.
  await memberships.touchGroups(payload.orgId, [group._id]);
  return { outcome: 'done' };
}

function skipped(
  context: Pick<ProcessorContext, 'logger'>,
  payload: DefaultGroupPayload,
  reason: string,
): JobOutcome {
  context.logger.warn(
    {
      orgId: payload.orgId,
      userId: payload.userId,
      group: payload.groupDisplayName,
      eventId: payload.eventId,
      reason,
    },
    'default group not applied',
  );
  return { outcome: 'skipped', reason };
}

/** Not deleted by SCIM (a linked account may still be taking on `scim.managed` from its account.linked job). */
function isVisible(user: UserDocument): boolean {
  return !user.scim?.deletedAt;
}

// RFC 7643 §4.2 `display` of the member, stored with the membership so member lists need no join.
function displayOf(user: UserDocument): { display?: string } {
  const display = user.displayName ?? user.userName;
  return typeof display === 'string' ? { display } : {};
}
