import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, client, newUser, patchOp, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('Group semantics', () => {
  it('20 parallel member PATCHes to one group lose no member', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const ids = [];
    for (let i = 0; i < 20; i += 1)
      ids.push((await c.post('/Users', newUser(`p${i}@example.com`))).json().id as string);
    const group = (await c.post('/Groups', { schemas: [GROUP], displayName: 'Parallel' })).json();
    const responses = await Promise.all(
      ids.map((id) =>
        c.patch(`/Groups/${group.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }] })),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(ids.map(() => 200));
    const members = (await c.get(`/Groups/${group.id}`)).json().members as { value: string }[];
    expect(members.map((m) => m.value).sort()).toEqual([...ids].sort());
  });

  it('displayName is unique case-insensitively; members carry value, display, $ref and type; users show computed groups', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('m@example.com'))).json();
    const group = await c.post('/Groups', {
      schemas: [GROUP],
      displayName: 'Admins',
      members: [{ value: user.id, display: 'm@example.com' }],
    });
    expect(group.statusCode).toBe(201);
    expect(group.json().members).toEqual([
      {
        value: user.id,
        display: 'm@example.com',
        type: 'User',
        $ref: expect.stringMatching(new RegExp(`/Users/${user.id}$`)),
      },
    ]);
    expect((await c.post('/Groups', { schemas: [GROUP], displayName: 'ADMINS' })).statusCode).toBe(409);
    expect((await c.get(`/Users/${user.id}`)).json().groups).toEqual([
      expect.objectContaining({ value: group.json().id, display: 'Admins' }),
    ]);
    const users = (await c.get(`/Users?filter=groups[value eq "${group.json().id}"]`)).json();
    expect(users.totalResults).toBe(1);
    const groups = (
      await c.get(`/Groups?filter=members[value eq "${user.id}"]&excludedAttributes=members`)
    ).json();
    expect(groups.Resources).toEqual([expect.not.objectContaining({ members: expect.anything() })]);
    expect(groups.totalResults).toBe(1);
  });

  it("unknown member ids, deleted users and other organisations' users are never added, and the audit event names them", async () => {
    const a = await h.organisation();
    const b = await h.organisation();
    const ca = client(h.app, a.token);
    const foreign = (await client(h.app, b.token).post('/Users', newUser('foreign@example.com'))).json();
    const group = (await ca.post('/Groups', { schemas: [GROUP], displayName: 'Mixed' })).json();
    const patched = await ca.patch(
      `/Groups/${group.id}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: 'fake-member-id' }, { value: foreign.id }] }),
    );
    expect(patched.statusCode).toBe(200);
    expect(patched.json().members ?? []).toEqual([]);
    const audit = await h.connection
      .collection('audit_events')
      .findOne({ orgId: a.orgId, resourceId: group.id, 'details.ignoredMembers': { $exists: true } });
    expect(audit?.details).toEqual({ ignoredMembers: ['fake-member-id', foreign.id], operation: 'patch' });
  });

  it('member events name the ids added and removed: a PATCH delta, and a PUT replacement against the current members', async () => {
    const { token, orgId } = await h.organisation();
    const c = client(h.app, token);
    const ids: string[] = [];
    for (const name of ['a', 'b', 'd'])
      ids.push((await c.post('/Users', newUser(`${name}@delta.example.com`))).json().id);
    const [ua, ub, ud] = ids as [string, string, string];
    const group = (
      await c.post('/Groups', {
        schemas: [GROUP],
        displayName: 'Delta',
        members: [{ value: ua }, { value: ub }],
      })
    ).json();
    expect(
      (
        await c.put(`/Groups/${group.id}`, {
          schemas: [GROUP],
          displayName: 'Delta',
          members: [{ value: ub }, { value: ud }],
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await c.patch(
          `/Groups/${group.id}`,
          patchOp(
            { op: 'add', path: 'members', value: [{ value: ua }] },
            { op: 'remove', path: `members[value eq "${ub}"]` },
          ),
        )
      ).statusCode,
    ).toBe(200);
    const events = await h.connection
      .collection('audit_events')
      .find({ orgId, resourceId: group.id })
      .sort({ _id: 1 })
      .toArray();
    expect(events.map((e) => [e.action, e.details])).toEqual([
      ['group.created', { membersAdded: [ua, ub], membersRemoved: [] }],
      ['group.members.changed', { membersAdded: [ud], membersRemoved: [ua], operation: 'put' }],
      ['group.members.changed', { membersAdded: [ua], membersRemoved: [ub], operation: 'patch' }],
    ]);
  });

  it('deleting a group removes it and its memberships, not the users', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('stay@example.com'))).json();
    const group = (
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Temp', members: [{ value: user.id }] })
    ).json();
    expect((await c.delete(`/Groups/${group.id}`)).statusCode).toBe(204);
    expect((await c.get(`/Groups/${group.id}`)).statusCode).toBe(404);
    expect((await c.get(`/Users/${user.id}`)).json().groups ?? []).toEqual([]);
    expect(await h.connection.collection('memberships').countDocuments({ groupId: group.id })).toBe(0);
  });

  it('a group ETag changes when its members change', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('e@example.com'))).json();
    const group = await c.post('/Groups', { schemas: [GROUP], displayName: 'Tagged' });
    const patched = await c.patch(
      `/Groups/${group.json().id}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: user.id }] }),
    );
    expect(patched.headers.etag).not.toBe(group.headers.etag);
  });
});

describe('atomic group PATCH', () => {
  it('a rename refused with 409 does not apply the membership changes of the same PATCH', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const user = (await c.post('/Users', newUser('atomic@example.com'))).json();
    await c.post('/Groups', { schemas: [GROUP], displayName: 'Taken' });
    const group = (await c.post('/Groups', { schemas: [GROUP], displayName: 'Mine' })).json();
    const response = await c.patch(
      `/Groups/${group.id}`,
      patchOp(
        { op: 'add', path: 'members', value: [{ value: user.id }] },
        { op: 'replace', path: 'displayName', value: 'TAKEN' },
      ),
    );
    expect(response.statusCode).toBe(409);
    expect((await c.get(`/Groups/${group.id}`)).json()).toMatchObject({ displayName: 'Mine' });
    expect((await c.get(`/Groups/${group.id}`)).json().members ?? []).toEqual([]);
  });
});
