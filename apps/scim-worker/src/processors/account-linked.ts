import { auditFanoutJob, traceIdOf, type AccountLinkedPayload } from '@scimbridge/jobs';
import { derivedEventId } from '../audit/derived-event-id.js';
import { documentById, findInOrganisation, isDuplicateKey } from '../store/collections.js';
import type { AuditEventDocument } from '../store/documents.js';
import type { ProcessorContext } from './context.js';
import type { JobOutcome } from './outcome.js';

/**
 * Side effects of linking an IdP identity to an existing account: SSO only (the password hash is dropped),
 * SCIM-managed with the IdP's externalId, who (the token) and when (the job's creation time, so a retry writes
 * the same values), then one `user.linked` audit event whose id derives from the triggering event.
 */
export async function linkAccount(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'auditQueue' | 'logger' | 'effects'>,
  payload: AccountLinkedPayload,
  linkedAt: Date,
): Promise<JobOutcome> {
  // Once per linking event: a replay must not write an old externalId over a newer one.
  return context.effects.once(
    payload.orgId,
    'account-linked',
    payload.eventId,
    () => link(context, payload, linkedAt),
    { outcome: 'skipped', reason: 'already-applied' },
  );
}

async function link(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'auditQueue' | 'logger'>,
  payload: AccountLinkedPayload,
  linkedAt: Date,
): Promise<JobOutcome> {
  const { users, auditEvents } = context.collections;
  const user = await findInOrganisation(users, payload.userId, payload.orgId, context.storeProfile);
  if (!user) {
    context.logger.warn({ orgId: payload.orgId, userId: payload.userId }, 'account to link not found');
    return { outcome: 'skipped', reason: 'user-not-found' };
  }
  await users.updateOne(documentById(context.storeProfile, payload.orgId, payload.userId), {
    $set: {
      'auth.ssoOnly': true,
      'scim.managed': true,
      'scim.linkedAt': user.scim?.linkedAt ?? linkedAt,
      'scim.linkedBy': payload.tokenId,
      ...(payload.externalId === undefined ? {} : { 'scim.externalId': payload.externalId }),
    },
    $unset: { 'auth.passwordHash': '' },
  });

  const event: AuditEventDocument = {
    _id: derivedEventId(payload.eventId, 'user.linked'),
    orgId: payload.orgId,
    action: 'user.linked',
    actor: { type: 'token', id: payload.tokenId },
    resourceType: 'User',
    resourceId: payload.userId,
    changedAttributes: payload.externalId === undefined ? [] : ['externalId'],
    requestId: null,
    traceId: traceIdOf(payload.trace),
    occurredAt: linkedAt,
    dispatchedAt: null,
    details: { sourceEventId: payload.eventId, ssoOnly: true },
  };
  try {
    await auditEvents.insertOne(event);
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  // If this add is lost, the relay enqueues the stored event later; a failed one fails the job, as it did.
  const enqueued = await auditFanoutJob.enqueue(context.auditQueue, {
    eventId: event._id,
    orgId: event.orgId,
    trace: payload.trace,
  });
  if (!enqueued.ok) throw enqueued.error;
  return { outcome: 'done' };
}
