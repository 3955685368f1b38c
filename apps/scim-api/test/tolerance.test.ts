import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ENTERPRISE,
  GROUP,
  USER,
  client,
  newUser,
  patchOp,
  startHarness,
  type Client,
  type Harness,
} from './harness.js';

// shared/reference/scim-interop.md §1.4 "Incompatibilities the server must tolerate", one test per row.
let h: Harness;
let c: Client;
let token: string;
let userId: string;
let groupId: string;
let member: string;
let counter = 0;

beforeAll(async () => {
  h = await startHarness();
  token = (await h.organisation()).token;
  c = client(h.app, token);
});
afterAll(async () => h.close());
beforeEach(async () => {
  counter += 1;
  userId = (await c.post('/Users', newUser(`tol${counter}@example.com`))).json().id as string;
  member = (await c.post('/Users', newUser(`mem${counter}@example.com`))).json().id as string;
  groupId = (
    await c.post('/Groups', {
      schemas: [GROUP],
      displayName: `tol-${counter}`,
      members: [{ value: member }, { value: userId }],
    })
  ).json().id as string;
});

const user = async () => (await c.get(`/Users/${userId}`)).json();
const members = async () =>
  (((await c.get(`/Groups/${groupId}`)).json().members ?? []) as { value: string }[])
    .map((m) => m.value)
    .sort();

describe('interop tolerance table', () => {
  it('#1 op in any case', async () => {
    for (const op of ['Replace', 'replace', 'REPLACE']) {
      expect(
        (await c.patch(`/Users/${userId}`, patchOp({ op, path: 'displayName', value: op }))).statusCode,
      ).toBe(200);
      expect((await user()).displayName).toBe(op);
    }
  });
  it('#2 string booleans in any case', async () => {
    for (const [value, expected] of [
      ['False', false],
      ['TRUE', true],
      ['false', false],
    ] as const) {
      await c.patch(`/Users/${userId}`, patchOp({ op: 'Replace', path: 'active', value }));
      expect((await user()).active).toBe(expected);
    }
  });
  it('#3 no-path replace with a value object', async () => {
    await c.patch(`/Users/${userId}`, patchOp({ op: 'replace', value: { active: false } }));
    expect((await user()).active).toBe(false);
  });
  it('#4 no-path replace with dotted and URN keys', async () => {
    await c.patch(
      `/Users/${userId}`,
      patchOp({
        op: 'replace',
        value: { 'name.givenName': 'Kkom', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' },
      }),
    );
    expect(await user()).toMatchObject({
      name: { givenName: 'Kkom' },
      [ENTERPRISE]: { employeeNumber: 'Aklq' },
    });
  });
  it('#5 readOnly id/meta inside a value object are ignored', async () => {
    const response = await c.patch(
      `/Groups/${groupId}`,
      patchOp({
        op: 'replace',
        value: { id: 'other', meta: { version: 'x' }, displayName: `ro-${counter}` },
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: groupId, displayName: `ro-${counter}` });
  });
  it('#6 remove members with a value array removes just those', async () => {
    await c.patch(
      `/Groups/${groupId}`,
      patchOp({ op: 'remove', path: 'members', value: [{ value: member }] }),
    );
    expect(await members()).toEqual([userId]);
  });
  it('#7 remove with a members[value eq] filter', async () => {
    await c.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${member}"]` }));
    expect(await members()).toEqual([userId]);
  });
  it('#8 replace members [] empties the group; PUT without members clears it', async () => {
    await c.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', path: 'members', value: [] }));
    expect(await members()).toEqual([]);
    await c.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: member }] }));
    const put = await c.put(`/Groups/${groupId}`, { schemas: [GROUP], displayName: `tol-${counter}` });
    expect(put.statusCode).toBe(200);
    expect(await members()).toEqual([]);
  });
  it('#9 filtered replace/add matching nothing creates the element', async () => {
    await c.patch(
      `/Users/${userId}`,
      patchOp({ op: 'Replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 555' }),
    );
    await c.patch(
      `/Users/${userId}`,
      patchOp({ op: 'Add', path: 'emails[type eq "home"].value', value: 'home@example.com' }),
    );
    const u = await user();
    expect(u.phoneNumbers).toEqual([{ type: 'work', value: '+1 555' }]);
    expect(u.emails).toEqual(expect.arrayContaining([{ type: 'home', value: 'home@example.com' }]));
  });
  it('#10 emails[type eq "work"].value in PATCH and in filter=', async () => {
    await c.patch(
      `/Users/${userId}`,
      patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: `w${counter}@corp.example` }),
    );
    const found = (
      await c.get(
        `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "W${counter}@corp.example"`)}`,
      )
    ).json();
    expect(found.Resources.map((r: { id: string }) => r.id)).toEqual([userId]);
  });
  it('#11 a PATCH that changes nothing succeeds without a new version', async () => {
    const before = await c.get(`/Users/${userId}`);
    const response = await c.patch(
      `/Users/${userId}`,
      patchOp({ op: 'replace', path: 'active', value: true }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe(before.headers.etag);
  });
  it('#12 an unknown non-URN schema URI in schemas', async () => {
    const response = await c.post('/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      displayName: `entra-${counter}`,
    });
    expect(response.statusCode).toBe(201);
  });
  it('#13 Content-Type application/json', async () => {
    const response = await h.app.inject({
      method: 'PATCH',
      url: `/scim/v2/Users/${userId}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: patchOp({ op: 'replace', path: 'title', value: 'json' }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/scim\+json/);
  });
  it('#14 externalId eq, userName eq, displayName eq and "and"', async () => {
    await c.patch(`/Users/${userId}`, patchOp({ op: 'add', path: 'externalId', value: `ext-${counter}` }));
    expect((await c.get(`/Users?filter=externalId eq "ext-${counter}"`)).json().totalResults).toBe(1);
    expect(
      (
        await c.get(
          `/Users?filter=userName eq "tol${counter}@example.com" and externalId eq "ext-${counter}"`,
        )
      ).json().totalResults,
    ).toBe(1);
    expect((await c.get(`/Groups?filter=displayName eq "tol-${counter}"`)).json().totalResults).toBe(1);
    expect(
      (
        await c.get(`/Users?filter=DisplayName eq "Test User" and userName eq "tol${counter}@example.com"`)
      ).json().totalResults,
    ).toBe(1);
  });
  it('#15 userName comparisons are case-insensitive', async () => {
    expect((await c.get(`/Users?filter=userName eq "TOL${counter}@EXAMPLE.COM"`)).json().totalResults).toBe(
      1,
    );
  });
  it('#16 no such user is 200 with an empty list', async () => {
    const response = await c.get('/Users?filter=userName eq "6b0f0d8a-0000-4000-8000-000000000000"');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ totalResults: 0, Resources: [] });
  });
  it('#17 totalResults, startIndex and itemsPerPage are integers', async () => {
    const body = (await c.get('/Users?startIndex=1&count=1')).json();
    for (const key of ['totalResults', 'startIndex', 'itemsPerPage'])
      expect(Number.isInteger(body[key])).toBe(true);
  });
  it('#18 emails as an object', async () => {
    const response = await c.post('/Users', {
      schemas: [USER],
      userName: `obj${counter}@example.com`,
      emails: { value: `obj${counter}@example.com`, type: 'work' },
    });
    expect(response.json().emails).toEqual([{ value: `obj${counter}@example.com`, type: 'work' }]);
  });
  it('#19 client-sent password, groups, roles and meta on create', async () => {
    const response = await c.post(
      '/Users',
      newUser(`junk${counter}@example.com`, {
        password: 'p@ss',
        groups: [],
        roles: [],
        meta: { resourceType: 'User' },
      }),
    );
    expect(response.statusCode).toBe(201);
    expect(response.json().password).toBeUndefined();
  });
  it('#20 explicit null on optional attributes', async () => {
    const response = await c.post(
      '/Users',
      newUser(`null${counter}@example.com`, { nickName: null, title: null, profileUrl: null }),
    );
    expect(response.statusCode).toBe(201);
    expect(response.json().nickName).toBeUndefined();
  });
  it('#21 PATCH with empty Operations', async () => {
    expect((await c.patch(`/Users/${userId}`, patchOp())).statusCode).toBe(200);
  });
  it('#22 concurrent membership PATCHes to one group keep every member', async () => {
    const extra: string[] = [];
    for (let i = 0; i < 8; i += 1)
      extra.push((await c.post('/Users', newUser(`c${counter}-${i}@example.com`))).json().id as string);
    await Promise.all([
      ...extra.map((id) =>
        c.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] })),
      ),
      c.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${member}"]` })),
    ]);
    expect(await members()).toEqual([userId, ...extra].sort());
  });
});
