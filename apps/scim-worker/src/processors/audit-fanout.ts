import { JobName, jobIds, type AuditDeliveryPayload, type AuditFanoutPayload } from '@scimbridge/jobs';
import { publishedAuditEvent } from '../audit/event-body.js';
import { markDispatched } from '../audit/dispatch.js';
import { findInOrganisation } from '../store/collections.js';
import { deliveryJobOptions } from './delivery-options.js';
import type { ProcessorContext } from './context.js';
import type { JobOutcome } from './outcome.js';

/**
 * Reads the stored event and hands it to every sink: one delivery job per webhook (each with its own retries,
 * so one failing receiver does not delay the others) and one line on the JSON-lines stream. An event without
 * webhooks is dispatched here; otherwise the last delivery to settle marks it.
 */
export async function fanOutAuditEvent(
  context: Pick<ProcessorContext, 'collections' | 'sinks' | 'auditStream' | 'deliveryQueue' | 'settings'>,
  payload: AuditFanoutPayload,
): Promise<JobOutcome> {
  const event = await findInOrganisation(context.collections.auditEvents, payload.eventId, payload.orgId);
  if (!event) return { outcome: 'skipped', reason: 'event-not-found' };
  if (event.dispatchedAt) return { outcome: 'skipped', reason: 'already-dispatched' };

  const sinks = await context.sinks.sinksOf(payload.orgId);
  const names = sinks.map((sink) => sink.name);
  if (names.length > 0) {
    await context.deliveryQueue.addBulk(
      names.map((sink) => ({
        name: JobName.auditDelivery,
        data: {
          v: 1,
          eventId: payload.eventId,
          orgId: payload.orgId,
          sink,
          sinks: names,
          trace: payload.trace,
        } satisfies AuditDeliveryPayload,
        opts: { ...deliveryJobOptions(context.settings), jobId: jobIds.auditDelivery(payload.eventId, sink) },
      })),
    );
  }
  // Written after the deliveries are enqueued: a retry of this job then repeats at most the log line.
  context.auditStream.write(publishedAuditEvent(event));
  if (names.length === 0) await markDispatched(context.collections, payload);
  return { outcome: 'done' };
}
