// Throughput of the protocol core on representative Okta / Entra payloads. Prints figures; asserts nothing.
// Run: pnpm --filter @scimbridge/scim-core bench
import {
  applyPatch,
  createRegistry,
  filterToMongoSync,
  parseFilter,
  parsePatchRequest,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const filters = [
  'userName eq "test.user@okta.local"', // Okta pre-create lookup
  'externalId eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"', // Entra existence check
  'emails[type eq "work"].value eq "user@contoso.com"', // Entra uniqueness check on email
  'displayName eq "Sales Team"', // Entra group lookup
  'userName eq "a@b.c" and active eq true', // and-combination
];

const user: ScimResource = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: '0190f0a4-7c1e-7b9a-8d4e-2f1c3b5a6d7e',
  externalId: '00ujl29u0le5T6Aj10h7',
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  displayName: 'Test User',
  active: true,
  emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
  [ENTERPRISE]: { employeeNumber: '701984', department: 'Tour Operations' },
  meta: {
    resourceType: 'User',
    created: '2026-01-01T00:00:00.000Z',
    lastModified: '2026-01-01T00:00:00.000Z',
    version: 'W/"3"',
  },
};
const group: ScimResource = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: '0190f0a4-0000-7000-8000-000000000001',
  displayName: 'Sales Team',
};

const patches: [string, typeof users, ScimResource, unknown][] = [
  [
    'Okta deactivate (no-path replace)',
    users,
    user,
    { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] },
  ],
  [
    'Entra disable ("False" string)',
    users,
    user,
    { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
  ],
  [
    'Entra work email (filtered path)',
    users,
    user,
    {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@contoso.com' }],
    },
  ],
  [
    'Entra member add',
    groups,
    group,
    {
      schemas: [PATCH],
      Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }],
    },
  ],
  [
    'Okta member remove (filter)',
    groups,
    group,
    {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]' }],
    },
  ],
];

function measure(label: string, run: () => void, minMs = 1500): number {
  for (let i = 0; i < 2000; i++) run(); // warm-up
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) run();
    iterations += 1000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const perSecond = Math.round((iterations / elapsed) * 1000);
  console.log(`${label.padEnd(48)} ${perSecond.toLocaleString('en-US').padStart(12)} /s`);
  return perSecond;
}

console.log('filter parse + translate (filterToMongoSync(parseFilter(text)))');
const filterRates = filters.map((text, i) =>
  measure(`  ${text.slice(0, 46)}`, () => filterToMongoSync(parseFilter(text), i === 3 ? groups : users)),
);
let n = 0;
const mixed = measure('  mixed (round robin of the above)', () => {
  const i = n++ % filters.length;
  filterToMongoSync(parseFilter(filters[i] as string), i === 3 ? groups : users);
});

console.log('single-operation PATCH (parsePatchRequest + applyPatch)');
const patchRates = patches.map(([label, type, resource, body]) =>
  measure(`  ${label}`, () => applyPatch(type, resource, parsePatchRequest(body))),
);

console.log('');
console.log(
  `filter parse+translate: min ${Math.min(...filterRates).toLocaleString('en-US')}/s, mixed ${mixed.toLocaleString('en-US')}/s (target >= 200,000/s)`,
);
console.log(
  `PATCH applies:          min ${Math.min(...patchRates).toLocaleString('en-US')}/s (target >= 100,000/s)`,
);
