import { createAccount } from '@scimbridge/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, newUser, patchOp, startHarness, type Harness, GROUP } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

const users = () => h.connection.collection<{ _id: string; auth: { passwordHash?: string } }>('users');
const events = (orgId: string) =>
  h.connection.collection('audit_events').find({ orgId }).sort({ _id: 1 }).toArray();

describe('User semantics', () => {
  it('userName is unique per organisation case-insensitively and kept as sent; a retried create is 409', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const created = await c.post('/Users', newUser('Mixed.Case@Example.com'));
    expect(created.json().userName).toBe('Mixed.Case@Example.com');
    const again = await c.post('/Users', newUser('mixed.case@example.COM', { displayName: 'Overwrite' }));
    expect(again.statusCode).toBe(409);
    expect(again.json().scimType).toBe('uniqueness');
    expect((await c.get(`/Users/${created.json().id}`)).json().displayName).toBe('Test User');
  });

  it('provisioned users are SSO-only: a password is never stored nor returned', async () => {
    const { orgId, token } = await h.organisation();
    const c = client(h.app, token);
    const created = await c.post('/Users', newUser('pw@example.com', { password: '1mz050nq' }));
    expect(created.statusCode).toBe(201);
    expect(created.body).not.toContain('1mz050nq');
    expect(created.json().password).toBeUndefined();
    const stored = await users().findOne({ orgId, _id: created.json().id });
    expect(JSON.stringify(stored)).not.toContain('1mz050nq');
    expect(stored).toMatchObject({ auth: { ssoOnly: true }, scim: { managed: true } });
    await c.patch(
      `/Users/${created.json().id}`,
      patchOp({ op: 'replace', path: 'password', value: 'another1' }),
    );
    expect(JSON.stringify(await users().findOne({ _id: created.json().id }))).not.toContain('another1');
  });

  it('links to an existing account by userName or work email instead of duplicating it', async () => {
    const { orgId, token } = await h.organisation();
    const c = client(h.app, token);
    const byName = await createAccount(h.connection, orgId, {
      userName: 'ann@example.com',
      passwordHash: '$2b$hash',
    });
    const byEmail = await createAccount(h.connection, orgId, {
      userName: 'bob-local',
      email: 'bob@example.com',
    });
    const linked = await c.post('/Users', newUser('ANN@example.com'));
    expect(linked.statusCode).toBe(201);
    expect(linked.json().id).toBe(byName._id);
    const stored = await users().findOne({ _id: byName._id });
    expect(stored).toMatchObject({
      scim: { managed: true, linkedBy: expect.any(String) },
      auth: { ssoOnly: true },
    });
    expect(stored!.auth.passwordHash).toBeUndefined();
    const viaEmail = await c.post('/Users', newUser('bob@example.com'));
    expect(viaEmail.json().id).toBe(byEmail._id);
    expect(viaEmail.json().userName).toBe('bob@example.com');
    expect(await users().countDocuments({ orgId })).toBe(2);
    const created = (await events(orgId)).filter((e) => e.action === 'user.created');
    expect(created.map((e) => e.details)).toEqual([
      { linkedAccount: true, matchedBy: 'userName', revived: false },
      { linkedAccount: true, matchedBy: 'email', revived: false },
    ]);
  });

  it('active:false deactivates and keeps every attribute and membership; active:true restores', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('deact@example.com', { title: 'Engineer' }))).json();
    const group = (
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Team', members: [{ value: user.id }] })
    ).json();
    const off = await c.patch(`/Users/${user.id}`, patchOp({ op: 'replace', value: { active: false } }));
    expect(off.json()).toMatchObject({
      active: false,
      title: 'Engineer',
      groups: [{ value: group.id, display: 'Team' }],
    });
    expect((await c.get(`/Groups/${group.id}`)).json().members).toEqual([
      expect.objectContaining({ value: user.id }),
    ]);
    const on = await c.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: true }));
    expect(on.json()).toMatchObject({ active: true, title: 'Engineer' });
  });

  it('DELETE hides the user from SCIM and its groups, keeps the deactivated account, and a later create revives it', async () => {
    const { orgId, token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('gone@example.com'))).json();
    const group = (
      await c.post('/Groups', { schemas: [GROUP], displayName: 'G', members: [{ value: user.id }] })
    ).json();
    expect((await c.delete(`/Users/${user.id}`)).statusCode).toBe(204);
    expect((await c.get('/Users?filter=userName eq "gone@example.com"')).json().totalResults).toBe(0);
    expect((await c.get(`/Groups/${group.id}`)).json().members ?? []).toEqual([]);
    expect(await users().findOne({ _id: user.id })).toMatchObject({
      active: false,
      scim: { deletedAt: expect.any(Date) },
    });
    const revived = await c.post('/Users', newUser('gone@example.com', { displayName: 'Back' }));
    expect(revived.statusCode).toBe(201);
    expect(revived.json()).toMatchObject({ id: user.id, active: true, displayName: 'Back' });
    expect((await events(orgId)).map((e) => e.action)).toEqual([
      'user.created',
      'group.created',
      'user.deleted',
      'user.created',
    ]);
  });

  it('the plan user limit refuses a create or reactivation beyond it with 403 naming the limit', async () => {
    const { token } = await h.organisation({ plan: { scimIncluded: true, userLimit: 2 } });
    const c = client(h.app, token);
    expect((await c.post('/Users', newUser('l1@example.com'))).statusCode).toBe(201);
    const second = (await c.post('/Users', newUser('l2@example.com'))).json();
    const third = await c.post('/Users', newUser('l3@example.com'));
    expect(third.statusCode).toBe(403);
    expect(third.json().detail).toMatch(/2 active users/);
    await c.patch(`/Users/${second.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    expect((await c.post('/Users', newUser('l3@example.com'))).statusCode).toBe(201);
    // Reactivating adds an active user too: refused at the limit, and the user stays inactive.
    const reactivate = await c.patch(
      `/Users/${second.id}`,
      patchOp({ op: 'replace', path: 'active', value: true }),
    );
    expect(reactivate.statusCode).toBe(403);
    expect(reactivate.json().detail).toMatch(/2 active users/);
    expect((await c.get(`/Users/${second.id}`)).json().active).toBe(false);
    // Other changes to an inactive user are not limited.
    const renamed = await c.patch(
      `/Users/${second.id}`,
      patchOp({ op: 'replace', path: 'displayName', value: 'Still inactive' }),
    );
    expect(renamed.statusCode).toBe(200);
  });

  it('enterprise extension and the rest of the core attributes are stored and returned as sent', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const body = newUser('full@example.com', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      ],
      nickName: 'Babs',
      title: 'Dr',
      preferredLanguage: 'en-GB',
      locale: 'en-GB',
      timezone: 'Europe/London',
      phoneNumbers: [{ value: '+44 (0) 20 7946 0000', type: 'work' }],
      addresses: [{ type: 'work', streetAddress: '1 Road', locality: 'London', country: 'GB' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
        employeeNumber: '701984',
        costCenter: '4130',
        department: 'Tour Operations',
        manager: { value: 'mgr-1' },
      },
    });
    const created = (await c.post('/Users', body)).json();
    const read = (await c.get(`/Users/${created.id}`)).json();
    expect(read).toMatchObject({
      nickName: 'Babs',
      phoneNumbers: [{ value: '+44 (0) 20 7946 0000', type: 'work' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
        employeeNumber: '701984',
        department: 'Tour Operations',
        manager: { value: 'mgr-1' },
      },
    });
    expect(read.schemas).toContain('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User');
  });

  it('every write produces an audit event with actor, changed attributes and request id, never a password', async () => {
    const { orgId, token } = await h.organisation();
    const c = client(h.app, token);
    const user = (
      await c.post('/Users', newUser('audit@example.com', { password: 'hunter2!' }), {
        'x-request-id': 'req-123',
      })
    ).json();
    await c.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'name.familyName', value: 'Other' }));
    await c.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    const list = await events(orgId);
    expect(list.map((e) => e.action)).toEqual(['user.created', 'user.updated', 'user.deactivated']);
    expect(list[0]).toMatchObject({
      actor: { type: 'token' },
      resourceType: 'User',
      resourceId: user.id,
      requestId: 'req-123',
      dispatchedAt: null,
    });
    expect(list[1]!.changedAttributes).toEqual(['name']);
    expect(JSON.stringify(list)).not.toContain('hunter2!');
    expect(JSON.stringify(list)).not.toContain(token);
  });

  it('lists with sort, index pagination, cursors and projection', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    for (const name of ['c', 'a', 'e', 'b', 'd']) await c.post('/Users', newUser(`${name}@sort.test`));
    const sorted = (
      await c.get('/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2&attributes=userName')
    ).json();
    expect(sorted).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    expect(sorted.Resources).toEqual([
      { schemas: expect.any(Array), id: expect.any(String), userName: 'd@sort.test' },
      { schemas: expect.any(Array), id: expect.any(String), userName: 'c@sort.test' },
    ]);
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i += 1) {
      const page = (await c.get(`/Users?sortBy=userName&count=2&cursor=${cursor}`)).json();
      seen.push(...(page.Resources as { userName: string }[]).map((r) => r.userName));
      if (!page.nextCursor) break;
      cursor = page.nextCursor as string;
    }
    expect(seen).toEqual(['a@sort.test', 'b@sort.test', 'c@sort.test', 'd@sort.test', 'e@sort.test']);
    expect((await c.get('/Users?cursor=forged!')).json().scimType).toBe('invalidCursor');
    const none = (await c.get('/Users?count=0')).json();
    expect(none).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const search = await c.post('/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName sw "a"',
      attributes: ['userName'],
    });
    expect(search.json().Resources).toEqual([expect.objectContaining({ userName: 'a@sort.test' })]);
    const root = await c.post('/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName eq "b@sort.test"',
    });
    expect(root.json().totalResults).toBe(1);
  });
});

describe('uniqueness on update', () => {
  it("renaming a user to another user's userName is 409 uniqueness and changes nothing", async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    await c.post('/Users', newUser('first@example.com'));
    const second = (await c.post('/Users', newUser('second@example.com'))).json();
    const patched = await c.patch(
      `/Users/${second.id}`,
      patchOp({ op: 'replace', path: 'userName', value: 'FIRST@example.com' }),
    );
    expect(patched.statusCode).toBe(409);
    expect(patched.json().scimType).toBe('uniqueness');
    const put = await c.put(`/Users/${second.id}`, { ...second, userName: 'first@example.com' });
    expect(put.statusCode).toBe(409);
    expect((await c.get(`/Users/${second.id}`)).json().userName).toBe('second@example.com');
  });
});
