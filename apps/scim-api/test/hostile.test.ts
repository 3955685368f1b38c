import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR, client, newUser, patchOp, startHarness, type Client, type Harness } from './harness.js';

let h: Harness;
let c: Client;
let token: string;
let userId: string;

beforeAll(async () => {
  h = await startHarness();
  token = (await h.organisation()).token;
  c = client(h.app, token);
  userId = (await c.post('/Users', newUser('victim@example.com'))).json().id as string;
});
afterAll(async () => h.close());

async function snapshot() {
  return JSON.stringify(await h.connection.collection('users').find({}).sort({ _id: 1 }).toArray());
}

function expectClientError(response: { statusCode: number; json: () => unknown; body: string }) {
  expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, response.body).toBeLessThan(500);
  expect(response.json()).toMatchObject({ schemas: [ERROR] });
}

describe('hostile input is a 4xx SCIM error, never a 5xx, and changes nothing', () => {
  it('filters with regex metacharacters and operator-looking names', async () => {
    for (const filter of [
      'userName co ".*"',
      'userName sw "(a+)+$"',
      'userName eq "$where"',
      '$where eq "1"',
      'userName[$ne eq 1]',
      'userName eq',
      '((((',
      'userName eq "a" or',
      `${'not ('.repeat(200)}userName pr${')'.repeat(200)}`,
      'password eq "x"',
      'meta.version gt "1"',
    ]) {
      const response = await c.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(response.statusCode, `${filter}: ${response.body}`).toBeLessThan(500);
      if (response.statusCode === 200) expect(response.json().totalResults).toBe(0);
      else expectClientError(response);
    }
  });

  it('prototype-poisoning bodies', async () => {
    const before = await snapshot();
    for (const payload of [
      '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p1","__proto__":{"admin":true}}',
      '{"userName":"p2","constructor":{"prototype":{"admin":true}}}',
    ]) {
      const response = await c.post('/Users', payload);
      expectClientError(response);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const patch = await c.patch(
      `/Users/${userId}`,
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"__proto__.admin","value":true}]}',
    );
    expectClientError(patch);
    expect(await snapshot()).toBe(before);
  });

  it('a 10 MB body, deeply nested JSON and invalid UTF-8', async () => {
    const before = await snapshot();
    const big = JSON.stringify(newUser('big@example.com', { title: 'x'.repeat(10 * 1024 * 1024) }));
    const huge = await c.post('/Users', big);
    expectClientError(huge);
    expect(huge.statusCode).toBe(413);
    expectClientError(await c.post('/Users', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`));
    expectClientError(await c.post('/Users', `${'['.repeat(5_000)}${']'.repeat(5_000)}`));
    const invalid = Buffer.concat([
      Buffer.from('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]);
    const response = await h.app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: invalid,
    });
    expectClientError(response);
    expect(response.json().scimType).toBe('invalidSyntax');
    expect(await snapshot()).toBe(before);
  });

  it('huge count and negative startIndex are clamped; non-integers are 400', async () => {
    const huge = (await c.get('/Users?count=99999999999&startIndex=-5')).json();
    expect(huge.startIndex).toBe(1);
    expect(huge.itemsPerPage).toBeLessThanOrEqual(1000);
    expectClientError(await c.get('/Users?count=abc'));
    expectClientError(await c.get('/Users?startIndex=1e400'));
    expect((await c.get('/Users?count=-3')).json()).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });

  it('wrong shapes everywhere', async () => {
    const before = await snapshot();
    for (const body of [
      '[]',
      '"str"',
      'null',
      '{}',
      '{"not":"a scim resource"}',
      JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }),
      JSON.stringify(newUser('x', { userName: 42 })),
      JSON.stringify(newUser('y', { active: 'maybe' })),
    ]) {
      expectClientError(await c.post('/Users', body));
    }
    for (const body of [
      '{}',
      JSON.stringify({ Operations: 'x' }),
      JSON.stringify(patchOp({ op: 'explode', path: 'x' })),
      JSON.stringify(patchOp({ op: 'remove' })),
      JSON.stringify(patchOp({ op: 'replace', path: 'id', value: 'x' })),
      JSON.stringify(patchOp({ op: 'replace', path: 'nosuch', value: 1 })),
      JSON.stringify(patchOp({ op: 'replace', path: 'emails[type eq', value: 1 })),
    ]) {
      expectClientError(await c.patch(`/Users/${userId}`, body));
    }
    expectClientError(
      await c.post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'GET', path: '/Users' }],
      }),
    );
    expectClientError(await c.get(`/Users/${encodeURIComponent('../../etc/passwd')}`));
    expectClientError(await c.get('/Users?sortBy=password'));
    expect(await snapshot()).toBe(before);
  });
});
