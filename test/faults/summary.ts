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
  committedWrites?: {
    acknowledged: number;
    withoutEvent: number;
    withSeveralEvents: number;
    storedWithoutCreateEvent: number;
  };
  eventsDelivered: number;
  eventsDuplicated: number;
  extraDeliveries: number;
  unacknowledgedAttempts: number;
  revocation: {
    /** scimctl gave up and the token stayed in MongoDB. */
    notRevoked?: boolean;
    api0?: number | null;
    api1?: number | null;
    redisBackAfterMs?: number;
    scimctlExit?: number;
    scimctlMessage?: string;
    scimctlMs?: number;
    /** When the token left MongoDB, counted from the Redis stop. */
    revokedAfterRedisStopMs?: number;
  };
  parallelMembers:
    | {
        statuses: Record<string, number>;
        slowestMs: number;
        membersPresent: number;
        membersAfterDrain?: number;
      }
    | undefined;
  defaultGroup?: { users: number; assigned: number; wrong: number };
  latency?: { p50: number; p99: number; max: number; over10s: number };
  /** Load ticks not sent because too many requests were outstanding. */
  skippedForConcurrency?: number;
  /** One line per scenario: what it saw. */
  scenarios: Record<string, string>;
  /** When each fault happened, seconds since the start. */
  marks: string[];
  workerReadiness?: Record<string, Record<string, number>>;
  queues?: Record<string, Record<string, number>>;
  deliveriesOverTime?: string;
  wallSeconds: number;
}

const fmt = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ') || '-';

const ms = (v: number | null | undefined) =>
  v === undefined ? 'not run' : v === null ? '> 35000 ms' : `${v} ms`;

export function formatSummary(s: Summary): string {
  const rows: [string, string][] = [
    ['requests', String(s.requests)],
    ['responses by status', fmt(s.byStatus)],
    ['failures (rule broken)', s.failures.map(([k, v]) => `${k}×${v}`).join(' ') || 'none'],
    [
      'latency p50 / p99 / max',
      s.latency
        ? `${s.latency.p50} / ${s.latency.p99} / ${s.latency.max} ms (${s.latency.over10s} over 10 s; ${s.skippedForConcurrency ?? 0} load ticks skipped at 40 outstanding)`
        : '-',
    ],
    ['allowed: 503 + Retry-After (MongoDB down)', String(s.allowed503)],
    ['allowed: 429 + Retry-After', String(s.allowed429)],
    ['excluded: connection to SIGKILLed api', String(s.excludedKilledApi)],
    [
      '/readyz during Redis outage',
      Object.entries(s.readinessDuringRedisOutage)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join('; ') || 'not run',
    ],
    [
      '/readyz during MongoDB outage',
      Object.entries(s.readinessDuringMongoOutage)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join('; ') || 'not run',
    ],
    [
      'writes answered 2xx',
      s.committedWrites
        ? `${s.committedWrites.acknowledged} (${s.committedWrites.withoutEvent} without an audit event, ${s.committedWrites.withSeveralEvents} with several)`
        : '-',
    ],
    [
      'stored users/groups without one create event',
      s.committedWrites ? String(s.committedWrites.storedWithoutCreateEvent) : '-',
    ],
    ['audit events written', String(s.eventsWritten)],
    ['audit events delivered (≥ 1 ack)', String(s.eventsDelivered)],
    [
      'audit events delivered more than once',
      `${s.eventsDuplicated} (${s.extraDeliveries} extra deliveries)`,
    ],
    ['delivery attempts not acknowledged', String(s.unacknowledgedAttempts)],
    [
      'default-group assignments',
      s.defaultGroup
        ? `${s.defaultGroup.assigned} for ${s.defaultGroup.users} users (${s.defaultGroup.wrong} not exactly once)`
        : 'not run',
    ],
    [
      'revocation delay api0',
      s.revocation.notRevoked ? 'token not revoked (scimctl failed)' : ms(s.revocation.api0),
    ],
    [
      'revocation delay api1',
      s.revocation.notRevoked ? 'token not revoked (scimctl failed)' : ms(s.revocation.api1),
    ],
    [
      'scimctl token revoke (Redis down)',
      s.revocation.scimctlExit === undefined
        ? 'not run'
        : `exit ${s.revocation.scimctlExit} after ${s.revocation.scimctlMs} ms${s.revocation.scimctlMessage ? `: ${s.revocation.scimctlMessage}` : ''}` +
          (s.revocation.revokedAfterRedisStopMs === undefined
            ? ''
            : `; token left MongoDB ${s.revocation.revokedAfterRedisStopMs} ms after the Redis stop`) +
          (s.revocation.redisBackAfterMs === undefined
            ? ''
            : `; Redis back ${s.revocation.redisBackAfterMs} ms after the revocation`),
    ],
    [
      '20 parallel member PATCHes',
      s.parallelMembers
        ? `${fmt(s.parallelMembers.statuses)} (slowest ${s.parallelMembers.slowestMs} ms); ${s.parallelMembers.membersPresent}/20 members present right after, ${s.parallelMembers.membersAfterDrain ?? '?'}/20 at the end`
        : 'not run',
    ],
    ...Object.entries(s.scenarios).map(([k, v]): [string, string] => [`scenario ${k}`, v]),
    ['faults at', s.marks.join('; ') || '-'],
    ['acked deliveries per 10 s', s.deliveriesOverTime || '-'],
    [
      'worker /readyz (whole run)',
      Object.entries(s.workerReadiness ?? {})
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join('; ') || '-',
    ],
    [
      'queues at the end',
      Object.entries(s.queues ?? {})
        .map(([k, v]) => `${k} ${fmt(Object.fromEntries(Object.entries(v).filter(([, n]) => n > 0)))}`)
        .join('; ') || '-',
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
