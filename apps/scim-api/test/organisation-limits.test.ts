import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/index.js';
import { client, GROUP, newUser, patchOp, startHarness, type Harness } from './harness.js';

/**
 * Per-organisation limits (settings `limits`, from a ScimTenant or scimctl): they lower the deployment's limits for
 * that organisation only, never raise them, and /ServiceProviderConfig tells each organisation its own.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

describe('per-organisation limits', () => {
  it('hold one organisation to its lower limits while another keeps the deployment defaults', async () => {
    const tight = await h.organisation({
      limits: {
        patchMaxOperations: 2,
        maxMemberChanges: 1,
        filterMaxTerms: 2,
        bulkMaxOperations: 1,
        maxResults: 5,
      },
    });
    const open = await h.organisation();
    const a = client(h.app, tight.token);
    const b = client(h.app, open.token);

    // Discovery tells each organisation its own limits.
    const configA = (await a.get('/ServiceProviderConfig')).json();
    const configB = (await b.get('/ServiceProviderConfig')).json();
    expect(configA.bulk.maxOperations).toBe(1);
    expect(configA.filter.maxResults).toBe(5);
    expect(configB.bulk.maxOperations).toBe(DEFAULT_LIMITS.bulkMaxOperations);
    expect(configB.filter.maxResults).toBe(DEFAULT_LIMITS.pagination.maxResults);

    // PATCH operations: 3 are past A's limit of 2, not B's.
    const three = patchOp(
      { op: 'replace', path: 'displayName', value: 'One' },
      { op: 'replace', path: 'title', value: 'Two' },
      { op: 'replace', path: 'nickName', value: 'Three' },
    );
    const userA = (await a.post('/Users', newUser('limits-a@example.com'))).json().id as string;
    const userB = (await b.post('/Users', newUser('limits-b@example.com'))).json().id as string;
    const refused = await a.patch(`/Users/${userA}`, three);
    expect(refused.statusCode).toBe(413);
    expect(refused.json().detail).toContain('3 operations; at most 2');
    expect((await b.patch(`/Users/${userB}`, three)).statusCode).toBe(200);

    // Filter terms: 3 are past A's limit.
    const filter = encodeURIComponent('userName eq "x" or userName eq "y" or userName eq "z"');
    const refusedFilter = await a.get(`/Users?filter=${filter}`);
    expect(refusedFilter.statusCode).toBe(400);
    expect(refusedFilter.json().scimType).toBe('invalidFilter');
    expect((await b.get(`/Users?filter=${filter}`)).statusCode).toBe(200);

    // Page size: A's pages hold at most 5 whatever `count` asks; root .search too.
    for (let i = 0; i < 6; i += 1) await a.post('/Users', newUser(`page-${i}@example.com`));
    const page = (await a.get('/Users?count=100')).json();
    expect(page.totalResults).toBe(7);
    expect(page.itemsPerPage).toBe(5);
    expect((await a.post('/.search', { schemas: [SEARCH], count: 100 })).json().Resources).toHaveLength(5);

    // Member changes per request: two members in one PATCH are past A's limit of 1.
    const group = (await a.post('/Groups', { schemas: [GROUP], displayName: 'Limited' })).json().id as string;
    const twoMembers = patchOp({ op: 'add', path: 'members', value: [{ value: userA }, { value: 'other' }] });
    expect((await a.patch(`/Groups/${group}`, twoMembers)).statusCode).toBe(413);
    const oneMember = patchOp({ op: 'add', path: 'members', value: [{ value: userA }] });
    expect((await a.patch(`/Groups/${group}`, oneMember)).statusCode).toBe(200);

    // Bulk: two operations are past A's limit of 1 (the whole request is refused, as RFC 7644 §3.7.4 says).
    const bulk = {
      schemas: [BULK],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: '1', data: newUser('bulk-1@example.com') },
        { method: 'POST', path: '/Users', bulkId: '2', data: newUser('bulk-2@example.com') },
      ],
    };
    expect((await a.post('/Bulk', bulk)).statusCode).toBe(413);
    expect((await b.post('/Bulk', bulk)).statusCode).toBe(200);
  });

  it('never raise a limit above the deployment', async () => {
    const generous = await h.organisation({
      limits: { bulkMaxOperations: 1_000_000, maxResults: 1_000_000, patchMaxOperations: 1_000_000 },
    });
    const api = client(h.app, generous.token);
    const config = (await api.get('/ServiceProviderConfig')).json();
    expect(config.bulk.maxOperations).toBe(DEFAULT_LIMITS.bulkMaxOperations);
    expect(config.filter.maxResults).toBe(DEFAULT_LIMITS.pagination.maxResults);
    const id = (await api.post('/Users', newUser('generous@example.com'))).json().id as string;
    const ops = Array.from({ length: DEFAULT_LIMITS.patch.maxOperations + 1 }, () => ({
      op: 'replace',
      path: 'title',
      value: 't',
    }));
    expect((await api.patch(`/Users/${id}`, patchOp(...ops))).statusCode).toBe(413);
  });
});
