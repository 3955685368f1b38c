import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/limits.js';
import { startApiProcess, type ApiProcess } from './api-process.js';
import { GROUP, newUser, patchOp, startHarness, type Harness } from './harness.js';

// The cost model through real HTTP (docs/api.md "Limits"): each hostile request is refused with the documented
// error or served within its budget by a real api process (from dist/, limits from its environment), while
// another organisation's requests and a cheap probe keep their latency. Database command counts are taken from
// an in-process api on the same database (the driver's command monitoring).

const MEMBERS_PER_PAGE = 2_000;
const MEMBERS_FOR_FILTER = 3_000;
let h: Harness;
/** The api process under test, and an in-process api on the same database for command counts. */
let base: string;
let inProcess: string;
let api: ApiProcess;
let hostile: string;
let other: string;
let victimId: string;
const otherIds: string[] = [];

interface Call {
  status: number;
  /** The resource id of the answer, or '' (for paths). */
  id: string;
  body: Record<string, unknown>;
  headers: Headers;
  ms: number;
}

async function call(token: string, method: string, path: string, body?: unknown, at = base): Promise<Call> {
  const started = performance.now();
  const response = await fetch(`${at}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return {
    status: response.status,
    id: typeof parsed.id === 'string' ? parsed.id : '',
    body: parsed,
    headers: response.headers,
    ms: performance.now() - started,
  };
}

/** Database commands on a collection while `run` runs (the driver's command monitoring). */
async function commandsOn<T>(
  collection: string,
  run: () => Promise<T>,
): Promise<{ result: T; commands: number }> {
  let commands = 0;
  const client = h.connection.getClient();
  const listener = (event: { command: Record<string, unknown>; commandName: string }) => {
    if (event.command[event.commandName] === collection) commands++;
  };
  client.on('commandStarted', listener);
  try {
    return { result: await run(), commands };
  } finally {
    client.off('commandStarted', listener);
  }
}

/** The api process's CPU time and resident memory. */
function apiProc(): { cpuMs: number; rssMb: number } {
  return api.usage();
}

interface LoadFigures {
  /** Longest wait of a cheap request (GET /ServiceProviderConfig) scheduled every 50 ms, from its scheduled time. */
  probeMaxMs: number;
  probes: number;
  otherP50Ms: number;
  otherP99Ms: number;
  otherRequests: number;
  otherFailures: number;
  rssGrowthMb: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The other organisation's steady lookups and the cheap probe, for as long as `during` runs (at least `minMs`). */
async function underLoad<T>(
  during: () => Promise<T>,
  minMs = 1_000,
): Promise<{ result: T; figures: LoadFigures }> {
  let stop = false;
  const latencies: number[] = [];
  let failures = 0;
  const probeWaits: number[] = [];
  const rssStart = apiProc().rssMb;
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, apiProc().rssMb);
  }, 20);
  // The other organisation reads its users by id: on the embedded FerretDB only `_id` is served by an index, and
  // any other query scans the collection the hostile organisation is growing (docs/testing.md), which would
  // measure the test server, not the api's isolation.
  const otherLoop = (async () => {
    for (let i = 0; !stop; i++) {
      const response = await call(
        other,
        'GET',
        `/Users/${otherIds[i % otherIds.length]}?excludedAttributes=groups`,
      );
      latencies.push(response.ms);
      if (response.status !== 200) failures++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const probeLoop = (async () => {
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let k = 0; !stop; k++) {
      const scheduled = t0 + k * 50;
      const delay = scheduled - performance.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      inflight.push(
        call(other, 'GET', '/ServiceProviderConfig').then((r) => {
          expect(r.status).toBe(200);
          probeWaits.push(performance.now() - scheduled);
        }),
      );
    }
    await Promise.all(inflight);
  })();
  const started = performance.now();
  const result = await during();
  const rest = minMs - (performance.now() - started);
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  stop = true;
  await Promise.all([otherLoop, probeLoop]);
  clearInterval(sampler);
  const figures: LoadFigures = {
    probeMaxMs: Math.round(Math.max(...probeWaits)),
    probes: probeWaits.length,
    otherP50Ms: Math.round(percentile(latencies, 50)),
    otherP99Ms: Math.round(percentile(latencies, 99)),
    otherRequests: latencies.length,
    otherFailures: failures,
    rssGrowthMb: Math.round(rssPeak - rssStart),
  };
  return { result, figures };
}

let baseline: LoadFigures;

/**
 * The embedded FerretDB reads the whole collection for every query but `_id` (docs/testing.md): a user with 10 000
 * emails left behind would slow every later scan of this suite and of the suites sharing the server.
 */
async function dropLargeDocument(id: string): Promise<void> {
  await h.connection.collection('users').deleteOne({ _id: id as never });
}

/** The promise of the issue, in numbers: probe ≤ 250 ms, RSS growth < 100 MB, the other organisation unharmed. */
function expectUnharmed(name: string, figures: LoadFigures) {
  console.log(
    `cost ${name}: ${JSON.stringify(figures)} (baseline p50 ${baseline.otherP50Ms} ms, p99 ${baseline.otherP99Ms} ms)`,
  );
  expect(figures.otherFailures, name).toBe(0);
  expect(figures.probeMaxMs, name).toBeLessThan(250);
  expect(figures.rssGrowthMb, name).toBeLessThan(100);
  // 2× the baseline p99; on this 2-core machine, shared with the test server, a baseline p99 of a few tens of ms
  // moves by more than that from scheduling alone, so at least 150 ms of slack. A stall shows as seconds.
  expect(figures.otherP99Ms, name).toBeLessThanOrEqual(
    Math.max(2 * baseline.otherP99Ms, baseline.otherP99Ms + 150),
  );
}

interface Seeded {
  id: string;
  memberIds: string[];
}

async function seedGroup(name: string, memberCount: number): Promise<Seeded> {
  const org = hostileOrg;
  const group = await call(hostile, 'POST', '/Groups', { schemas: [GROUP], displayName: name });
  expect(group.status).toBe(201);
  const id = group.id;
  const now = new Date();
  const memberIds = Array.from({ length: memberCount }, (_, i) => `${id}-m${i}`);
  // Seeded straight into the store: the users are real, visible SCIM users, only faster to create than by HTTP.
  await h.connection.collection('users').insertMany(
    memberIds.map((memberId, i) => ({
      _id: memberId as never,
      orgId: org,
      userName: `${name}-${i}`,
      userNameKey: `${name}-${i}`.toLowerCase(),
      active: true,
      scim: { managed: true, deletedAt: null },
      auth: { ssoOnly: true },
      meta: { created: now, lastModified: now, version: 1 },
    })),
  );
  await h.connection.collection('memberships').insertMany(
    memberIds.map((memberId) => ({
      _id: `${id}:${memberId}` as never,
      orgId: org,
      groupId: id,
      memberId,
      memberType: 'User',
      display: memberId,
      addedAt: now,
    })),
  );
  return { id, memberIds };
}

let hostileOrg: string;

beforeAll(async () => {
  // Smaller member budgets than the defaults keep the seeded groups small enough for the test server.
  h = await startHarness({
    limits: {
      ...DEFAULT_LIMITS,
      membersPerPage: MEMBERS_PER_PAGE,
      patch: { ...DEFAULT_LIMITS.patch, maxMembersForFilter: MEMBERS_FOR_FILTER },
    },
  });
  inProcess = `${await h.app.listen({ port: 0, host: '127.0.0.1' })}/scim/v2`;
  api = await startApiProcess(h.connection.name, {
    SCIM_MEMBERS_PER_PAGE: String(MEMBERS_PER_PAGE),
    SCIM_PATCH_MAX_MEMBERS_FOR_FILTER: String(MEMBERS_FOR_FILTER),
  });
  base = api.base;
  const a = await h.organisation();
  hostileOrg = a.orgId;
  hostile = a.token;
  other = (await h.organisation()).token;
  for (let i = 0; i < 20; i++)
    otherIds.push((await call(other, 'POST', '/Users', newUser(`o${i}@x.test`))).id);
  victimId = (await call(hostile, 'POST', '/Users', newUser('victim@x.test'))).id;
  baseline = (await underLoad(async () => undefined, 2_000)).figures;
  console.log(`cost baseline: ${JSON.stringify(baseline)}`);
}, 180_000);
afterAll(async () => {
  await api.stop();
  await h.close();
});

describe('filters have a bounded cost', () => {
  it('a 500-term members filter is refused before any membership read; 100 identical terms are one read', async () => {
    const terms = (n: number) => Array.from({ length: n }, () => 'members pr').join(' or ');
    const { result, figures } = await underLoad(() =>
      call(hostile, 'GET', `/Groups?filter=${encodeURIComponent(terms(500))}`),
    );
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ scimType: 'invalidFilter' });
    expect(result.body.detail).toContain('500 terms, limit 100');
    expectUnharmed('members filter', figures);
    const refused = await commandsOn('memberships', () =>
      call(hostile, 'GET', `/Groups?filter=${encodeURIComponent(terms(500))}`, undefined, inProcess),
    );
    expect(refused.result.status).toBe(400);
    expect(refused.commands).toBe(0);
    const served = await commandsOn('memberships', () =>
      call(
        hostile,
        'GET',
        `/Groups?filter=${encodeURIComponent(terms(100))}&excludedAttributes=members`,
        undefined,
        inProcess,
      ),
    );
    expect(served.result.status).toBe(200);
    expect(served.commands).toBe(1);
    const distinct = ['a', 'b', 'c', 'd', 'e'].map((v) => `members[value eq "${v}"]`).join(' or ');
    const five = await call(
      hostile,
      'GET',
      `/Groups?filter=${encodeURIComponent(distinct)}`,
      undefined,
      inProcess,
    );
    expect(five.status).toBe(400);
    expect(five.body.detail).toContain('5 distinct conditions on members or groups, limit 4');
    const metrics = await h.registry.getSingleMetricAsString('scim_refused_requests_total');
    expect(metrics).toContain('reason="filter_too_complex"');
  });

  it('a value filter is evaluated before projection: attributes=userName still finds the user', async () => {
    const id = (
      await call(
        hostile,
        'POST',
        '/Users',
        newUser('filtered@x.test', { emails: [{ value: 'Filtered@Corp.test', type: 'work' }] }),
      )
    ).id;
    const filter = encodeURIComponent('emails[type eq "work" and value co "corp.test"]');
    const found = await call(hostile, 'GET', `/Users?filter=${filter}&attributes=userName`);
    expect(found.status).toBe(200);
    expect(found.body.totalResults).toBe(1);
    const [user] = found.body.Resources as Record<string, unknown>[];
    expect(user).toMatchObject({ id, userName: 'filtered@x.test' });
    expect(user!.emails).toBeUndefined();
    // The api process attributes its MongoDB time to the request that spent it.
    const metrics = await (await fetch(`${base.replace('/scim/v2', '')}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find(
        (l) =>
          l.startsWith('scim_request_database_seconds_sum{') &&
          l.includes('resource="User"') &&
          l.includes('operation="list"'),
      );
    expect(Number(line?.split(' ').at(-1)), metrics.slice(0, 2000)).toBeGreaterThan(0);
  });
});

describe('PATCH has a bounded cost', () => {
  const emails = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}@x.test`, type: 'other' }));

  it('8,000 emails in one operation are refused before any work; the attribute limit itself is served', async () => {
    const max = DEFAULT_LIMITS.patch.maxAttributeValues;
    const { result, figures } = await underLoad(async () => ({
      refused: await call(
        hostile,
        'PATCH',
        `/Users/${victimId}`,
        patchOp({ op: 'add', path: 'emails', value: emails(8_000, 'a') }),
      ),
      served: await call(
        hostile,
        'PATCH',
        `/Users/${victimId}`,
        patchOp({ op: 'add', path: 'emails', value: emails(max - 1, 'b') }),
      ),
      past: await call(
        hostile,
        'PATCH',
        `/Users/${victimId}`,
        patchOp({ op: 'add', path: 'emails', value: emails(1, 'c') }),
      ),
    }));
    expect(result.refused.status).toBe(400);
    expect(result.refused.body).toMatchObject({ scimType: 'invalidValue' });
    expect(result.refused.body.detail).toContain(`8000 values; at most ${max}`);
    expect(result.served.status).toBe(200);
    expect(result.served.body.emails).toHaveLength(max);
    expect(result.past.status).toBe(400);
    expect(result.past.body.detail).toContain(`${max + 1} values; at most ${max}`);
    expectUnharmed('8,000-email PATCH', figures);
    const after = await call(hostile, 'GET', `/Users/${victimId}`);
    expect(after.body.emails).toHaveLength(max);
    await dropLargeDocument(victimId);
  });

  it('1,000 single-value adds (the limit) succeed; 1,001 are 413 naming the limit', async () => {
    const id = (await call(hostile, 'POST', '/Users', newUser('many-ops@x.test', { emails: [] }))).id;
    const ops = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        op: 'add',
        path: 'emails',
        value: [{ value: `op${i}@x.test` }],
      }));
    const { result, figures } = await underLoad(async () => ({
      ok: await call(hostile, 'PATCH', `/Users/${id}`, patchOp(...ops(1_000))),
      refused: await call(hostile, 'PATCH', `/Users/${id}`, patchOp(...ops(1_001))),
    }));
    expect(result.ok.status).toBe(200);
    expect(result.ok.body.emails).toHaveLength(1_000);
    expect(result.refused.status).toBe(413);
    expect(result.refused.body.detail).toContain('1001 operations; at most 1000');
    expectUnharmed('1,000-operation PATCH', figures);
    await dropLargeDocument(id);
  });

  it('the worst allowed PATCH on an attribute at its size limit costs under 200 ms of api CPU', async () => {
    const max = DEFAULT_LIMITS.patch.maxAttributeValues;
    const id = (await call(hostile, 'POST', '/Users', newUser('worst@x.test', { emails: [] }))).id;
    expect(
      (
        await call(
          hostile,
          'PATCH',
          `/Users/${id}`,
          patchOp({ op: 'add', path: 'emails', value: emails(max, 'w') }),
        )
      ).status,
    ).toBe(200);
    // Each filtered operation visits every value: the visit budget allows this many of them.
    const visits = DEFAULT_LIMITS.patch.maxValueVisits / max;
    const filtered = (type: string) =>
      Array.from({ length: visits }, (_, i) => ({
        op: 'replace',
        path: `emails[value eq "w${i}@x.test"].type`,
        value: type,
      }));
    // The first such PATCH also compiles its code path; a running replica has done that long before.
    expect((await call(hostile, 'PATCH', `/Users/${id}`, patchOp(...filtered('work')))).status).toBe(200);
    const before = apiProc().cpuMs;
    const response = await call(hostile, 'PATCH', `/Users/${id}`, patchOp(...filtered('home')));
    const cpuMs = apiProc().cpuMs - before;
    console.log(
      `cost worst PATCH on a ${max}-value attribute: ${visits} filtered operations, ${Math.round(cpuMs)} ms CPU, ${Math.round(response.ms)} ms`,
    );
    expect(response.status).toBe(200);
    expect(cpuMs).toBeLessThan(200);
    const past = await call(
      hostile,
      'PATCH',
      `/Users/${id}`,
      patchOp(...filtered('work'), filtered('work')[0]),
    );
    expect(past.status).toBe(400);
    expect(past.body.detail).toContain('more than 100000 attribute values');
    await dropLargeDocument(id);
  });
});

describe('group members are never read without bound', () => {
  it('GET of a 5,000-member group streams every member; a page stops before its member budget', async () => {
    const big = await seedGroup('big', 5_000);
    const small = [await seedGroup('small-a', 1_500), await seedGroup('small-b', 1_500)];
    try {
      await largeGroups(big, small);
    } finally {
      // Seeded rows go again: on the test server every later scan of this suite would read them.
      await h.connection
        .collection('users')
        .deleteMany({ _id: { $in: [big, ...small].flatMap((g) => g.memberIds) as never[] } });
      await h.connection
        .collection('memberships')
        .deleteMany({ groupId: { $in: [big, ...small].map((g) => g.id) } });
    }
  });

  async function largeGroups(big: Seeded, small: Seeded[]): Promise<void> {
    const { result, figures } = await underLoad(() => call(hostile, 'GET', `/Groups/${big.id}`));
    expect(result.status).toBe(200);
    const members = (result.body.members as { value: string; $ref: string }[]).map((m) => m.value);
    expect(members).toHaveLength(5_000);
    expect(new Set(members)).toEqual(new Set(big.memberIds));
    expect(result.headers.get('etag')).toBe('W/"1"');
    expectUnharmed('GET 5,000-member group', figures);

    // Index paging: each page holds at most 2,000 member rows (or one larger group, streamed); never a partial group.
    const seen = new Map<string, number>();
    for (let start = 1, pages = 0; pages < 10; pages++) {
      const page = await call(hostile, 'GET', `/Groups?startIndex=${start}&count=10&sortBy=displayName`);
      expect(page.status).toBe(200);
      const resources = page.body.Resources as { id: string; members?: unknown[] }[];
      for (const r of resources) seen.set(r.id, r.members?.length ?? 0);
      expect(page.body.itemsPerPage).toBe(resources.length);
      if (resources.length === 0 || start + resources.length > (page.body.totalResults as number)) break;
      if (resources.length > 1)
        expect(resources.reduce((n, r) => n + (r.members?.length ?? 0), 0)).toBeLessThanOrEqual(
          MEMBERS_PER_PAGE,
        );
      start += resources.length;
    }
    expect(seen.get(big.id)).toBe(5_000);
    for (const g of small) expect(seen.get(g.id)).toBe(1_500);

    // A member filter that is not a list of ids is refused on a group this large; by value it is served.
    const refused = await call(
      hostile,
      'PATCH',
      `/Groups/${big.id}`,
      patchOp({ op: 'remove', path: 'members[display eq "x"]' }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain(`at most ${MEMBERS_FOR_FILTER} members`);
    // Entra's shape (excludedAttributes=members): one keyed read (is it a member: the write must know whether it
    // changes anything before it commits its event, docs/contracts.md "Outbox") and one delete, whatever the size.
    const removed = await commandsOn('memberships', () =>
      call(
        hostile,
        'PATCH',
        `/Groups/${big.id}?excludedAttributes=members`,
        patchOp({ op: 'remove', path: `members[value eq "${big.memberIds[0]}"]` }),
        inProcess,
      ),
    );
    expect(removed.result.status).toBe(200);
    expect(removed.result.headers.get('etag')).toBe('W/"2"');
    expect(removed.commands).toBe(2);
  }

  it('parallel member PATCHes of one group all land, and an identical PUT changes nothing', async () => {
    const users = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) => (await call(hostile, 'POST', '/Users', newUser(`par${i}@x.test`))).id,
      ),
    );
    const group = await call(hostile, 'POST', '/Groups', { schemas: [GROUP], displayName: 'parallel' });
    const responses = await Promise.all(
      users.map((id) =>
        call(
          hostile,
          'PATCH',
          `/Groups/${group.id}`,
          patchOp({ op: 'add', path: 'members', value: [{ value: id }] }),
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(users.map(() => 200));
    const after = await call(hostile, 'GET', `/Groups/${group.id}`);
    expect((after.body.members as unknown[]).length).toBe(20);
    const put = { schemas: [GROUP], displayName: 'parallel', members: users.map((value) => ({ value })) };
    const first = await call(hostile, 'PUT', `/Groups/${group.id}`, put);
    const second = await call(hostile, 'PUT', `/Groups/${group.id}`, put);
    expect(first.headers.get('etag')).toBe(after.headers.get('etag'));
    expect(second.headers.get('etag')).toBe(after.headers.get('etag'));
  });
});

describe('Bulk and PUT correctness', () => {
  it("a malformed path in operation 2 of 3 is that operation's 400; the others are answered", async () => {
    const response = await call(hostile, 'POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'one', data: newUser('bulk-one@x.test') },
        {
          method: 'PATCH',
          path: '/Users/%E0%A4%A',
          data: patchOp({ op: 'replace', path: 'active', value: false }),
        },
        { method: 'POST', path: '/Users', bulkId: 'three', data: newUser('bulk-three@x.test') },
      ],
    });
    expect(response.status).toBe(200);
    const results = response.body.Operations as { status: string; response?: { scimType?: string } }[];
    expect(results.map((r) => r.status)).toEqual(['201', '400', '201']);
    expect(results[1]!.response?.scimType).toBe('invalidPath');
  });

  it('two identical PUTs keep the ETag and write no event', async () => {
    const created = await call(
      hostile,
      'POST',
      '/Users',
      newUser('put-twice@x.test', { name: { familyName: 'Twice', givenName: 'Put' } }),
    );
    const body = newUser('put-twice@x.test', {
      name: { givenName: 'Put', familyName: 'Twice' },
      title: 'Engineer',
    });
    const first = await call(hostile, 'PUT', `/Users/${created.id}`, body);
    const second = await call(hostile, 'PUT', `/Users/${created.id}`, body);
    expect(first.headers.get('etag')).toBe('W/"2"');
    expect(second.headers.get('etag')).toBe('W/"2"');
    const events = await h.connection
      .collection('audit_events')
      .countDocuments({ resourceId: created.id, action: 'user.updated' });
    expect(events).toBe(1);
  });
});
