import { randomUUID } from 'node:crypto';

export type Operation =
  | 'user.create'
  | 'user.patch'
  | 'user.get'
  | 'user.filter'
  | 'group.create'
  | 'group.members.add'
  | 'group.members.remove'
  | 'group.get'
  | 'setup';

export interface RequestRecord {
  requestId: string;
  op: Operation;
  method: string;
  path: string;
  /** Index of the api process it went to. */
  api: number;
  startedAt: number;
  endedAt: number;
  /** HTTP status, or 0 when no response arrived (see `error`). */
  status: number;
  retryAfter: string | null;
  /** A SCIM error body (`urn:ietf:params:scim:api:messages:2.0:Error`) came with the failure. */
  scimError: boolean;
  detail?: string;
  error?: 'connection' | 'timeout';
  errorMessage?: string;
  /** POST/PUT/PATCH/DELETE. */
  write: boolean;
  /** The resource a create made (from the response), or the one a write addressed. */
  resourceId?: string;
  /** For creates: the userName / displayName sent, so an unanswered create can be looked up. */
  key?: string;
}

const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** What an IdP does: requests with a bearer token against one of the api processes, every one recorded. */
export class ScimClient {
  readonly records: RequestRecord[] = [];
  private next = 0;
  private seq = 0;

  constructor(
    readonly bases: string[],
    private readonly token: string,
    private readonly prefix: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Round-robin over the api processes unless `api` is given. */
  async request(
    op: Operation,
    method: string,
    path: string,
    body?: unknown,
    opts: { api?: number; key?: string; resourceId?: string } = {},
  ): Promise<{ record: RequestRecord; json: unknown }> {
    const api = opts.api ?? this.next++ % this.bases.length;
    const requestId = `${this.prefix}-${(this.seq++).toString(36)}-${randomUUID().slice(0, 8)}`;
    const record: RequestRecord = {
      requestId,
      op,
      method,
      path,
      api,
      startedAt: Date.now(),
      endedAt: 0,
      status: 0,
      retryAfter: null,
      scimError: false,
      write: method !== 'GET',
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.resourceId ? { resourceId: opts.resourceId } : {}),
    };
    this.records.push(record);
    let json: unknown;
    try {
      const response = await fetch(`${this.bases[api]}/scim/v2${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'x-request-id': requestId,
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      record.status = response.status;
      record.retryAfter = response.headers.get('retry-after');
      const text = await response.text();
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (response.status >= 400) {
        const error = json as { schemas?: string[]; detail?: string } | undefined;
        record.scimError = error?.schemas?.includes(SCIM_ERROR) === true;
        if (error?.detail) record.detail = error.detail.slice(0, 200);
      }
    } catch (error) {
      const name = (error as Error).name;
      record.error = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection';
      record.errorMessage = String(
        (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
      );
    }
    record.endedAt = Date.now();
    if (record.status === 201 && json && typeof json === 'object' && 'id' in json)
      record.resourceId = String(json.id);
    return { record, json };
  }

  createUser(userName: string, api?: number) {
    return this.request(
      'user.create',
      'POST',
      '/Users',
      {
        schemas: [SCIM_USER],
        userName,
        name: { givenName: 'Fault', familyName: userName.split('@')[0] },
        emails: [{ type: 'work', value: userName, primary: true }],
        active: true,
      },
      { key: userName, ...(api === undefined ? {} : { api }) },
    );
  }

  createGroup(displayName: string, api?: number) {
    return this.request(
      'group.create',
      'POST',
      '/Groups',
      { schemas: [SCIM_GROUP], displayName },
      { key: displayName, ...(api === undefined ? {} : { api }) },
    );
  }

  patchUser(id: string, title: string) {
    return this.request(
      'user.patch',
      'PATCH',
      `/Users/${id}`,
      { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'title', value: title }] },
      { resourceId: id },
    );
  }

  addMember(groupId: string, userId: string, api?: number) {
    return this.request(
      'group.members.add',
      'PATCH',
      `/Groups/${groupId}`,
      { schemas: [SCIM_PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }] },
      { resourceId: groupId, ...(api === undefined ? {} : { api }) },
    );
  }

  removeMember(groupId: string, userId: string) {
    return this.request(
      'group.members.remove',
      'PATCH',
      `/Groups/${groupId}`,
      {
        schemas: [SCIM_PATCH],
        Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
      },
      { resourceId: groupId },
    );
  }
}

export function isSuccess(r: RequestRecord): boolean {
  return r.status >= 200 && r.status < 300;
}

/**
 * A steady mixed IdP load at a bounded rate: creates, PATCHes, member changes and lookups, spread over
 * the api processes. Requests are started on a fixed schedule (not after the previous one answered), so a
 * slow or failing server does not lower the offered load; at most `maxInFlight` are outstanding.
 */
export class MixedLoad {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly users: string[] = [];
  /** Load groups (never the default group) and the state of each member this client touched. */
  private readonly groups = new Map<string, Map<string, 'adding' | 'present' | 'removing' | 'unknown'>>();
  private counter = 0;
  skippedForConcurrency = 0;
  /** Scheduled ticks so far, and how many of them started a request (the rest hit `maxInFlight`). */
  ticks = 0;
  started = 0;

  constructor(
    private readonly client: ScimClient,
    private readonly ratePerSecond = 15,
    private readonly maxInFlight = 40,
  ) {}

  /** Requests started so far that are still outstanding on `api`. */
  outstanding(api: number): RequestRecord[] {
    return this.client.records.filter((r) => r.api === api && r.endedAt === 0);
  }

  start(): void {
    const interval = 1_000 / this.ratePerSecond;
    this.timer = setInterval(() => {
      this.ticks += 1;
      if (this.inFlight.size >= this.maxInFlight) {
        this.skippedForConcurrency += 1;
        return;
      }
      this.started += 1;
      const p = this.one().catch(() => undefined);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }, interval);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  private pick<T>(items: T[]): T | undefined {
    return items.length ? items[Math.floor(Math.random() * items.length)] : undefined;
  }

  private async one(): Promise<void> {
    const n = this.counter++;
    const roll = Math.random();
    const user = this.pick(this.users);
    const groupIds = [...this.groups.keys()];
    if (roll < 0.3 || !user) {
      const { record } = await this.client.createUser(`load${n}-${randomUUID().slice(0, 6)}@faults.example`);
      if (record.status === 201 && record.resourceId) this.users.push(record.resourceId);
    } else if (roll < 0.35 || groupIds.length < 3) {
      const { record } = await this.client.createGroup(`load-group-${n}-${randomUUID().slice(0, 6)}`);
      if (record.status === 201 && record.resourceId) this.groups.set(record.resourceId, new Map());
    } else if (roll < 0.5) {
      await this.client.patchUser(user, `title-${n}`);
    } else if (roll < 0.65) {
      // Add a member the group does not have (a no-op add would be a write without a change).
      const groupId = this.pick(groupIds)!;
      const members = this.groups.get(groupId)!;
      const candidate = this.pick(this.users.filter((u) => !members.has(u)));
      if (!candidate) {
        await this.client.request('group.get', 'GET', `/Groups/${groupId}?excludedAttributes=members`);
        return;
      }
      members.set(candidate, 'adding');
      const { record } = await this.client.addMember(groupId, candidate);
      // A failed add is left alone from then on: whether it took effect is not known.
      members.set(candidate, isSuccess(record) ? 'present' : 'unknown');
    } else if (roll < 0.72) {
      // Remove a member whose add was acknowledged.
      const groupId = this.pick(groupIds)!;
      const members = this.groups.get(groupId)!;
      const member = this.pick([...members].filter(([, state]) => state === 'present').map(([id]) => id));
      if (!member) {
        await this.client.request('group.get', 'GET', `/Groups/${groupId}?excludedAttributes=members`);
        return;
      }
      members.set(member, 'removing');
      const { record } = await this.client.removeMember(groupId, member);
      if (isSuccess(record)) members.delete(member);
      else members.set(member, 'unknown');
    } else if (roll < 0.86) {
      await this.client.request('user.get', 'GET', `/Users/${user}`);
    } else if (roll < 0.93) {
      await this.client.request(
        'user.filter',
        'GET',
        `/Users?filter=${encodeURIComponent(`userName eq "load${Math.max(0, n - 20)}@faults.example"`)}&count=5`,
      );
    } else {
      await this.client.request(
        'group.get',
        'GET',
        `/Groups/${this.pick(groupIds)!}?excludedAttributes=members`,
      );
    }
  }
}
