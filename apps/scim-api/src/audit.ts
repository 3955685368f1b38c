import { auditFanoutJob, type JobProducer } from '@scimbridge/jobs';
import { AuditLog, type EventDispatch } from '@scimbridge/store';
import type { Connection } from 'mongoose';
import type { FastifyBaseLogger } from 'fastify';

/** How the api hands jobs to the worker; null when the process runs without a queue (the relays catch up). */
export type JobSink = Pick<JobProducer, 'enqueue'> | null;

/**
 * The api's dispatch of a stored event: the fan-out job, whose job id is the event's, so the audit relay's later
 * re-send of an undispatched event is a no-op. Follow-up jobs (default group, account linking) are derived from
 * the event by the fan-out, in one place. A failure is logged; the event stays undispatched for the relay.
 */
export function eventDispatch(jobs: JobSink, logger: FastifyBaseLogger): EventDispatch | null {
  if (!jobs) return null;
  return async (event) => {
    const result = await jobs.enqueue(auditFanoutJob, { eventId: event._id, orgId: event.orgId });
    if (!result.ok)
      logger.warn(
        { eventId: event._id, err: result.error.message },
        'audit enqueue failed; the relay will dispatch it',
      );
  };
}

/** Distinct token fingerprints kept per summary event: enough to tell one bad token from a flood. */
const SAMPLE_FINGERPRINTS = 5;

interface FailureSummary {
  orgId: string;
  reason: string;
  count: number;
  first: Date;
  fingerprints: Set<string>;
}

/**
 * Auth failures are aggregated per window (a minute) into one summary event per organisation and reason, and one
 * per reason for tokens of no known organisation, with a count and a few sample fingerprints. The number of keys
 * per window is bounded by `maxKeys`, so a flood of random tokens writes a handful of rows, never one per token.
 */
export class AuthFailureAudit {
  private pending = new Map<string, FailureSummary>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: AuditLog;

  constructor(
    connection: Connection,
    private readonly logger: FastifyBaseLogger,
    flushMs = 60_000,
    private readonly maxKeys = 1_000,
  ) {
    this.log = new AuditLog(connection);
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  note(orgId: string | null, reason: string, fingerprint?: string): void {
    let key = `${orgId ?? ''}|${reason}`;
    if (!this.pending.has(key) && this.pending.size >= this.maxKeys) key = `|${reason}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = {
        orgId: key.startsWith('|') ? 'unknown' : orgId!,
        reason,
        count: 0,
        first: new Date(),
        fingerprints: new Set(),
      };
      this.pending.set(key, entry);
    }
    entry.count += 1;
    if (fingerprint && entry.fingerprints.size < SAMPLE_FINGERPRINTS) entry.fingerprints.add(fingerprint);
  }

  async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    for (const entry of batch) {
      try {
        await this.log.record({
          orgId: entry.orgId,
          action: 'auth.failed',
          actor: { type: 'system', id: 'scim-api' },
          resourceType: null,
          resourceId: null,
          details: {
            reason: entry.reason,
            count: entry.count,
            since: entry.first.toISOString(),
            tokenFingerprints: [...entry.fingerprints],
          },
          // Failures with an unknown token belong to no organisation: nothing to fan out.
          dispatched: entry.orgId === 'unknown',
        });
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'could not record auth failures');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
