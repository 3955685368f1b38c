// `status.drift` of a ScimTenant (docs/controller.md): the organisation's drift report (@scimbridge/audit-delivery
// `driftReport`), counts only, recomputed on a slow period rather than on every reconcile.
import { driftReport, type DriftReport } from '@scimbridge/audit-delivery';
import type { Logger } from '@scimbridge/logger';
import type { StoreProfile } from '@scimbridge/store';
import type { Connection } from 'mongoose';

/** What the status holds: counts per kind (lower bounds when `partial`); samples are `scimctl drift`'s. */
export interface DriftStatus {
  checkedAt: string;
  partial: boolean;
  examined: number;
  inactiveAccounts: number;
  unlinkedAccounts: number;
  danglingMemberships: number;
  undeliveredEvents: number;
  /** Why the last attempt failed; the counts are those of `checkedAt`. */
  error?: string;
}

/** The reconciler's view: the status value for an organisation now, and when to look again. */
export interface DriftStatusSource {
  status(
    orgId: string,
    previous: DriftStatus | undefined,
    now?: Date,
  ): Promise<{ drift: DriftStatus | undefined; requeueAfterMs: number }>;
}

export interface DriftStatusOptions {
  /** How often a tenant's report is recomputed (`DRIFT_REPORT_INTERVAL_SECONDS`). */
  intervalMs: number;
  /** Documents one report may examine (`DRIFT_REPORT_BUDGET`): the bound of a reconcile's drift work. */
  budget: number;
  profile: StoreProfile;
  logger: Logger;
}

export function driftStatusOf(report: DriftReport): DriftStatus {
  return {
    checkedAt: report.checkedAt.toISOString(),
    partial: report.partial,
    examined: report.examined,
    inactiveAccounts: report.inactiveAccounts.count,
    unlinkedAccounts: report.unlinkedAccounts.count,
    danglingMemberships: report.danglingMemberships.count,
    undeliveredEvents: report.undeliveredEvents.count,
  };
}

/**
 * Recomputes a tenant's report when the one in its status is older than the interval (the status is the memory:
 * a restarted controller does not recompute every tenant at once), else keeps it and asks to be requeued when it
 * is due. A failed attempt keeps the last counts with the error, and is not retried before the next interval.
 */
export class DriftStatusReporter implements DriftStatusSource {
  /** Last attempt per organisation, so a failing report is not retried on every reconcile. */
  private readonly attempted = new Map<string, number>();

  constructor(
    private readonly connection: Connection,
    private readonly o: DriftStatusOptions,
  ) {}

  async status(
    orgId: string,
    previous: DriftStatus | undefined,
    now = new Date(),
  ): Promise<{ drift: DriftStatus | undefined; requeueAfterMs: number }> {
    const last = Math.max(previous ? Date.parse(previous.checkedAt) || 0 : 0, this.attempted.get(orgId) ?? 0);
    const due = last + this.o.intervalMs;
    if (last > 0 && due > now.getTime()) return { drift: previous, requeueAfterMs: due - now.getTime() };
    this.attempted.set(orgId, now.getTime());
    try {
      const report = await driftReport(this.connection, orgId, {
        budget: this.o.budget,
        profile: this.o.profile,
        now,
      });
      return { drift: driftStatusOf(report), requeueAfterMs: this.o.intervalMs };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.o.logger.warn({ orgId, err: error }, 'drift report failed');
      return {
        drift: previous ? { ...previous, error: message.slice(0, 1_024) } : undefined,
        requeueAfterMs: this.o.intervalMs,
      };
    }
  }
}
