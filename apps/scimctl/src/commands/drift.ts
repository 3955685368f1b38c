import {
  DRIFT_DEFAULTS,
  driftReport,
  openDriftQueues,
  repairDrift,
  type DriftRepair,
  type DriftReport,
} from '@scimbridge/audit-delivery';
import { detectStoreProfile } from '@scimbridge/store';
import { getOrganisation } from '@scimbridge/tenancy';
import { InvalidArgumentError, type Command } from 'commander';
import type { GlobalOptions } from '../io.js';
import type { CommandContext } from '../session.js';

/**
 * `scimctl drift ORG [--repair] [--budget N]`: the organisation's drift report (docs/operations.md "Drift"), and with
 * `--repair` the fixes that have one safe form. Re-dispatching events needs Redis (REDIS_URL / --redis-url); without
 * it only the database repairs run.
 */
export function registerDrift(parent: Command, { program, io, run }: CommandContext): void {
  parent
    .command('drift')
    .description(
      "an organisation's drift: inactive or unlinked accounts, dangling memberships, undelivered events (--repair fixes the safe ones)",
    )
    .argument('<orgId>')
    .option(
      '--repair',
      'delete dangling memberships and re-dispatch undelivered events; accounts are reported only',
    )
    .option(
      '--budget <documents>',
      `documents the report may examine (default ${DRIFT_DEFAULTS.budget})`,
      positiveInteger,
    )
    .action(
      run(async (session, print, orgId: string, options: { repair?: boolean; budget?: number }) => {
        const connection = await session.mongo();
        const profile = await detectStoreProfile(connection);
        const base = { profile, ...(options.budget ? { budget: options.budget } : {}) };
        if (!(await getOrganisation(connection, orgId))) throw new Error(`organisation ${orgId} not found`);
        if (!options.repair) {
          const report = await driftReport(connection, orgId, base);
          print(report, describeReport(report).join('\n'));
          return;
        }
        const url = program.opts<GlobalOptions>().redisUrl ?? io.env.REDIS_URL;
        const opened = url ? openDriftQueues(url, io.env) : undefined;
        try {
          const repair = await repairDrift(connection, orgId, {
            ...base,
            ...(opened ? { queues: opened.queues } : {}),
          });
          print(repair, [...describeReport(repair.report), '', ...describeRepair(repair)].join('\n'));
        } finally {
          await opened?.close();
        }
      }),
    );
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

/** The report as a table: one line per kind with its count, whether --repair fixes it and its sample. */
export function describeReport(report: DriftReport): string[] {
  const { inactiveAccounts: inactive, unlinkedAccounts: unlinked, danglingMemberships: rows } = report;
  const events = report.undeliveredEvents;
  const missing = Object.entries(events.missingBySink)
    .filter(([, n]) => n > 0)
    .map(([sink, n]) => `${sink} ${n}`);
  const line = (kind: string, count: number, fix: string, sample: string[], note = '') =>
    [kind.padEnd(22), String(count).padEnd(7), fix.padEnd(8), sample.join(', ') || '-', note]
      .filter(Boolean)
      .join(' ');
  return [
    `drift of ${report.orgId} at ${report.checkedAt.toISOString()}: examined ${report.examined} of ${report.budget} documents` +
      (report.partial
        ? ` (partial: examined ${report.examined}; counts are lower bounds, raise --budget)`
        : ''),
    `${'KIND'.padEnd(22)} ${'COUNT'.padEnd(7)} ${'FIX'.padEnd(8)} SAMPLE`,
    line(
      'inactive accounts',
      inactive.count,
      'report',
      inactive.sample,
      `(inactive ${inactive.inactive}, not SSO-only ${inactive.notSsoOnly})`,
    ),
    line(
      'unlinked accounts',
      unlinked.count,
      'report',
      unlinked.pairs.map((p) => `${p.accountId} (same email as ${p.userId})`),
    ),
    line('dangling memberships', rows.count, 'repair', rows.sample),
    line(
      'undelivered events',
      events.count,
      'repair',
      events.sample,
      `(undispatched ${events.undispatched}, dead letters ${events.deadLetters}` +
        (missing.length ? `; missing at ${missing.join(', ')})` : ')'),
    ),
    'groups store no member count (the membership rows are the only record), so there is no count to drift',
  ];
}

function describeRepair(repair: DriftRepair): string[] {
  const lines = [
    `removed ${repair.membershipsRemoved} dangling membership row(s); ${repair.groupsTouched} group(s) moved their version on`,
  ];
  if ('skipped' in repair.redispatch)
    lines.push(`undelivered events not re-dispatched: ${repair.redispatch.skipped}`);
  else
    lines.push(
      `re-enqueued ${repair.redispatch.eventsEnqueued} undispatched event(s); re-drove ${repair.redispatch.deadLettersRedriven} dead letter(s)`,
    );
  lines.push('accounts are reported only: reactivate or link them in the IdP or the host application');
  return lines;
}
