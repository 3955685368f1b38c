import { auditFanoutJob, QueueName, traceCarrierForTraceId } from '@scimbridge/jobs';
import { FERRETDB_PROFILE, MembershipRepository } from '@scimbridge/store';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { deadLetterCollections } from './collections.js';
import { redriveDeadLetters } from './dead-letters.js';
import { driftFindings, type DriftOptions, type DriftReport } from './drift.js';
import { auditDeliveryEnv, type AuditDeliverySettings } from './settings.js';

export interface DriftRepairOptions extends DriftOptions {
  /**
   * The queues and settings that re-dispatch undelivered events (Redis): without them only the database repairs
   * run and `redispatch` says why the rest did not.
   */
  queues?: { audit: Queue; delivery: Queue; settings: AuditDeliverySettings };
}

export interface DriftRepair {
  /** The report the repairs were computed from (before them). */
  report: DriftReport;
  membershipsRemoved: number;
  /** Live groups whose version moved on because rows of theirs were removed (their ETags change). */
  groupsTouched: number;
  /** Undispatched events handed to the fan-out again (the relay's own path), and dead letters re-driven. */
  redispatch:
    { eventsEnqueued: number; deadLettersRedriven: number } | { skipped: 'no queues (pass REDIS_URL)' };
}

/**
 * The repairs with one safe fix, through the service's own mechanisms:
 * - membership rows whose group or member is deleted or missing are deleted by key (the `member.leave` /
 *   `group.delete` effect that did not land) and the live groups among theirs move their version on, as that effect
 *   does; no new audit event: the member's or group's deletion event already recorded the change, and a member
 *   that never existed was never announced as added;
 * - undispatched events get their fan-out job again (same job id: a no-op if one is queued), as the worker's relay
 *   does, and the organisation's dead letters are re-driven (`redriveDeadLetters`, a fresh retry budget).
 * Accounts (inactive, not SSO-only, not linked) are reported only: reactivating or linking changes who can sign in.
 */
export async function repairDrift(
  connection: Connection,
  orgId: string,
  options: DriftRepairOptions = {},
): Promise<DriftRepair> {
  const findings = await driftFindings(connection, orgId, options);
  const memberships = new MembershipRepository(connection);
  const byGroup = new Map<string, string[]>();
  for (const row of findings.danglingMemberships)
    byGroup.set(row.groupId, [...(byGroup.get(row.groupId) ?? []), row.memberId]);
  let membershipsRemoved = 0;
  for (const [groupId, memberIds] of byGroup) {
    // Bounded deletes by key: at most one batch of ids per statement.
    for (let i = 0; i < memberIds.length; i += 500)
      membershipsRemoved += await memberships.remove(orgId, groupId, memberIds.slice(i, i + 500));
  }
  await memberships.touchGroups(orgId, findings.liveGroupsWithDanglingRows);

  let redispatch: DriftRepair['redispatch'] = { skipped: 'no queues (pass REDIS_URL)' };
  if (options.queues) {
    const { audit, delivery, settings } = options.queues;
    let eventsEnqueued = 0;
    for (const event of findings.undispatchedEvents) {
      const enqueued = await auditFanoutJob.enqueue(audit, {
        eventId: event._id,
        orgId,
        trace: traceCarrierForTraceId(event.traceId),
      });
      if (!enqueued.ok) throw enqueued.error;
      eventsEnqueued++;
    }
    const letters = findings.report.undeliveredEvents.deadLetters;
    const redriven =
      letters === 0
        ? []
        : await redriveDeadLetters(
            deadLetterCollections(connection),
            delivery,
            settings,
            { orgId, limit: Math.min(letters, 100_000) },
            options.profile ?? FERRETDB_PROFILE,
          );
    redispatch = { eventsEnqueued, deadLettersRedriven: redriven.length };
  }
  return {
    report: findings.report,
    membershipsRemoved,
    groupsTouched: findings.liveGroupsWithDanglingRows.length,
    redispatch,
  };
}

/**
 * The queues `repairDrift` re-dispatches onto, from a Redis URL and the environment's `QUEUE_PREFIX` (the api's and
 * the worker's); `close` ends them and their connection.
 */
export function openDriftQueues(
  redisUrl: string,
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
): { queues: NonNullable<DriftRepairOptions['queues']>; close: () => Promise<void> } {
  const settings = auditDeliveryEnv.parse(env);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const audit = new Queue(QueueName.audit, { connection: redis, prefix: settings.QUEUE_PREFIX });
  const delivery = new Queue(QueueName.auditDelivery, { connection: redis, prefix: settings.QUEUE_PREFIX });
  return {
    queues: { audit, delivery, settings },
    close: async () => {
      await audit.close();
      await delivery.close();
      await redis.quit();
    },
  };
}
