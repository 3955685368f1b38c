import { applyOrganisation, mintToken, setOrganisationDeleting } from '@scimbridge/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR, client, newUser, patchOp, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

function expectScimError(
  response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
) {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/scim\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ schemas: [ERROR], status: String(status) });
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(0);
  return body;
}

describe('authentication', () => {
  it('no token, a malformed header, a malformed token and an unknown token are 401 with WWW-Authenticate: Bearer and a SCIM error', async () => {
    for (const authorization of [
      undefined,
      'non-token',
      'Bearer scimb_doesnotexist',
      `Bearer ${mintToken()}`,
    ]) {
      const response = await h.app.inject({
        method: 'GET',
        url: '/scim/v2/Users',
        headers: authorization ? { authorization } : {},
      });
      expectScimError(response, 401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('a plan without SCIM, disabled SCIM and a deleting organisation are 403 saying why', async () => {
    const { orgId, token } = await h.organisation({ plan: { scimIncluded: false } });
    const c = client(h.app, token);
    expect(expectScimError(await c.get('/Users'), 403).detail).toMatch(
      /SCIM provisioning is not enabled for your account/,
    );
    await applyOrganisation(h.connection, orgId, { displayName: orgId, enabled: false }, h.redis);
    await new Promise((r) => setTimeout(r, 100));
    expect(expectScimError(await c.get('/Users'), 403).detail).toMatch(/disabled/);
    await applyOrganisation(h.connection, orgId, { displayName: orgId }, h.redis);
    await setOrganisationDeleting(h.connection, orgId, true, h.redis);
    await new Promise((r) => setTimeout(r, 100));
    expect(expectScimError(await c.get('/Users'), 403).detail).toMatch(/being deleted/);
  });

  it('records auth failures as aggregated audit events, never with the token', async () => {
    const local = await startHarness({ authFailureFlushMs: 3_600_000 });
    try {
      for (let i = 0; i < 5; i += 1)
        await local.app.inject({
          method: 'GET',
          url: '/scim/v2/Users',
          headers: { authorization: 'Bearer secret-token-value-of-an-adopted-shape' },
        });
      await local.app.close();
      const events = await local.connection
        .collection('audit_events')
        .find({ action: 'auth.failed' })
        .toArray();
      expect(events).toHaveLength(1);
      expect(events[0]!.details).toMatchObject({ reason: 'unknown-token', count: 5 });
      expect(JSON.stringify(events)).not.toContain('secret-token-value');
    } finally {
      await local.close().catch(() => undefined);
    }
  });
});

describe('media types and errors', () => {
  it('accepts application/scim+json and application/json with a charset, and always answers application/scim+json', async () => {
    const { token } = await h.organisation();
    for (const [i, type] of [
      'application/scim+json',
      'application/json',
      'application/json; charset=utf-8',
      'application/scim+json;charset=UTF-8',
    ].entries()) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/scim/v2/Users',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        payload: JSON.stringify(newUser(`media${i}@example.com`)),
      });
      expect(response.statusCode, response.body).toBe(201);
      expect(response.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    }
    const other = await h.app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      payload: 'x',
    });
    expectScimError(other, 415);
  });

  it('malformed JSON is 400 invalidSyntax; an unknown endpoint is a 404 SCIM error; /Me is 501', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    expect(expectScimError(await c.post('/Users', '{"userName": '), 400).scimType).toBe('invalidSyntax');
    expectScimError(await c.get('/6f1d1c1e-0000-4000-8000-000000000000'), 404);
    expectScimError(await c.get('/Me'), 501);
  });

  it('discovery is generated, tells the truth and allows GET only', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const spc = (await c.get('/ServiceProviderConfig')).json();
    expect(spc).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [{ type: 'oauthbearertoken' }],
    });
    const schemas = (await c.get('/Schemas')).json();
    const ids = (schemas.Resources as { id: string }[]).map((s) => s.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:core:2.0:Schema',
        'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
        'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
      ]),
    );
    expect((await c.get('/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')).statusCode).toBe(200);
    expect((await c.get('/ResourceTypes/User')).statusCode).toBe(200);
    expectScimError(await c.get('/ResourceTypes/nope'), 404);
    expectScimError(await c.get('/Schemas/nope'), 404);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas', '/Schemas/x']) {
        const response = await c.send(method, url, method === 'DELETE' ? undefined : {});
        expectScimError(response, 405);
        expect(response.headers.allow).toBe('GET');
      }
    }
  });
});

describe('status codes and ETags', () => {
  it('POST is 201 with Location = meta.location and ETag = meta.version; PUT/PATCH 200; DELETE 204 then 404 everywhere', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const created = await c.post('/Users', newUser('etag@example.com'));
    expect(created.statusCode).toBe(201);
    const user = created.json();
    expect(created.headers.location).toBe(user.meta.location);
    expect(created.headers.etag).toBe(user.meta.version);
    expect(user.meta).toMatchObject({
      resourceType: 'User',
      created: expect.any(String),
      lastModified: expect.any(String),
    });
    const put = await c.put(`/Users/${user.id}`, { ...user, displayName: 'New' });
    expect(put.statusCode).toBe(200);
    expect(put.json().displayName).toBe('New');
    const patched = await c.patch(
      `/Users/${user.id}`,
      patchOp({ op: 'replace', path: 'active', value: false }),
    );
    expect(patched.statusCode).toBe(200);
    expect(patched.json().active).toBe(false);
    expect(patched.headers.etag).not.toBe(created.headers.etag);
    expect((await c.delete(`/Users/${user.id}`)).statusCode).toBe(204);
    expectScimError(await c.get(`/Users/${user.id}`), 404);
    expectScimError(
      await c.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: true })),
      404,
    );
    expectScimError(await c.put(`/Users/${user.id}`, user), 404);
    expectScimError(await c.delete(`/Users/${user.id}`), 404);
  });

  it('If-Match mismatch is 412, If-None-Match match on GET is 304', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const created = await c.post('/Users', newUser('cond@example.com'));
    const { id } = created.json();
    const etag = created.headers.etag as string;
    expect((await c.get(`/Users/${id}`, { 'if-none-match': etag })).statusCode).toBe(304);
    expect((await c.get(`/Users/${id}`, { 'if-none-match': 'W/"999"' })).statusCode).toBe(200);
    expectScimError(
      await c.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' }), {
        'if-match': 'W/"999"',
      }),
      412,
    );
    const ok = await c.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' }), {
      'if-match': etag,
    });
    expect(ok.statusCode).toBe(200);
    expectScimError(await c.delete(`/Users/${id}`, { 'if-match': etag }), 412);
    expect((await c.delete(`/Users/${id}`, { 'if-match': ok.headers.etag as string })).statusCode).toBe(204);
  });
});

describe('rate limit', () => {
  it('is per organisation: 429 with Retry-After and a SCIM error once the burst is spent, other organisations unaffected', async () => {
    const limited = await h.organisation({ rateLimit: { requestsPerSecond: 1, burst: 3 } });
    const other = await h.organisation();
    const c = client(h.app, limited.token);
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await c.get('/Users')).statusCode);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    const refused = await c.get('/Users');
    expectScimError(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await client(h.app, other.token).get('/Users')).statusCode).toBe(200);
  });
});

describe('Bulk', () => {
  it('resolves bulkId references, honours failOnErrors and refuses more than maxOperations with 413', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const response = await c.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'u1', data: newUser('bulk1@example.com') },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
            displayName: 'Bulk',
            members: [{ value: 'bulkId:u1' }],
          },
        },
        {
          method: 'PATCH',
          path: '/Users/bulkId:u1',
          data: patchOp({ op: 'replace', path: 'active', value: false }),
        },
        { method: 'POST', path: '/Users', bulkId: 'dup', data: newUser('bulk1@example.com') },
      ],
    });
    expect(response.statusCode, response.body).toBe(200);
    const ops = response.json().Operations as { status: string; location?: string }[];
    expect(ops.map((o) => o.status)).toEqual(['201', '201', '200', '409']);
    const group = await c.get(new URL(ops[1]!.location!).pathname.replace('/scim/v2', ''));
    expect(group.json().members).toHaveLength(1);

    const failing = await c.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      failOnErrors: 1,
      Operations: [
        { method: 'DELETE', path: '/Users/nope' },
        { method: 'POST', path: '/Users', bulkId: 'x', data: newUser('never@example.com') },
      ],
    });
    expect((failing.json().Operations as unknown[]).length).toBe(1);
    const tooMany = await c.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: Array.from({ length: 1001 }, () => ({ method: 'DELETE', path: '/Users/x' })),
    });
    expectScimError(tooMany, 413);
  });
});

describe('metrics', () => {
  it('counts SCIM operations, auth failures and rate-limit rejections', async () => {
    const text = await h.registry.metrics();
    expect(text).toMatch(/scim_operations_total\{resource="User",operation="create",outcome="success"\} \d+/);
    expect(text).toMatch(/scim_auth_failures_total\{reason="unknown-token"\} \d+/);
    expect(text).toMatch(/scim_rate_limited_total \d+/);
  });
});
