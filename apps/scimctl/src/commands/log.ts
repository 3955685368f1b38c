import {
  MAX_REQUEST_LOG_READ,
  parseStatusFilter,
  readRequestLog,
  type RequestLogDocument,
  type StatusFilter,
} from '@scimbridge/tenancy';
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../duration.js';
import type { CommandContext } from '../session.js';

interface LogOptions {
  status?: StatusFilter;
  since?: Date;
  follow?: boolean;
  limit: number;
}

/** `--since 1h` (a duration back from now) or an RFC 3339 instant. */
export function parseSince(text: string, now = Date.now()): Date {
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) throw new InvalidArgumentError(`"${text}" is not an RFC 3339 time`);
    return at;
  }
  return new Date(now - parseDuration(text));
}

function statusOption(text: string): StatusFilter {
  try {
    return parseStatusFilter(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function limitOption(text: string): number {
  const n = Number.parseInt(text, 10);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REQUEST_LOG_READ)
    throw new InvalidArgumentError(`--limit must be between 1 and ${MAX_REQUEST_LOG_READ}`);
  return n;
}

/**
 * `scimctl log ORG [--status 4xx|401|…] [--since 1h|RFC3339] [--follow] [--limit N]`: the organisation's request
 * log (docs/operations.md "Why is provisioning failing?"), oldest first; every read bounded and served by
 * `{orgId, at}`.
 */
export function registerLog(program: Command, { run, io }: CommandContext): void {
  program
    .command('log')
    .description(
      "an organisation's SCIM request log, refused requests included (why is provisioning failing?); oldest first",
    )
    .argument('<orgId>')
    .option('--status <filter>', 'only these statuses: 4xx, 5xx, 401, 429, failure, success', statusOption)
    .option('--since <when>', 'from this long ago (15m, 1h, 7d) or this RFC 3339 time', (v) => parseSince(v))
    .option('-n, --limit <n>', `how many of the latest (at most ${MAX_REQUEST_LOG_READ})`, limitOption, 50)
    .option('-f, --follow', 'poll for new records every second until interrupted')
    .action(
      run(async (session, print, orgId: string, options: LogOptions) => {
        const connection = await session.mongo();
        const query = {
          orgId,
          ...(options.status ? { status: options.status } : {}),
          ...(options.since ? { since: options.since } : {}),
        };
        let last: Date | undefined;
        const show = (records: RequestLogDocument[]) => {
          for (const record of records.reverse()) {
            print(record, formatRecord(record));
            last = record.at;
          }
        };
        show(await readRequestLog(connection, { ...query, limit: options.limit }));
        while (options.follow && !io.signal?.aborted) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          if (io.signal?.aborted) break;
          show(
            await readRequestLog(connection, {
              ...query,
              ...(last ? { after: last } : {}),
              limit: MAX_REQUEST_LOG_READ,
            }),
          );
        }
      }),
    );
}

export function formatRecord(r: RequestLogDocument): string {
  const at = r.at.toISOString();
  if (r.kind === 'dropped')
    return `${at} --- ${r.dropped} record(s) not kept (per-organisation bound or outage)`;
  const parts = [
    at,
    String(r.status),
    r.method,
    r.resourceId ? r.route.replace(':id', r.resourceId) : r.route,
  ];
  if (r.reason) parts.push(r.reason);
  if (r.scimType && r.scimType !== r.reason) parts.push(`scimType=${r.scimType}`);
  parts.push(`${r.durationMs}ms`);
  if (r.fingerprint) parts.push(`token=${r.fingerprint}`);
  if (r.changedAttributes.length > 0) parts.push(`[${r.changedAttributes.join(', ')}]`);
  if (r.userAgent) parts.push(JSON.stringify(r.userAgent));
  parts.push(`request=${r.requestId}`);
  if (r.traceId) parts.push(`trace=${r.traceId}`);
  return r.detail ? `${parts.join(' ')}\n    ${r.detail}` : parts.join(' ');
}
