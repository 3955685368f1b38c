// The drift report (docs/operations.md "Drift"): where an organisation's stored state disagrees with itself — the
// accounts SCIM manages against the host application's view of them, membership rows against the resources they
// name, stored events against the sinks that should have them. One function computes it for scimctl and the
// controller; every read is bounded by a budget of documents examined and carries the organisation id.
import { keyFieldName } from '@scimbridge/scim-core';
import {
  FERRETDB_PROFILE,
  storeCollections,
  type AuditEventDocument,
  type MembershipDocument,
  type StoreCollections,
  type StoreProfile,
} from '@scimbridge/store';
import { tenancyCollections } from '@scimbridge/tenancy';
import type { Connection, mongo } from 'mongoose';
import { auditDeliveryCollections, type AuditDeliveryCollections } from './collections.js';
import { deliveryKey } from './documents.js';
import { EVENT_STREAM_SINK_PREFIX, scimEventsOf } from './scim-events.js';

export interface DriftOptions {
  /** Documents the report may examine in all (scans, look-ups and counts); default 100,000. */
  budget?: number;
  /** Ids per kind in the report; default 10. */
  sampleSize?: number;
  /** Documents per scanned batch; default 500. */
  batchSize?: number;
  /** Undispatched events younger than this are in flight, not drift; default 5 minutes. */
  minEventAgeMs?: number;
  /** The store profile (`detectStoreProfile`): with secondary indexes (MongoDB) scans are index-ordered pages and look-ups by id one `{orgId, _id: {$in}}`; without (FerretDB) one cursor and `{_id}` each. */
  profile?: StoreProfile;
  now?: Date;
}

export const DRIFT_DEFAULTS = {
  budget: 100_000,
  sampleSize: 10,
  batchSize: 500,
  minEventAgeMs: 300_000,
} as const;

/** One kind of drift: how many, and the first ids found (at most `sampleSize`). */
export interface DriftKind {
  count: number;
  sample: string[];
}

export interface DriftReport {
  orgId: string;
  checkedAt: Date;
  /** The budget stopped a scan: counts are lower bounds ("partial: examined N"). */
  partial: boolean;
  examined: number;
  budget: number;
  /** SCIM-visible accounts the host application does not let sign in through SSO. Reported only. */
  inactiveAccounts: DriftKind & {
    /** `active: false`: deactivated (by the IdP or in the host application); compare with the IdP's assignments. */
    inactive: number;
    /** Still a password account (`auth.ssoOnly` not true or a password hash kept): the link's side effect did not land. */
    notSsoOnly: number;
  };
  /** Accounts SCIM does not manage with the email of a SCIM user: not linked, so one person has two accounts. Reported only. */
  unlinkedAccounts: DriftKind & { pairs: { accountId: string; userId: string }[] };
  /** Membership rows whose group or member is deleted or missing. Repairable (rows deleted). */
  danglingMemberships: DriftKind;
  /** Events not settled at every sink: undispatched (older than the minimum age) or dead-lettered. */
  undeliveredEvents: DriftKind & {
    undispatched: number;
    deadLetters: number;
    /** Per configured sink: undispatched events without a delivery record or dead letter there. */
    missingBySink: Record<string, number>;
  };
}

/** What `--repair` needs besides the report: the full (budget-bounded) lists behind the samples. */
export interface DriftFindings {
  report: DriftReport;
  danglingMemberships: Pick<MembershipDocument, '_id' | 'groupId' | 'memberId'>[];
  /** Groups that exist and are not deleted among those with dangling rows (their versions move on when repaired). */
  liveGroupsWithDanglingRows: string[];
  undispatchedEvents: { _id: string; traceId: string | null }[];
}

/** Documents examined so far, against the budget. */
class Budget {
  examined = 0;
  exhausted = false;
  constructor(readonly limit: number) {}
  get remaining(): number {
    return Math.max(0, this.limit - this.examined);
  }
  /** How many documents of `cost` each the next batch may read, at most `batchSize`; 0 marks the report partial. */
  next(batchSize: number, cost = 1): number {
    const n = Math.min(batchSize, Math.floor(this.remaining / cost));
    if (n === 0) this.exhausted = true;
    return n;
  }
  take(n: number): void {
    this.examined += n;
  }
}

const USER_NAME_KEY = keyFieldName('userName');
const EMAIL_KEY = `emails.${keyFieldName('value')}`;

interface ScannedUser {
  _id: string;
  active?: unknown;
  scim?: { managed?: boolean; deletedAt?: Date | null };
  auth?: { ssoOnly?: boolean; passwordHash?: string };
  emails?: { valueKey?: string }[];
  [field: string]: unknown;
}

/** Computes the drift report of one organisation. */
export async function driftReport(
  connection: Connection,
  orgId: string,
  options: DriftOptions = {},
): Promise<DriftReport> {
  return (await driftFindings(connection, orgId, options)).report;
}

/** The report and what lies behind its samples (for `repairDrift`). */
export async function driftFindings(
  connection: Connection,
  orgId: string,
  options: DriftOptions = {},
): Promise<DriftFindings> {
  const o = { ...DRIFT_DEFAULTS, profile: FERRETDB_PROFILE, ...options };
  const store = storeCollections(connection);
  const delivery = auditDeliveryCollections(connection);
  const budget = new Budget(o.budget);
  const ctx: ScanContext = { orgId, store, delivery, budget, o };

  const accounts = await scanAccounts(ctx);
  const memberships = await scanMemberships(ctx);
  const sinks = await configuredSinks(connection, orgId, budget);
  const events = await scanEvents(ctx, sinks, o.now ?? new Date());

  const report: DriftReport = {
    orgId,
    checkedAt: o.now ?? new Date(),
    partial: budget.exhausted,
    examined: budget.examined,
    budget: o.budget,
    inactiveAccounts: accounts.inactive,
    unlinkedAccounts: accounts.unlinked,
    danglingMemberships: {
      count: memberships.dangling.length,
      sample: memberships.dangling.slice(0, o.sampleSize).map((m) => m._id),
    },
    undeliveredEvents: events.kind,
  };
  return {
    report,
    danglingMemberships: memberships.dangling,
    liveGroupsWithDanglingRows: memberships.liveGroups,
    undispatchedEvents: events.undispatched,
  };
}

interface ScanContext {
  orgId: string;
  store: StoreCollections;
  delivery: AuditDeliveryCollections;
  budget: Budget;
  o: Required<Omit<DriftOptions, 'now'>> & { now?: Date };
}

/** One scan: its base filter (with `orgId`), the index order and how to resume after a document. */
interface Scan<T> {
  collection: mongo.Collection<never>;
  filter: Record<string, unknown>;
  sort: Record<string, 1>;
  after: (last: T) => Record<string, unknown>;
  projection: Record<string, 1>;
  /** Documents one scanned document may cost (itself and its look-ups): a batch reads what the budget covers. */
  cost: number;
}

/**
 * The batches of a scan, each as large as the budget still covers. On MongoDB keyset pages in index order, each a
 * bounded query served by the scan's index. On FerretDB v1, which serves no index but `_id`'s and sorts in memory,
 * one unsorted cursor read a batch at a time: one pass over the collection instead of one sort of it per page.
 */
async function* batches<T>(ctx: ScanContext, scan: Scan<T>): AsyncGenerator<T[]> {
  const { budget, o } = ctx;
  if (o.profile.secondaryIndexes) {
    let last: T | undefined;
    for (;;) {
      const n = budget.next(o.batchSize, scan.cost);
      if (n === 0) return;
      const docs = (await scan.collection
        .find({ ...scan.filter, ...(last === undefined ? {} : scan.after(last)) } as never, {
          projection: scan.projection,
        })
        .sort(scan.sort)
        .limit(n)
        .toArray()) as T[];
      budget.take(docs.length);
      yield docs;
      if (docs.length < n) return;
      last = docs.at(-1);
    }
  }
  const cursor = scan.collection
    .find(scan.filter as never, { projection: scan.projection })
    .batchSize(o.batchSize);
  try {
    for (;;) {
      const n = budget.next(o.batchSize, scan.cost);
      if (n === 0) return;
      const docs: T[] = [];
      while (docs.length < n) {
        const doc = await cursor.next();
        if (doc === null) break;
        docs.push(doc);
      }
      budget.take(docs.length);
      yield docs;
      if (docs.length < n) return;
    }
  } finally {
    await cursor.close();
  }
}

/** Accounts in `{orgId, userNameKey}` order (the unique index), one batch at a time. */
async function scanAccounts(ctx: ScanContext) {
  const { orgId, store, budget, o } = ctx;
  const inactive = { count: 0, sample: [] as string[], inactive: 0, notSsoOnly: 0 };
  const unlinked = { count: 0, sample: [] as string[], pairs: [] as { accountId: string; userId: string }[] };
  const scan = batches<ScannedUser>(ctx, {
    collection: store.users as unknown as mongo.Collection<never>,
    filter: { orgId },
    sort: { [USER_NAME_KEY]: 1 },
    after: (last) => ({ [USER_NAME_KEY]: { $gt: last[USER_NAME_KEY] } }),
    projection: {
      _id: 1,
      active: 1,
      scim: 1,
      'auth.ssoOnly': 1,
      'auth.passwordHash': 1,
      [EMAIL_KEY]: 1,
      [USER_NAME_KEY]: 1,
    },
    // An account costs itself plus at most one matching SCIM user per email look-up.
    cost: 2,
  });
  for await (const batch of scan) {
    const emailsOfUnmanaged = new Map<string, string[]>();
    for (const user of batch) {
      const visible = user.scim?.managed === true && !user.scim.deletedAt;
      if (visible) {
        const isInactive = user.active === false;
        const notSso = user.auth?.ssoOnly !== true || typeof user.auth.passwordHash === 'string';
        if (isInactive) inactive.inactive++;
        if (notSso) inactive.notSsoOnly++;
        if (isInactive || notSso) {
          inactive.count++;
          if (inactive.sample.length < o.sampleSize) inactive.sample.push(user._id);
        }
      } else if (user.scim?.managed !== true) {
        for (const email of user.emails ?? []) {
          if (typeof email.valueKey !== 'string') continue;
          emailsOfUnmanaged.set(email.valueKey, [...(emailsOfUnmanaged.get(email.valueKey) ?? []), user._id]);
        }
      }
    }
    if (emailsOfUnmanaged.size > 0) {
      const matches = (await store.users
        .find(
          {
            orgId,
            [EMAIL_KEY]: { $in: [...emailsOfUnmanaged.keys()] },
            'scim.managed': true,
            'scim.deletedAt': null,
          },
          { projection: { _id: 1, [EMAIL_KEY]: 1 } },
        )
        .limit(Math.max(1, budget.remaining))
        .toArray()) as unknown as ScannedUser[];
      budget.take(matches.length);
      if (budget.remaining === 0) budget.exhausted = true;
      const found = new Set<string>();
      for (const match of matches) {
        for (const email of match.emails ?? []) {
          for (const accountId of emailsOfUnmanaged.get(email.valueKey ?? '') ?? []) {
            if (found.has(accountId)) continue;
            found.add(accountId);
            unlinked.count++;
            if (unlinked.sample.length < o.sampleSize) {
              unlinked.sample.push(accountId);
              unlinked.pairs.push({ accountId, userId: match._id });
            }
          }
        }
      }
    }
  }
  return { inactive, unlinked };
}

/** Membership rows in `{orgId, groupId, memberId}` order, each batch's groups and members looked up by id. */
async function scanMemberships(ctx: ScanContext) {
  const { orgId, store } = ctx;
  const dangling: Pick<MembershipDocument, '_id' | 'groupId' | 'memberId'>[] = [];
  const liveGroups = new Set<string>();
  const scan = batches<MembershipDocument>(ctx, {
    collection: store.memberships as unknown as mongo.Collection<never>,
    filter: { orgId },
    sort: { groupId: 1, memberId: 1 },
    after: (last) => ({
      $or: [{ groupId: { $gt: last.groupId } }, { groupId: last.groupId, memberId: { $gt: last.memberId } }],
    }),
    projection: { _id: 1, groupId: 1, memberId: 1, memberType: 1 },
    // A row costs itself, its group and its member at most.
    cost: 3,
  });
  for await (const rows of scan) {
    const groupIds = new Set<string>(rows.map((r) => r.groupId));
    const userIds = new Set<string>();
    for (const r of rows) (r.memberType === 'Group' ? groupIds : userIds).add(r.memberId);
    const groups = await byIds(ctx, store.groups, [...groupIds], { deletedAt: 1, 'outbox.id': 1 });
    const users = await byIds(ctx, store.users, [...userIds], { scim: 1, 'outbox.id': 1 });
    const liveGroup = (id: string) => state(groups.get(id), (g) => !g.deletedAt);
    const liveUser = (id: string) =>
      state(users.get(id), (u) => u.scim?.managed === true && !u.scim.deletedAt);
    for (const r of rows) {
      const group = liveGroup(r.groupId);
      const member = r.memberType === 'Group' ? liveGroup(r.memberId) : liveUser(r.memberId);
      // A target with a pending outbox entry is being written: its effects (member.leave, group.delete) are in flight.
      if (group === 'pending' || member === 'pending') continue;
      if (group === 'gone' || member === 'gone') {
        dangling.push({ _id: r._id, groupId: r.groupId, memberId: r.memberId });
        if (group === 'live') liveGroups.add(r.groupId);
      }
    }
  }
  return { dangling, liveGroups: [...liveGroups] };
}

type Target = { outbox?: { id: string }[] } & Record<string, unknown>;

function state<T extends Target>(doc: T | undefined, live: (doc: T) => boolean): 'live' | 'gone' | 'pending' {
  if (!doc) return 'gone';
  if ((doc.outbox?.length ?? 0) > 0) return 'pending';
  return live(doc) ? 'live' : 'gone';
}

/**
 * Documents of the organisation by id: on MongoDB one `{orgId, _id: {$in}}` read (targeted, the `_id` index); on
 * FerretDB v1 one `{_id}` read each, the only filter it serves from an index (docs/testing.md), checked for the
 * organisation on the result.
 */
async function byIds<T extends { _id: string; orgId: string }>(
  ctx: ScanContext,
  collection: mongo.Collection<T>,
  ids: string[],
  projection: Record<string, 1>,
): Promise<Map<string, mongo.WithId<T>>> {
  const found = new Map<string, mongo.WithId<T>>();
  if (ids.length === 0) return found;
  const withOrg = { ...projection, orgId: 1 };
  if (ctx.o.profile.secondaryIndexes) {
    const docs = await collection
      .find({ orgId: ctx.orgId, _id: { $in: ids } } as mongo.Filter<T>, { projection: withOrg })
      .limit(ids.length)
      .toArray();
    for (const doc of docs) found.set(doc._id, doc);
  } else {
    for (const id of ids) {
      const doc = await collection.findOne({ _id: id } as mongo.Filter<T>, { projection: withOrg });
      if (doc && doc.orgId === ctx.orgId) found.set(doc._id, doc);
    }
  }
  ctx.budget.take(found.size);
  return found;
}

/**
 * The sinks the fan-out delivers to, by delivery name: webhooks (`settings.audit.webhooks`, every event) and event
 * streams (`settings.audit.eventStreams`, `events:<name>`, only the events with an RFC 9967 form).
 */
interface ConfiguredSink {
  name: string;
  /** Whether the fan-out sends this event to the sink. */
  receives: (event: AuditEventDocument) => boolean;
}

async function configuredSinks(
  connection: Connection,
  orgId: string,
  budget: Budget,
): Promise<ConfiguredSink[]> {
  const organisation = await tenancyCollections(connection).organisations.findOne(
    { _id: orgId },
    { projection: { 'settings.audit.webhooks.name': 1, 'settings.audit.eventStreams.name': 1 } },
  );
  if (organisation) budget.take(1);
  const audit = organisation?.settings?.audit;
  const webhooks = (audit?.webhooks ?? []).map((w) => w?.name).filter(Boolean);
  const streams = ((audit as { eventStreams?: { name?: string }[] } | undefined)?.eventStreams ?? [])
    .map((e) => e?.name)
    .filter(Boolean);
  return [
    ...[...new Set(webhooks)].map((name) => ({ name, receives: () => true })),
    ...[...new Set(streams)].map((name) => ({
      name: `${EVENT_STREAM_SINK_PREFIX}${name}`,
      receives: (event: AuditEventDocument) => scimEventsOf(event) !== null,
    })),
  ];
}

/**
 * Undispatched events older than the minimum age, oldest first (`{orgId, dispatchedAt, occurredAt, _id}`), each
 * checked against every configured sink's delivery record and dead letter; then the organisation's dead letters.
 */
async function scanEvents(ctx: ScanContext, sinks: ConfiguredSink[], now: Date) {
  const { orgId, store, delivery, budget, o } = ctx;
  const cutoff = new Date(now.getTime() - o.minEventAgeMs);
  const missingBySink: Record<string, number> = Object.fromEntries(sinks.map((s) => [s.name, 0]));
  const undispatched: { _id: string; traceId: string | null }[] = [];
  const sample: string[] = [];
  const scan = batches<AuditEventDocument>(ctx, {
    collection: store.auditEvents as unknown as mongo.Collection<never>,
    filter: { orgId, dispatchedAt: null, occurredAt: { $lte: cutoff } },
    sort: { occurredAt: 1, _id: 1 },
    after: (last) => ({
      $or: [
        { occurredAt: { $gt: last.occurredAt } },
        { occurredAt: last.occurredAt, _id: { $gt: last._id } },
      ],
    }),
    // What the fan-out decides an event-stream delivery by (`scimEventsOf`), besides the keys.
    projection: { _id: 1, traceId: 1, occurredAt: 1, action: 1, resourceType: 1, resourceId: 1 },
    // An event costs itself and, per sink, its delivery record and its dead letter.
    cost: 1 + 2 * sinks.length,
  });
  for await (const events of scan) {
    for (const event of events) {
      undispatched.push({ _id: event._id, traceId: event.traceId ?? null });
      if (sample.length < o.sampleSize) sample.push(event._id);
    }
    for (const sink of sinks) {
      const keys = events.filter(sink.receives).map((e) => deliveryKey(e._id, sink.name));
      const settled = new Set([
        ...(await byIds(ctx, delivery.auditDeliveries, keys, { _id: 1 })).keys(),
        ...(await byIds(ctx, delivery.auditDeadLetters, keys, { _id: 1 })).keys(),
      ]);
      missingBySink[sink.name]! += keys.filter((k) => !settled.has(k)).length;
    }
  }

  // Dead letters waiting for an operator: counted on `{orgId, status, deadLetteredAt}`, the oldest as the sample.
  let deadLetters = 0;
  const countLimit = budget.remaining;
  if (countLimit === 0) budget.exhausted = true;
  else {
    deadLetters = await delivery.auditDeadLetters.countDocuments(
      { orgId, status: 'dead' },
      { limit: countLimit },
    );
    budget.take(deadLetters);
    if (deadLetters === countLimit) budget.exhausted = true;
    // `limit(0)` means no limit: ask only when the sample has room.
    const room = Math.min(o.sampleSize - sample.length, deadLetters, budget.remaining);
    if (room > 0) {
      const letters = await delivery.auditDeadLetters
        .find({ orgId, status: 'dead' }, { projection: { _id: 1 } })
        .sort({ deadLetteredAt: 1 })
        .limit(room)
        .toArray();
      budget.take(letters.length);
      for (const letter of letters) sample.push(letter._id);
    }
  }
  return {
    undispatched,
    kind: {
      count: undispatched.length + deadLetters,
      sample,
      undispatched: undispatched.length,
      deadLetters,
      missingBySink,
    },
  };
}
