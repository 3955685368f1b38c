import type { AuditDeliveryPayload } from '@scimbridge/jobs';
import { DelayedError, type Job } from 'bullmq';
import { publishedAuditEvent } from '../audit/event-body.js';
import { markDispatchedIfSettled } from '../audit/dispatch.js';
import { egressPolicy } from '../audit/egress.js';
import { pushSecurityEvent } from '../audit/push.js';
import { securityEventClaims } from '../audit/security-event.js';
import type { AuditSink } from '../audit/sinks.js';
import { postWebhook, type WebhookResult } from '../audit/webhook.js';
import { documentById, findInOrganisation, isDuplicateKey } from '../store/collections.js';
import { deliveryKey } from '../store/documents.js';
import type { ProcessorContext } from './context.js';
import { RetryableJobError, type JobOutcome } from './outcome.js';

/** How long a delivery first waits when its sink's slots are taken; doubles per deferral up to the cap. */
const DEFER_MS = 200;
const MAX_DEFER_MS = 5_000;

/**
 * Delivers one event to one sink: a signed webhook, or an RFC 8935 push of the event's SET (event streams). A delivery record (`${eventId}:${sink}`, unique) is written after the
 * receiver's 2xx, so a re-run skips a sink that already has the event; only a crash between the 2xx and that
 * insert repeats a delivery (at-least-once; receivers de-duplicate on the event id). The last attempt, or a
 * response that retrying cannot fix, writes a dead letter instead of failing the job.
 */
export async function deliverAuditEvent(
  context: Pick<
    ProcessorContext,
    | 'collections'
    | 'storeProfile'
    | 'sinks'
    | 'slots'
    | 'settings'
    | 'logger'
    | 'dispatchMarks'
    | 'eventSigner'
  >,
  job: Job<unknown>,
  token: string | undefined,
  payload: AuditDeliveryPayload,
): Promise<JobOutcome> {
  const { auditEvents, auditDeliveries } = context.collections;
  const attempt = job.attemptsMade + 1;
  const redrive = job.id?.includes('-redrive-') ?? false;
  if (
    await auditDeliveries.findOne(
      documentById(context.storeProfile, payload.orgId, deliveryKey(payload.eventId, payload.sink)),
      { projection: { _id: 1 } },
    )
  ) {
    await markDispatchedIfSettled(
      context.collections,
      context.storeProfile,
      context.dispatchMarks,
      payload,
      payload.sinks,
      payload.sink,
    );
    return { outcome: 'skipped', reason: 'already-delivered' };
  }
  const sink = await context.sinks.sink(payload.orgId, payload.sink);
  if (!sink) {
    await recordDelivery(context, payload, 'skipped', attempt, redrive);
    return { outcome: 'skipped', reason: 'sink-removed' };
  }
  const event = await findInOrganisation(auditEvents, payload.eventId, payload.orgId, context.storeProfile);
  if (!event) return { outcome: 'skipped', reason: 'event-not-found' };

  // Only the request holds one of the sink's slots (src/fairness.ts); the bookkeeping around it does not.
  const release = await context.slots.acquire(`${payload.orgId}/${payload.sink}`);
  if (!release) {
    await job.moveToDelayed(Date.now() + deferral(job), token);
    throw new DelayedError();
  }
  let result: WebhookResult | null;
  try {
    result = await send(context, sink, event, attempt);
  } finally {
    release();
  }
  if (result === null) {
    // No RFC 9967 form (the fan-out leaves such events out of event streams; a re-drive may still ask).
    await recordDelivery(context, payload, 'skipped', attempt, redrive);
    return { outcome: 'skipped', reason: 'no-security-event' };
  }
  if (result.ok) {
    await recordDelivery(context, payload, 'delivered', attempt, redrive);
    return { outcome: 'done' };
  }
  const lastAttempt = attempt >= (job.opts.attempts ?? 1);
  if (!result.retryable || lastAttempt) {
    await deadLetter(context, payload, attempt, result.reason, result.status, result.message);
    context.logger.warn(
      { orgId: payload.orgId, eventId: payload.eventId, sink: payload.sink, attempt, reason: result.reason },
      'audit delivery dead-lettered',
    );
    return { outcome: 'dead-lettered', reason: result.reason };
  }
  throw new RetryableJobError(result.reason, `${payload.sink}: ${result.message}`, result.retryAfterMs);
}

/** One attempt at one sink; null when the event has no form for it. */
async function send(
  context: Pick<ProcessorContext, 'settings' | 'eventSigner'>,
  sink: AuditSink,
  event: Parameters<typeof publishedAuditEvent>[0],
  attempt: number,
): Promise<WebhookResult | null> {
  const common = {
    timeoutMs: context.settings.AUDIT_WEBHOOK_TIMEOUT_MS,
    egress: egressPolicy(context.settings),
  };
  if (sink.kind === 'webhook') {
    return postWebhook({
      sink: sink.webhook,
      eventId: event._id,
      body: JSON.stringify(publishedAuditEvent(event)),
      attempt,
      ...common,
    });
  }
  const claims = securityEventClaims(event, {
    issuer: context.settings.SCIM_EVENTS_ISSUER,
    audience: sink.stream.audience,
  });
  if (!claims) return null;
  return pushSecurityEvent({ stream: sink.stream, token: await context.eventSigner.sign(claims), ...common });
}

async function recordDelivery(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'dispatchMarks'>,
  payload: AuditDeliveryPayload,
  outcome: 'delivered' | 'skipped',
  attempts: number,
  redrive: boolean,
): Promise<void> {
  const key = deliveryKey(payload.eventId, payload.sink);
  try {
    await context.collections.auditDeliveries.insertOne({
      _id: key,
      orgId: payload.orgId,
      eventId: payload.eventId,
      sink: payload.sink,
      outcome,
      attempts,
      at: new Date(),
    });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  if (redrive) {
    await context.collections.auditDeadLetters.updateOne(
      documentById(context.storeProfile, payload.orgId, key),
      { $set: { status: 'redelivered', resolvedAt: new Date() } },
    );
  }
  await markDispatchedIfSettled(
    context.collections,
    context.storeProfile,
    context.dispatchMarks,
    payload,
    payload.sinks,
    payload.sink,
  );
}

async function deadLetter(
  context: Pick<ProcessorContext, 'collections' | 'storeProfile' | 'dispatchMarks'>,
  payload: AuditDeliveryPayload,
  attempts: number,
  reason: string,
  status: number | null,
  message: string,
): Promise<void> {
  const key = deliveryKey(payload.eventId, payload.sink);
  const byKey = documentById(context.storeProfile, payload.orgId, key);
  const previous = await context.collections.auditDeadLetters.findOne(byKey);
  await context.collections.auditDeadLetters.replaceOne(
    byKey,
    {
      orgId: payload.orgId,
      eventId: payload.eventId,
      sink: payload.sink,
      status: 'dead',
      reason,
      lastStatusCode: status,
      lastError: message,
      attempts,
      deadLetteredAt: new Date(),
      redriveCount: previous?.redriveCount ?? 0,
      redrivenAt: previous?.redrivenAt ?? null,
      resolvedAt: null,
    },
    { upsert: true },
  );
  await markDispatchedIfSettled(
    context.collections,
    context.storeProfile,
    context.dispatchMarks,
    payload,
    payload.sinks,
    payload.sink,
  );
}

/**
 * A deferral does not count as an attempt, but it does count as a start: the backlog of a sink that stays
 * saturated sleeps longer each time, instead of being fetched and put back in a tight loop. Jittered so
 * deferred jobs spread out.
 */
function deferral(job: Job<unknown>): number {
  const deferrals = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
  const base = Math.min(MAX_DEFER_MS, DEFER_MS * 2 ** Math.min(deferrals, 5));
  return Math.floor((base * (1 + Math.random())) / 2 + base / 2);
}
