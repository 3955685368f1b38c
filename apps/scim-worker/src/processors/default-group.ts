import type { DefaultGroupPayload } from '@scimbridge/jobs';
import { normaliseKey } from '@scimbridge/scim-core';
import { findInOrganisation, isDuplicateKey } from '../store/collections.js';
import type { ProcessorContext } from './context.js';
import type { JobOutcome } from './outcome.js';

/**
 * Adds the user to the default group named in the payload (the setting as it was at provisioning time).
 * The membership `_id` is `${groupId}:${userId}`, so a retry or a second run is a duplicate-key no-op. A group
 * that no longer exists ends the job with a recorded reason: retrying cannot make it appear.
 */
export async function assignDefaultGroup(
  context: Pick<ProcessorContext, 'collections' | 'logger'>,
  payload: DefaultGroupPayload,
): Promise<JobOutcome> {
  const { users, groups, memberships } = context.collections;
  const user = await findInOrganisation(users, payload.userId, payload.orgId);
  if (!user) return skipped(context, payload, 'user-not-found');
  const group = await groups.findOne(
    { orgId: payload.orgId, displayNameKey: normaliseKey(payload.groupDisplayName) },
    { projection: { _id: 1 } },
  );
  if (!group) return skipped(context, payload, 'group-not-found');

  const now = new Date();
  try {
    await memberships.insertOne({
      _id: `${group._id}:${payload.userId}`,
      orgId: payload.orgId,
      groupId: group._id,
      memberId: payload.userId,
      memberType: 'User',
      addedAt: now,
    });
  } catch (error) {
    if (isDuplicateKey(error)) return { outcome: 'skipped', reason: 'already-member' };
    throw error;
  }
  // The group's ETag must change with its members (RFC 7644 §3.14); only the run that added the member bumps it.
  await groups.updateOne(
    { _id: group._id },
    { $inc: { 'meta.version': 1 }, $set: { 'meta.lastModified': now } },
  );
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
