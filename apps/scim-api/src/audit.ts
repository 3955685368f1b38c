import type { JobProducer } from '@scimbridge/jobs';
import { AuditLog, type AuditAction, type AuditEventDocument } from '@scimbridge/store';
import type { Connection } from 'mongoose';
import type { FastifyBaseLogger } from 'fastify';
import type { ScimContext } from './http/context.js';

/** How the api hands jobs to the worker; null when the process runs without a queue (the relay catches up). */
export type JobSink = Pick<JobProducer, 'auditFanout' | 'defaultGroup' | 'accountLinked'> | null;

export interface AuditInput {
  action: AuditAction;
  resourceType: 'User' | 'Group';
  resourceId: string;
  changedAttributes?: string[];
  details?: Record<string, unknown>;
}

/**
 * Writes the audit event in the request (the outbox), then enqueues its fan-out. A failed enqueue is logged,
 * never thrown: the worker's relay dispatches events still marked undispatched.
 */
export class AuditRecorder {
  private readonly log: AuditLog;

  constructor(
    connection: Connection,
    private readonly jobs: JobSink,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.log = new AuditLog(connection);
  }

  async record(ctx: ScimContext, input: AuditInput): Promise<AuditEventDocument> {
    const event = await this.log.record({
      orgId: ctx.orgId,
      actor: { type: 'token', id: ctx.tokenId },
      requestId: ctx.requestId,
      traceId: ctx.traceId,
      ...input,
    });
    if (this.jobs) {
      const result = await this.jobs.auditFanout({ eventId: event._id, orgId: ctx.orgId });
      if (!result.ok)
        this.logger.warn(
          { eventId: event._id, err: result.error.message },
          'audit enqueue failed; the relay will dispatch it',
        );
    }
    return event;
  }

  /** The default group as configured now, applied by the worker (later changes of the setting do not reach back). */
  async assignDefaultGroup(ctx: ScimContext, userId: string, eventId: string): Promise<void> {
    const group = ctx.organisation.settings.defaultGroup;
    if (!group || !this.jobs) return;
    const result = await this.jobs.defaultGroup({
      orgId: ctx.orgId,
      userId,
      groupDisplayName: group,
      eventId,
    });
    if (!result.ok) this.logger.warn({ eventId, err: result.error.message }, 'default-group enqueue failed');
  }

  async accountLinked(
    ctx: ScimContext,
    userId: string,
    eventId: string,
    externalId: string | undefined,
  ): Promise<void> {
    if (!this.jobs) return;
    const result = await this.jobs.accountLinked({
      orgId: ctx.orgId,
      userId,
      tokenId: ctx.tokenId,
      eventId,
      ...(externalId ? { externalId } : {}),
    });
    if (!result.ok) this.logger.warn({ eventId, err: result.error.message }, 'account-linked enqueue failed');
  }
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
