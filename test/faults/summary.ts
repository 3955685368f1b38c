/** The counts the issue's closing note wants, filled in by the scenarios as they run. */
export interface Summary {
  requests: number;
  byStatus: Record<string, number>;
  /** [status (+RA when Retry-After was sent), count] of requests that broke the rule. */
  failures: [string, number][];
  excludedKilledApi: number;
  allowed503: number;
  allowed429: number;
  readinessDuringRedisOutage: Record<string, Record<string, number>>;
  readinessDuringMongoOutage: Record<string, Record<string, number>>;
  eventsWritten: number;
  eventsDelivered: number;
  eventsDuplicated: number;
  extraDeliveries: number;
  unacknowledgedAttempts: number;
  revocation: {
    api0?: number | null;
    api1?: number | null;
    redisBackAfterMs?: number;
    scimctlExit?: number;
    scimctlMessage?: string;
  };
  parallelMembers: { statuses: Record<string, number>; membersPresent: number } | undefined;
  defaultGroup?: { users: number; assigned: number; wrong: number };
  wallSeconds: number;
}

const fmt = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ') || '-';

const ms = (v: number | null | undefined) => (v === undefined ? 'not run' : v === null ? '> 35000 ms' : `${v} ms`);

export function formatSummary(s: Summary): string {
  const rows: [string, string][] = [
    ['requests', String(s.requests)],
    ['responses by status', fmt(s.byStatus)],
    ['failures (rule broken)', s.failures.map(([k, v]) => `${k}×${v}`).join(' ') || 'none'],
    ['allowed: 503 + Retry-After (MongoDB down)', String(s.allowed503)],
    ['allowed: 429 + Retry-After', String(s.allowed429)],
    ['excluded: connection to SIGKILLed api', String(s.excludedKilledApi)],
    ['/readyz during Redis outage', Object.entries(s.readinessDuringRedisOutage).map(([k, v]) => `${k} ${fmt(v)}`).join('; ') || 'not run'],
    ['/readyz during MongoDB outage', Object.entries(s.readinessDuringMongoOutage).map(([k, v]) => `${k} ${fmt(v)}`).join('; ') || 'not run'],
    ['audit events written', String(s.eventsWritten)],
    ['audit events delivered (≥ 1 ack)', String(s.eventsDelivered)],
    ['audit events delivered more than once', `${s.eventsDuplicated} (${s.extraDeliveries} extra deliveries)`],
    ['delivery attempts not acknowledged', String(s.unacknowledgedAttempts)],
    [
      'default-group assignments',
      s.defaultGroup ? `${s.defaultGroup.assigned} for ${s.defaultGroup.users} users (${s.defaultGroup.wrong} not exactly once)` : 'not run',
    ],
    ['revocation delay api0', ms(s.revocation.api0)],
    ['revocation delay api1', ms(s.revocation.api1)],
    [
      'scimctl token revoke (Redis down)',
      s.revocation.scimctlExit === undefined
        ? 'not run'
        : `exit ${s.revocation.scimctlExit}${s.revocation.scimctlMessage ? `: ${s.revocation.scimctlMessage}` : ''}; Redis back after ${s.revocation.redisBackAfterMs} ms`,
    ],
    [
      '20 parallel member PATCHes',
      s.parallelMembers ? `${fmt(s.parallelMembers.statuses)}; ${s.parallelMembers.membersPresent}/20 members present` : 'not run',
    ],
    ['wall time', `${s.wallSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `+${'-'.repeat(width + 2)}+${'-'.repeat(60)}`;
  return [
    'fault suite summary (issue 13)',
    line,
    ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v}`),
    line,
  ].join('\n');
}
