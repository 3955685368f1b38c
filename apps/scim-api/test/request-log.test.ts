import { randomUUID } from 'node:crypto';
import {
  hashToken,
  mintToken,
  readRequestLog,
  requestLogCollection,
  revokeTokens,
  rotateToken,
  summariseRequests,
  tokenFingerprint,
  type RequestLogDocument,
} from '@scimbridge/tenancy';
import { recordQueryShapes } from '@scimbridge/telemetry';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PlainPolicy } from '../src/index.js';
import { client, newUser, patchOp, startHarness, type Harness } from './harness.js';

const PASSWORD = 'Sup3r-Secret-Passw0rd!';
const WIDGET = 'urn:example:params:scim:schemas:core:2.0:Widget';

/** A resource type whose store fails (a bug, not the client's): every create is a 500. */
class FailingPolicy extends PlainPolicy {
  override create(): never {
    throw new Error('the widget store failed');
  }
}
const IDP = 'Okta SCIM Client 1.0 (request-log test)';

let h: Harness;
/** The readers' own connection (what `scimctl log` and the controller send), recorded for the query-shape audit. */
let readers: Connection;

beforeAll(async () => {
  h = await startHarness({
    // The flood test's bound; the timer is long so that every test flushes explicitly.
    requestLog: { perOrgPerMinute: 100, retentionDays: 7, flushMs: 60_000 },
    orgLabel: { maxOrganisations: 3 },
    extraResourceKinds: (registry) => {
      registry.registerSchema({ id: WIDGET, name: 'Widget', attributes: [{ name: 'name', required: true }] });
      registry.registerResourceType({
        id: 'Widget',
        endpoint: '/Widgets',
        schema: WIDGET,
        normalisedKeys: ['name'],
      });
      return [
        {
          resourceType: 'Widget',
          collection: 'widgets',
          policy: (context) => new FailingPolicy(context, 'name'),
        },
      ];
    },
  });
  readers = await mongoose
    .createConnection(inject('mongodbUri'), { dbName: h.connection.name, monitorCommands: true })
    .asPromise();
  recordQueryShapes(readers.getClient(), { service: 'request log readers (scimctl log, scim-controller)' });
});
afterAll(async () => {
  await readers.close();
  await h.close();
});

async function records(orgId: string): Promise<RequestLogDocument[]> {
  await h.app.requestLog.flush();
  return requestLogCollection(h.connection).find({ orgId }).sort({ at: 1 }).toArray();
}

const withAgent = { 'user-agent': IDP };

describe('the request log', () => {
  it('records a successful request with names and operation shapes, never a value or the token', async () => {
    const { orgId, token } = await h.organisation();
    const scim = client(h.app, token);
    const created = await scim.post(
      '/Users',
      newUser('ada@example.com', { password: PASSWORD, title: 'Countess' }),
      withAgent,
    );
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const patched = await scim.patch(
      `/Users/${id}`,
      patchOp(
        { op: 'replace', path: 'emails[value eq "ada@example.com"].value', value: 'ada@lovelace.example' },
        { op: 'replace', value: { password: PASSWORD, active: false } },
      ),
      withAgent,
    );
    expect(patched.statusCode).toBe(200);

    const [create, patch] = await records(orgId);
    expect(create).toMatchObject({
      orgId,
      kind: 'request',
      outcome: 'success',
      method: 'POST',
      route: '/scim/v2/Users',
      resourceId: null,
      status: 201,
      scimType: null,
      reason: null,
      fingerprint: tokenFingerprint(hashToken(token)),
      userAgent: IDP,
      requestId: created.headers['x-request-id'] ?? expect.any(String),
    });
    expect(create!.changedAttributes).toEqual(
      expect.arrayContaining(['userName', 'name.givenName', 'emails', 'password', 'title']),
    );
    expect(create!.durationMs).toBeGreaterThan(0);
    expect(create!.expiresAt.getTime() - create!.at.getTime()).toBe(7 * 86_400_000);
    expect(patch).toMatchObject({
      method: 'PATCH',
      route: '/scim/v2/Users/:id',
      resourceId: id,
      status: 200,
      changedAttributes: ['emails.value', 'password', 'active'],
      body: {
        operations: [
          { op: 'replace', path: 'emails[value eq "…"].value' },
          { op: 'replace', path: null, attributes: ['password', 'active'] },
        ],
      },
    });
    // Bulk: operations as {method, path} with the attribute names of their data; a search: its parameter names.
    const bulk = await scim.post(
      '/Bulk',
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'b1',
            data: newUser('grace@example.com', { password: PASSWORD }),
          },
        ],
      },
      withAgent,
    );
    expect(bulk.statusCode).toBe(200);
    const search = await scim.post(
      '/Users/.search',
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: 'userName eq "grace@example.com"',
      },
      withAgent,
    );
    expect(search.statusCode).toBe(200);
    const [, , bulkRecord, searchRecord] = await records(orgId);
    expect(bulkRecord).toMatchObject({ route: '/scim/v2/Bulk', status: 200, changedAttributes: [] });
    expect(bulkRecord!.body!.operations).toEqual([
      {
        op: 'POST',
        path: '/Users',
        attributes: expect.arrayContaining(['userName', 'password', 'name.givenName']),
      },
    ]);
    expect(searchRecord).toMatchObject({
      route: '/scim/v2/Users/.search',
      changedAttributes: [],
      body: { attributes: ['filter'] },
    });

    const stored = JSON.stringify(await records(orgId));
    for (const secret of [
      PASSWORD,
      token,
      hashToken(token),
      'ada@lovelace.example',
      'Countess',
      'grace@example.com',
    ])
      expect(stored).not.toContain(secret);
  });

  it('records every refusal of an organisation once, with its reason, status and scimType', async () => {
    const cases: {
      name: string;
      setup: () => Promise<{ orgId: string; token: string; send?: (token: string) => Promise<number> }>;
      status: number;
      reason: string;
      scimType?: string | null;
      detail?: RegExp;
    }[] = [
      {
        name: 'a regenerated token',
        setup: async () => {
          const { orgId, token } = await h.organisation();
          await rotateToken(h.connection, h.redis, orgId);
          return { orgId, token };
        },
        status: 401,
        reason: 'token-regenerated',
        detail: /regenerated at \d{4}-\d\d-\d\dT[\d:.]+Z; update your IdP/,
      },
      {
        name: 'a revoked token',
        setup: async () => {
          const { orgId, token } = await h.organisation();
          await revokeTokens(h.connection, h.redis, orgId);
          return { orgId, token };
        },
        status: 401,
        reason: 'token-revoked',
        detail: /revoked at/,
      },
      {
        name: 'a rotated-away token after its overlap',
        setup: async () => {
          const { orgId, token } = await h.organisation();
          await rotateToken(h.connection, h.redis, orgId, { previousValidForMs: 50 });
          await new Promise((resolve) => setTimeout(resolve, 100));
          return { orgId, token };
        },
        status: 401,
        reason: 'token-regenerated',
        detail: /overlap ended at/,
      },
      {
        name: 'bearer tokens turned off',
        setup: () => h.organisation({ authentication: { bearerToken: { enabled: false } } }),
        status: 401,
        reason: 'credential-mode-off',
      },
      {
        name: 'a disabled organisation',
        setup: () => h.organisation({ enabled: false }),
        status: 403,
        reason: 'scim-disabled',
      },
      {
        name: 'a plan without SCIM',
        setup: () => h.organisation({ plan: { scimIncluded: false } }),
        status: 403,
        reason: 'scim-not-in-plan',
        detail: /SCIM provisioning is not enabled for your account/,
      },
      {
        name: 'a paused organisation',
        setup: () => h.organisation({ paused: true }),
        status: 503,
        reason: 'paused',
      },
      {
        name: 'the rate limit',
        setup: async () => {
          const org = await h.organisation({ rateLimit: { requestsPerSecond: 0.01, burst: 1 } });
          expect((await client(h.app, org.token).get('/Users')).statusCode).toBe(200);
          return org;
        },
        status: 429,
        reason: 'rate-limited',
      },
      {
        name: 'an invalid body',
        setup: async () => ({
          ...(await h.organisation()),
          send: async (token) =>
            (
              await client(h.app, token).post('/Users', {
                schemas: [newUser('x').schemas[0]],
                password: PASSWORD,
              })
            ).statusCode,
        }),
        status: 400,
        reason: 'invalidValue',
        scimType: 'invalidValue',
      },
      {
        name: 'a server error',
        setup: async () => ({
          ...(await h.organisation()),
          send: async (token) =>
            (await client(h.app, token).post('/Widgets', { schemas: [WIDGET], name: 'w' })).statusCode,
        }),
        status: 500,
        reason: 'http-500',
        scimType: null,
        detail: /^The server could not complete the request\.$/,
      },
      {
        name: 'an unknown resource',
        setup: async () => ({
          ...(await h.organisation()),
          send: async (token) => (await client(h.app, token).get(`/Users/${randomUUID()}`)).statusCode,
        }),
        status: 404,
        reason: 'http-404',
      },
    ];
    for (const c of cases) {
      const { orgId, token, send } = await c.setup();
      const before = (await records(orgId)).length;
      const status = send
        ? await send(token)
        : (await client(h.app, token).get('/Users', withAgent)).statusCode;
      expect(status, c.name).toBe(c.status);
      const after = await records(orgId);
      expect(after.length - before, c.name).toBe(1);
      const record = after.at(-1)!;
      expect(record, c.name).toMatchObject({
        orgId,
        kind: 'request',
        outcome: 'failure',
        status: c.status,
        reason: c.reason,
        fingerprint: tokenFingerprint(hashToken(token)),
      });
      if (c.scimType !== undefined) expect(record.scimType, c.name).toBe(c.scimType);
      if (c.detail) expect(record.detail, c.name).toMatch(c.detail);
      const stored = JSON.stringify(after);
      expect(stored, c.name).not.toContain(token);
      expect(stored, c.name).not.toContain(PASSWORD);
    }
  });

  it('logs nothing per organisation for an unknown or malformed token', async () => {
    const total = async () => {
      await h.app.requestLog.flush();
      return requestLogCollection(h.connection).countDocuments({});
    };
    const before = await total();
    for (const token of [mintToken(), mintToken(), 'not-a-token'])
      expect((await client(h.app, token).get('/Users')).statusCode).toBe(401);
    expect(await total()).toBe(before);
  });

  it('keeps a flood of refused requests at the per-minute bound and counts the drops exactly', async () => {
    const { orgId, token } = await h.organisation({ paused: true });
    // The bound is per minute: start early in one, so 2,000 requests (a few seconds) stay inside it.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinute));
    const scim = client(h.app, token);
    const dropsBefore = await droppedMetric('limit');
    const started = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      const statuses = await Promise.all(Array.from({ length: 100 }, () => scim.get('/Groups')));
      expect(statuses.every((r) => r.statusCode === 503)).toBe(true);
    }
    expect(Date.now() - started).toBeLessThan(19_000);
    const stored = await records(orgId);
    const requests = stored.filter((r) => r.kind === 'request');
    const dropped = stored.filter((r) => r.kind === 'dropped').reduce((sum, r) => sum + (r.dropped ?? 0), 0);
    expect(requests).toHaveLength(100);
    expect(requests.every((r) => r.reason === 'paused' && r.status === 503)).toBe(true);
    expect(dropped).toBe(1_900);
    expect((await droppedMetric('limit')) - dropsBefore).toBe(1_900);

    // The status summary sees the hour's failures and what was dropped.
    const summary = await summariseRequests(readers, orgId);
    expect(summary).toMatchObject({
      lastSuccess: null,
      lastFailure: { status: 503, reason: 'paused' },
      failuresByReason: [{ reason: 'paused', count: 100 }],
      failures: 100,
      failuresCapped: false,
      dropped: 1_900,
    });
  });

  it('reads newest first by status class, and the org-labelled metrics stay bounded', async () => {
    const { orgId, token } = await h.organisation();
    const scim = client(h.app, token);
    expect((await scim.get('/Users')).statusCode).toBe(200);
    expect((await scim.get(`/Groups/${randomUUID()}`)).statusCode).toBe(404);
    expect((await scim.get('/Users')).statusCode).toBe(200);
    await h.app.requestLog.flush();
    const failures = await readRequestLog(readers, { orgId, status: { from: 400, to: 499 }, limit: 10 });
    expect(failures.map((r) => r.status)).toEqual([404]);
    const all = await readRequestLog(readers, { orgId, limit: 2 });
    expect(all.map((r) => r.status)).toEqual([200, 404]);
    const summary = await summariseRequests(readers, orgId);
    expect(summary.lastSuccess!.at.getTime()).toBeGreaterThan(summary.lastFailure!.at.getTime());

    // At most 3 organisations keep their own label (the harness's bound), the rest are `other`.
    const text = await h.registry.getSingleMetricAsString('scim_org_requests_total');
    const orgs = new Set([...text.matchAll(/org="([^"]+)"/g)].map((m) => m[1]));
    expect(orgs.size).toBeLessThanOrEqual(4);
    expect(orgs.has('other')).toBe(true);
  });
});

async function droppedMetric(cause: string): Promise<number> {
  const metric = await h.registry.getSingleMetric('scim_request_log_dropped_total')!.get();
  return metric.values.find((v) => v.labels.cause === cause)?.value ?? 0;
}
