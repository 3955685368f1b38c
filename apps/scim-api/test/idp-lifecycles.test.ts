import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP, USER, client, patchOp, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

const okta = { 'user-agent': 'Okta SCIM Client 1.0.0' };

describe('Okta lifecycle (developer.okta.com SCIM 2.0 guide)', () => {
  it('lookup, create, GET+PUT update, deactivate/reactivate by PATCH, Group Push', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const lookup = await c.get(
      '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100',
      okta,
    );
    expect(lookup.json()).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const create = await h.app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { ...okta, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: {
        schemas: [USER],
        userName: 'test.user@okta.local',
        name: { givenName: 'Test', familyName: 'User' },
        emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
        displayName: 'Test User',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        password: '1mz050nq',
        active: true,
      },
    });
    expect(create.statusCode).toBe(201);
    const user = create.json();
    expect(user).toMatchObject({
      id: expect.any(String),
      userName: 'test.user@okta.local',
      active: true,
      externalId: '00ujl29u0le5T6Aj10h7',
    });
    expect(user.password).toBeUndefined();
    expect(
      (await c.get('/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22', okta)).json().totalResults,
    ).toBe(1);
    expect(
      (await c.post('/Users', { schemas: [USER], userName: 'test.user@okta.local' }, okta)).statusCode,
    ).toBe(409);

    const current = (await c.get(`/Users/${user.id}`, okta)).json();
    const put = await c.put(
      `/Users/${user.id}`,
      { ...current, name: { givenName: 'Another', familyName: 'User' } },
      okta,
    );
    expect(put.statusCode).toBe(200);
    expect(put.json().name).toEqual({ givenName: 'Another', familyName: 'User' });

    const deactivate = await c.patch(
      `/Users/${user.id}`,
      patchOp({ op: 'replace', value: { active: false } }),
      okta,
    );
    expect(deactivate.json().active).toBe(false);
    const reactivate = await c.patch(
      `/Users/${user.id}`,
      patchOp({ op: 'replace', value: { active: true } }),
      okta,
    );
    expect(reactivate.json().active).toBe(true);
    const second = (
      await c.post('/Users', { schemas: [USER], userName: 'second@okta.local', displayName: 'Second' }, okta)
    ).json();

    const group = await c.post(
      '/Groups',
      { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] },
      okta,
    );
    expect(group.statusCode).toBe(201);
    const gid = group.json().id as string;
    const rename = await c.patch(
      `/Groups/${gid}`,
      patchOp({ op: 'replace', value: { id: gid, displayName: 'Renamed SCIMv2' } }),
      okta,
    );
    expect(rename.json().displayName).toBe('Renamed SCIMv2');
    await c.patch(
      `/Groups/${gid}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: user.id, display: 'test.user@okta.local' }] }),
      okta,
    );
    const swap = await c.patch(
      `/Groups/${gid}`,
      patchOp(
        { op: 'remove', path: `members[value eq "${user.id}"]` },
        { op: 'add', path: 'members', value: [{ value: second.id, display: 'second@okta.local' }] },
      ),
      okta,
    );
    expect((swap.json().members as { value: string }[]).map((m) => m.value)).toEqual([second.id]);
    const all = await c.patch(
      `/Groups/${gid}`,
      patchOp({ op: 'replace', path: 'members', value: [{ value: user.id }, { value: second.id }] }),
      okta,
    );
    expect(all.json().members).toHaveLength(2);
    const empty = await c.patch(
      `/Groups/${gid}`,
      patchOp({ op: 'replace', path: 'members', value: [] }),
      okta,
    );
    expect(empty.statusCode).toBe(200);
    expect(empty.json().members ?? []).toEqual([]);
    expect((await c.delete(`/Groups/${gid}`, okta)).statusCode).toBe(204);
    expect((await c.get(`/Groups/${gid}`, okta)).statusCode).toBe(404);
  });
});

describe('Entra ID lifecycle (learn.microsoft.com provisioning docs)', () => {
  it('lookups, enterprise create, capitalised ops, "False", dotted/URN replace, filtered replace, value-array removal, excludedAttributes, DELETE', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    expect(
      (await c.get('/Users?filter=userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')).json()
        .totalResults,
    ).toBe(0);
    expect(
      (await c.get('/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')).json().totalResults,
    ).toBe(0);
    const create = await c.post('/Users', {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee@contoso.com',
      active: true,
      addresses: [{ primary: true, type: 'work', streetAddress: '1 Main St' }],
      displayName: 'Test User',
      emails: [{ primary: true, type: 'work', value: 'Test_User_ab6490ee@contoso.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      [ENTERPRISE]: { department: 'Sales', employeeNumber: '42' },
    });
    expect(create.statusCode).toBe(201);
    const id = create.json().id as string;
    expect(
      (await c.get('/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')).json().Resources[0]
        .id,
    ).toBe(id);
    expect(
      (await c.get('/Users?filter=externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef')).json().totalResults,
    ).toBe(1);
    expect(
      (await c.get('/Users?filter=emails[type eq "work"].value eq "test_user_ab6490ee@contoso.com"')).json()
        .totalResults,
    ).toBe(1);

    const update = await c.patch(
      `/Users/${id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ),
    );
    expect(update.json()).toMatchObject({
      emails: [expect.objectContaining({ value: 'updatedEmail@microsoft.com' })],
      name: { familyName: 'updatedFamilyName' },
    });
    expect(
      (await c.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }))).json()
        .active,
    ).toBe(false);
    const flagged = await c.patch(
      `/Users/${id}`,
      patchOp({
        op: 'replace',
        value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' },
      }),
    );
    expect(flagged.json()).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom' },
      [ENTERPRISE]: { employeeNumber: 'Aklq', department: 'Sales' },
    });
    const phone = await c.patch(
      `/Users/${id}`,
      patchOp(
        { op: 'Replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
        { op: 'Replace', path: 'active', value: 'True' },
      ),
    );
    expect(phone.json()).toMatchObject({
      active: true,
      phoneNumbers: [{ type: 'work', value: '+1 555 0100' }],
    });

    const group = await c.post('/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(group.statusCode).toBe(201);
    const gid = group.json().id as string;
    expect(
      (await c.get('/Groups?excludedAttributes=members&filter=displayName eq "displayName"')).json()
        .totalResults,
    ).toBe(1);
    expect(
      (
        await c.patch(
          `/Groups/${gid}`,
          patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }),
        )
      ).statusCode,
    ).toBe(200);
    expect((await c.get(`/Groups/${gid}?excludedAttributes=members`)).json().members).toBeUndefined();
    expect((await c.get(`/Groups/${gid}`)).json().members).toHaveLength(1);
    await c.patch(`/Groups/${gid}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Renamed' }));
    expect(
      (
        await c.patch(
          `/Groups/${gid}`,
          patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] }),
        )
      ).statusCode,
    ).toBe(200);
    expect((await c.get(`/Groups/${gid}`)).json()).toMatchObject({ displayName: 'Renamed' });
    expect((await c.get(`/Groups/${gid}`)).json().members ?? []).toEqual([]);
    expect((await c.delete(`/Users/${id}`)).statusCode).toBe(204);
    const gone = await c.get(`/Users/${id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().status).toBe('404');
    expect((await c.delete(`/Groups/${gid}`)).statusCode).toBe(204);
  });
});

describe('OneLogin lifecycle (linkyard/scim-scala OneLoginClientSpec)', () => {
  it('connects, pages groups, full PUT updates with emails as an object and nulls, value-array member removal, DELETE', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    expect((await c.get('/Users?filter=userName eq "never-existing-user"')).json().totalResults).toBe(0);
    expect((await c.get('/Groups?count=100&startIndex=1')).json()).toMatchObject({
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
    });
    const group = (await c.post('/Groups', { displayName: 'OneLogin Role', schemas: [GROUP] })).json();
    const user = await c.post('/Users', {
      schemas: [USER, ENTERPRISE],
      userName: 'ol.user@example.com',
      name: { givenName: 'One', familyName: 'Login' },
      emails: { value: 'ol.user@example.com', type: 'work', primary: true },
      nickName: null,
      title: null,
      profileUrl: null,
      [ENTERPRISE]: { manager: { value: 'm-1', displayName: 'Boss' } },
    });
    expect(user.statusCode).toBe(201);
    const uid = user.json().id as string;
    expect(user.json().emails).toEqual([{ value: 'ol.user@example.com', type: 'work', primary: true }]);
    await c.patch(`/Groups/${group.id}`, {
      Operations: [{ value: [{ value: uid }], op: 'add', path: 'members' }],
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    });
    const put = await c.put(`/Users/${uid}`, {
      schemas: [USER],
      id: uid,
      userName: 'ol.user@example.com',
      name: { givenName: 'Uno', familyName: 'Login' },
      emails: { value: 'ol.user@example.com', type: 'work' },
      title: 'Lead',
      nickName: null,
      active: true,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ name: { givenName: 'Uno' }, title: 'Lead' });
    expect(put.json()[ENTERPRISE]).toBeUndefined();
    await c.patch(`/Groups/${group.id}`, patchOp({ op: 'remove', path: 'members', value: [{ value: uid }] }));
    const off = await c.put(`/Users/${uid}`, {
      schemas: [USER],
      userName: 'ol.user@example.com',
      active: false,
    });
    expect(off.json().active).toBe(false);
    expect((await c.get(`/Groups/${group.id}`)).json().members ?? []).toEqual([]);
    expect((await c.delete(`/Users/${uid}`)).statusCode).toBe(204);
    const page = (await c.get('/Users?count=100&startIndex=1')).json();
    expect(page).toMatchObject({ totalResults: 0, startIndex: 1, itemsPerPage: 0 });
  });
});
