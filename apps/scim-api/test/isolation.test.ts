import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, client, newUser, patchOp, startHarness, type Client, type Harness } from './harness.js';

let h: Harness;
let a: Client;
let b: Client;
let aUser: { id: string; userName: string };
let aGroup: { id: string };

beforeAll(async () => {
  h = await startHarness();
  a = client(h.app, (await h.organisation()).token);
  b = client(h.app, (await h.organisation()).token);
  aUser = (await a.post('/Users', newUser('shared@example.com', { externalId: 'ext-shared' }))).json();
  aGroup = (
    await a.post('/Groups', { schemas: [GROUP], displayName: 'Shared', members: [{ value: aUser.id }] })
  ).json();
});
afterAll(async () => h.close());

describe('isolation between organisations', () => {
  it('the same userName and group name exist independently in both', async () => {
    expect((await b.post('/Users', newUser('shared@example.com'))).statusCode).toBe(201);
    expect((await b.post('/Groups', { schemas: [GROUP], displayName: 'Shared' })).statusCode).toBe(201);
  });

  it("no endpoint reads, changes or deletes another organisation's resources", async () => {
    for (const path of [`/Users/${aUser.id}`, `/Groups/${aGroup.id}`]) {
      expect((await b.get(path)).statusCode).toBe(404);
      expect(
        (
          await b.put(
            path,
            path.startsWith('/Users') ? newUser('x@example.com') : { schemas: [GROUP], displayName: 'x' },
          )
        ).statusCode,
      ).toBe(404);
      expect(
        (await b.patch(path, patchOp({ op: 'replace', path: 'displayName', value: 'hijack' }))).statusCode,
      ).toBe(404);
      expect((await b.delete(path)).statusCode).toBe(404);
    }
    expect((await a.get(`/Users/${aUser.id}`)).json().displayName).toBe('Test User');
  });

  it("no filter, list or search returns another organisation's resources", async () => {
    for (const filter of [
      `id eq "${aUser.id}"`,
      'externalId eq "ext-shared"',
      `groups[value eq "${aGroup.id}"]`,
      'userName pr',
      'userName co "@"',
    ]) {
      const list = (await b.get(`/Users?filter=${encodeURIComponent(filter)}`)).json();
      expect((list.Resources as { id: string }[]).map((r) => r.id)).not.toContain(aUser.id);
    }
    const groups = (
      await b.get(`/Groups?filter=${encodeURIComponent(`members[value eq "${aUser.id}"]`)}`)
    ).json();
    expect(groups.totalResults).toBe(0);
    const all = (
      await b.post('/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] })
    ).json();
    expect(JSON.stringify(all)).not.toContain(aUser.id);
    expect(JSON.stringify(all)).not.toContain(aGroup.id);
  });

  it('bulk operations and member values cannot reach across', async () => {
    const bulk = (
      await b.post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [
          {
            method: 'PATCH',
            path: `/Users/${aUser.id}`,
            data: patchOp({ op: 'replace', path: 'active', value: false }),
          },
          { method: 'DELETE', path: `/Groups/${aGroup.id}` },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g',
            data: {
              schemas: [GROUP],
              displayName: 'Sneaky',
              members: [{ value: aUser.id }, { value: aGroup.id }],
            },
          },
        ],
      })
    ).json();
    expect((bulk.Operations as { status: string }[]).map((o) => o.status)).toEqual(['404', '404', '201']);
    const sneaky = (await b.get('/Groups?filter=displayName eq "Sneaky"')).json().Resources[0];
    expect(sneaky.members ?? []).toEqual([]);
    expect((await a.get(`/Users/${aUser.id}`)).json().active).toBe(true);
    expect((await a.get(`/Groups/${aGroup.id}`)).json().members).toHaveLength(1);
    const own = (await b.post('/Groups', { schemas: [GROUP], displayName: 'Own' })).json();
    await b.patch(`/Groups/${own.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: aUser.id }] }));
    expect((await a.get(`/Users/${aUser.id}`)).json().groups).toEqual([
      expect.objectContaining({ value: aGroup.id }),
    ]);
  });
});
