import {
  accountLinkedJob,
  auditDeliveryJob,
  defaultGroupJob,
  type AuditFanoutPayload,
  type TraceCarrier,
} from '@scimbridge/jobs';
import type { AuditEventDocument } from '../store/documents.js';
import { publishedAuditEvent } from '../audit/event-body.js';
import { scimEventsOf } from '../audit/security-event.js';
import { findInOrganisation } from '../store/collections.js';
import type { ProcessorContext } from './context.js';
import type { JobOutcome } from './outcome.js';

/**
 * Reads the stored event and hands it to every sink: one delivery job per webhook or event stream (each with its own retries,
 * so one failing receiver does not delay the others) and one line on the JSON-lines stream. An event without
 * webhooks is dispatched here; otherwise the last delivery to settle marks it.
 */
export async function fanOutAuditEvent(
  context: Pick<
    ProcessorContext,
    | 'collections'
    | 'storeProfile'
    | 'sinks'
    | 'auditStream'
    | 'deliveryQueue'
    | 'provisioningQueue'
    | 'settings'
    | 'dispatchMarks'
  >,
  payload: AuditFanoutPayload,
): Promise<JobOutcome> {
  const event = await findInOrganisation(
    context.collections.auditEvents,
    payload.eventId,
    payload.orgId,
    context.storeProfile,
  );
  if (!event) return { outcome: 'skipped', reason: 'event-not-found' };
  if (event.dispatchedAt) return { outcome: 'skipped', reason: 'already-dispatched' };

  await enqueueProvisioningOf(context, event, payload.trace);
  const sinks = await context.sinks.sinksOf(payload.orgId);
  // An event with no RFC 9967 form (an authentication failure, `user.linked`) goes to webhooks only.
  const hasSet = scimEventsOf(event) !== null;
  const names = sinks.filter((sink) => sink.kind === 'webhook' || hasSet).map((sink) => sink.name);
  if (names.length > 0) {
    await context.deliveryQueue.addBulk(
      names.map((sink) =>
        auditDeliveryJob.bulkEntry(
          { eventId: payload.eventId, orgId: payload.orgId, sink, sinks: names, trace: payload.trace },
          { settings: context.settings },
        ),
      ),
    );
  }
  // Written after the deliveries are enqueued: a retry of this job then repeats at most the log line.
  context.auditStream.write(publishedAuditEvent(event));
  if (names.length === 0) await context.dispatchMarks.mark(payload.orgId, payload.eventId);
  return { outcome: 'done' };
}

/**
 * The audit event is also the outbox of the provisioning jobs its request asked for: when the api's own enqueue
 * was lost (Redis down, process killed), the relay's fan-out re-derives them here. Same job ids, so when the
 * api's enqueue did land this is a no-op. `user.created` carries `details.defaultGroup` (the setting at
 * provisioning time) and `details.linkedAccount` (an existing account was linked).
 */
async function enqueueProvisioningOf(
  context: Pick<ProcessorContext, 'provisioningQueue'>,
  event: AuditEventDocument,
  trace: TraceCarrier,
): Promise<void> {
  if (event.action !== 'user.created' || !event.resourceId) return;
  const jobs = [];
  const defaultGroup = event.details?.defaultGroup;
  if (typeof defaultGroup === 'string' && defaultGroup !== '') {
    jobs.push(
      defaultGroupJob.bulkEntry({
        orgId: event.orgId,
        userId: event.resourceId,
        groupDisplayName: defaultGroup,
        eventId: event._id,
        trace,
      }),
    );
  }
  if (event.details?.linkedAccount === true && event.actor.type === 'token') {
    const externalId = event.details.externalId;
    jobs.push(
      accountLinkedJob.bulkEntry({
        orgId: event.orgId,
        userId: event.resourceId,
        tokenId: event.actor.id,
        eventId: event._id,
        trace,
        ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
      }),
    );
  }
  if (jobs.length > 0) await context.provisioningQueue.addBulk(jobs);
}
