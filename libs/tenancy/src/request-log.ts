import { randomUUID } from 'node:crypto';
import type { Connection, mongo } from 'mongoose';

/**
 * `request_logs` (docs/api.md "Request log"): one record per SCIM request that named an organisation, refused ones
 * included, and `dropped` records counting what the per-organisation bound or an outage left out. Never a
 * credential (only its fingerprint), never an attribute value (only names and PATCH operation shapes).
 */
export interface RequestLogDocument {
  _id: string;
  orgId: string;
  at: Date;
  /** When retention removes it: a TTL index on MongoDB, the worker's retention pass on FerretDB. */
  expiresAt: Date;
  kind: 'request' | 'dropped';
  /** `success` (status < 400) or `failure`: what the status summary reads by index. */
  outcome: 'success' | 'failure';
  method: string;
  /** The route template (`/scim/v2/Users/:id`), never the URL with ids or a query. */
  route: string;
  resourceId: string | null;
  status: number;
  scimType: string | null;
  /** Why it was refused, in words an admin can act on (`token-regenerated`, `scim-disabled`, `rate-limited`, …). */
  reason: string | null;
  /** The error's detail as sent to the IdP, truncated. */
  detail: string | null;
  durationMs: number;
  fingerprint: string | null;
  userAgent: string | null;
  requestId: string;
  traceId: string | null;
  /** Attribute names the request writes (top-level and `parent.sub`), from its body. */
  changedAttributes: string[];
  body: RequestBodySummary | null;
  /** `dropped` records: how many records of this organisation were not kept since the previous one. */
  dropped?: number;
}

/** What the body held, without values: attribute names, PATCH operations as `{op, path}`, Bulk operations. */
export interface RequestBodySummary {
  attributes?: string[];
  operations?: { op: string; path: string | null; attributes?: string[] }[];
  /** How many operations (or attributes) were left out of the summary. */
  truncated?: number;
}

export function requestLogCollection(connection: Connection): mongo.Collection<RequestLogDocument> {
  return connection.collection<RequestLogDocument>('request_logs');
}

/** Part of TENANCY_INDEXES (collections.ts), so ensureTenancyIndexes creates them. */
export const REQUEST_LOG_INDEXES = [
  {
    collection: 'request_logs',
    key: { orgId: 1, at: -1 },
    serves: "an organisation's request log, newest first (`scimctl log`)",
  },
  {
    collection: 'request_logs',
    key: { orgId: 1, outcome: 1, at: -1 },
    serves: 'the ScimTenant status summary: last success, last failure, failures of the last hour',
  },
  {
    collection: 'request_logs',
    key: { expiresAt: 1 },
    // TTL on MongoDB (the record's own expiry time); FerretDB v1 ignores it, the worker's retention pass trims.
    options: { expireAfterSeconds: 0 },
    serves: 'retention: TTL on MongoDB, the worker retention pass (batches) on FerretDB',
  },
] as const;

/** The statuses `scimctl log --status` accepts: `4xx`, `5xx`, an exact status, or `failure`/`success`. */
export type StatusFilter =
  { exact: number } | { from: number; to: number } | { outcome: 'success' | 'failure' };

export function parseStatusFilter(text: string): StatusFilter {
  const t = text.trim().toLowerCase();
  if (t === 'failure' || t === 'failed' || t === 'error') return { outcome: 'failure' };
  if (t === 'success' || t === 'ok') return { outcome: 'success' };
  const klass = /^([1-5])xx$/.exec(t);
  if (klass) return { from: Number(klass[1]) * 100, to: Number(klass[1]) * 100 + 99 };
  if (/^[1-5]\d\d$/.test(t)) return { exact: Number(t) };
  throw new Error(`"${text}" is not a status filter (e.g. 4xx, 401, 5xx, failure)`);
}

export interface RequestLogQuery {
  orgId: string;
  /** Records at or after this instant. */
  since?: Date;
  /** Records strictly after this instant (a --follow poll). */
  after?: Date;
  status?: StatusFilter;
  /** At most this many, newest first; capped at MAX_REQUEST_LOG_READ. */
  limit: number;
}

/** The most records one read returns. */
export const MAX_REQUEST_LOG_READ = 1_000;

/** Newest first, bounded; served by `{orgId, at}` (`status`, `kind`, `outcome` filtered on the scanned range). */
export async function readRequestLog(
  connection: Connection,
  query: RequestLogQuery,
): Promise<RequestLogDocument[]> {
  const filter: mongo.Filter<RequestLogDocument> = { orgId: query.orgId };
  const at: Record<string, Date> = {};
  if (query.since) at.$gte = query.since;
  if (query.after) at.$gt = query.after;
  if (Object.keys(at).length > 0) filter.at = at;
  const status = query.status;
  if (status && 'exact' in status) filter.status = status.exact;
  else if (status && 'from' in status) filter.status = { $gte: status.from, $lte: status.to };
  else if (status) filter.outcome = status.outcome;
  // A status filter leaves out the `dropped` records; without one they show where records are missing.
  if (status) filter.kind = 'request';
  const limit = Math.max(1, Math.min(query.limit, MAX_REQUEST_LOG_READ));
  return requestLogCollection(connection).find(filter).sort({ at: -1 }).limit(limit).toArray();
}

/** The ScimTenant status summary (docs/controller.md `status.requests`). */
export interface RequestSummary {
  lastSuccess: { at: Date } | null;
  lastFailure: {
    at: Date;
    status: number;
    reason: string | null;
    detail: string | null;
    fingerprint: string | null;
  } | null;
  /** Failures of the window by reason, the most frequent first, at most `maxReasons`. */
  failuresByReason: { reason: string; count: number }[];
  /** Failures of the window counted (all reasons), and whether the count hit the read bound. */
  failures: number;
  failuresCapped: boolean;
  /** Records of the window the bound or an outage did not keep. */
  dropped: number;
  windowStart: Date;
}

export interface RequestSummaryOptions {
  now?: Date;
  windowMs?: number;
  maxReasons?: number;
  /** The most failure records one summary reads (the per-minute bound keeps a window's count finite anyway). */
  maxRead?: number;
}

/** Four bounded, index-served reads: last success, last failure, the window's failures, its dropped records. */
export async function summariseRequests(
  connection: Connection,
  orgId: string,
  options: RequestSummaryOptions = {},
): Promise<RequestSummary> {
  const now = options.now ?? new Date();
  const windowStart = new Date(now.getTime() - (options.windowMs ?? 3_600_000));
  const maxRead = options.maxRead ?? 10_000;
  const logs = requestLogCollection(connection);
  const [success, failure] = await Promise.all(
    (['success', 'failure'] as const).map((outcome) =>
      logs.find({ orgId, outcome, kind: 'request' }).sort({ at: -1 }).limit(1).next(),
    ),
  );
  const failures = await logs
    .find(
      { orgId, outcome: 'failure', at: { $gte: windowStart } },
      { projection: { _id: 0, reason: 1, status: 1, kind: 1, dropped: 1 } },
    )
    .sort({ at: -1 })
    .limit(maxRead)
    .toArray();
  const byReason = new Map<string, number>();
  let dropped = 0;
  let counted = 0;
  for (const f of failures) {
    if (f.kind === 'dropped') {
      dropped += f.dropped ?? 0;
      continue;
    }
    counted += 1;
    const reason = f.reason ?? `http-${f.status}`;
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  return {
    lastSuccess: success ? { at: success.at } : null,
    lastFailure: failure
      ? {
          at: failure.at,
          status: failure.status,
          reason: failure.reason,
          detail: failure.detail,
          fingerprint: failure.fingerprint,
        }
      : null,
    failuresByReason: [...byReason]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, options.maxReasons ?? 5)
      .map(([reason, count]) => ({ reason, count })),
    failures: counted,
    failuresCapped: failures.length >= maxRead,
    dropped,
    windowStart,
  };
}

/** One request as the api saw it; the writer adds `_id`, `expiresAt`, `kind` and `outcome`. */
export type RequestLogEntry = Omit<RequestLogDocument, '_id' | 'expiresAt' | 'kind' | 'outcome' | 'dropped'>;

/** A record with the fields a request may lack filled in as absent (no id, no error, no body). */
export function requestLogEntry(
  fields: Pick<RequestLogEntry, 'orgId' | 'at' | 'method' | 'route' | 'status' | 'requestId'> &
    Partial<RequestLogEntry>,
): RequestLogEntry {
  return {
    resourceId: null,
    scimType: null,
    reason: null,
    detail: null,
    durationMs: 0,
    fingerprint: null,
    userAgent: null,
    traceId: null,
    changedAttributes: [],
    body: null,
    ...fields,
  };
}

export interface RequestLogWriterOptions {
  /** Records kept per organisation per minute on this replica (REQUEST_LOG_PER_ORG_PER_MINUTE). */
  perOrgPerMinute: number;
  retentionDays: number;
  /** Records buffered in memory at most, all organisations together; beyond, dropped and counted. */
  maxBuffered?: number;
  /** Organisations tracked per minute at most (the bound of the counters); beyond, dropped and counted. */
  maxOrganisations?: number;
  flushMs?: number;
  /** A flush starts early once this many records wait. */
  batchSize?: number;
  /** Told of every record not kept: `limit` (per-org bound), `buffer` (memory cap), `database` (a failed write). */
  onDropped?: (count: number, cause: 'limit' | 'buffer' | 'database') => void;
  onWritten?: (count: number) => void;
  onError?: (error: unknown) => void;
  now?: () => number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

interface OrgWindow {
  minute: number;
  admitted: number;
}

/**
 * Batches request records in memory and writes them off the request path (`insertMany`, unordered), one flush at
 * a time: `record` never waits and never throws. Per organisation at most `perOrgPerMinute` records a minute are
 * kept; the rest are counted and the count is written as a `dropped` record with the next flush (also what a
 * failed write loses, once the database is back). Memory is bounded by `maxBuffered` records and
 * `maxOrganisations` counters.
 */
export class RequestLogWriter {
  private buffer: RequestLogDocument[] = [];
  private readonly windows = new Map<string, OrgWindow>();
  /** Records not kept per organisation, not yet written as a `dropped` record. */
  private readonly dropped = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private readonly maxBuffered: number;
  private readonly maxOrganisations: number;
  private readonly batchSize: number;
  private readonly now: () => number;

  constructor(
    private readonly connection: Connection,
    private readonly options: RequestLogWriterOptions,
  ) {
    this.maxBuffered = options.maxBuffered ?? 20_000;
    this.maxOrganisations = options.maxOrganisations ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 1_000);
    this.timer.unref();
  }

  record(entry: RequestLogEntry): void {
    const now = this.now();
    const minute = Math.floor(now / MINUTE_MS);
    let window = this.windows.get(entry.orgId);
    if (!window || window.minute !== minute) {
      if (!window && this.windows.size >= this.maxOrganisations) this.pruneWindows(minute);
      if (!window && this.windows.size >= this.maxOrganisations) return this.drop(entry.orgId, 'buffer');
      window = { minute, admitted: 0 };
      this.windows.set(entry.orgId, window);
    }
    if (window.admitted >= this.options.perOrgPerMinute) return this.drop(entry.orgId, 'limit');
    if (this.buffer.length >= this.maxBuffered) return this.drop(entry.orgId, 'buffer');
    window.admitted += 1;
    this.buffer.push({
      ...entry,
      _id: randomUUID(),
      expiresAt: new Date(entry.at.getTime() + this.options.retentionDays * DAY_MS),
      kind: 'request',
      outcome: entry.status < 400 ? 'success' : 'failure',
    });
    if (this.buffer.length >= this.batchSize && !this.flushing) void this.flush();
  }

  /** Writes what waits (one flush at a time; a call during a flush waits for it and flushes again). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0 && this.dropped.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private drop(orgId: string, cause: 'limit' | 'buffer' | 'database'): void {
    this.keepDropCount(orgId, 1);
    this.options.onDropped?.(1, cause);
  }

  /** A counter per organisation; its map is bounded like the windows (beyond, the count is only in the metric). */
  private keepDropCount(orgId: string, count: number): void {
    if (this.dropped.has(orgId) || this.dropped.size < this.maxOrganisations)
      this.dropped.set(orgId, (this.dropped.get(orgId) ?? 0) + count);
  }

  private pruneWindows(minute: number): void {
    for (const [orgId, window] of this.windows) if (window.minute !== minute) this.windows.delete(orgId);
  }

  private async write(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    const drops = [...this.dropped];
    this.dropped.clear();
    const at = new Date(this.now());
    const dropRecords: RequestLogDocument[] = drops.map(([orgId, count]) => ({
      ...requestLogEntry({ orgId, at, method: '-', route: '-', status: 0, requestId: '-' }),
      _id: randomUUID(),
      expiresAt: new Date(at.getTime() + this.options.retentionDays * DAY_MS),
      kind: 'dropped',
      outcome: 'failure',
      reason: 'request-log-dropped',
      detail: `${count} request record(s) not kept (the per-organisation bound or a database outage)`,
      dropped: count,
    }));
    const docs = [...batch, ...dropRecords];
    if (docs.length === 0) return;
    try {
      const result = await requestLogCollection(this.connection).insertMany(docs, { ordered: false });
      this.options.onWritten?.(result.insertedCount);
    } catch (error) {
      // The batch counts as lost (a write cut off midway may have kept some: then the count is an upper bound);
      // the counts, old and new, are written with the next flush that reaches the database.
      for (const doc of docs) {
        if (doc.kind === 'dropped') this.keepDropCount(doc.orgId, doc.dropped ?? 0);
        else this.drop(doc.orgId, 'database');
      }
      this.options.onError?.(error);
    }
  }
}
