import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  createRegistry,
  parsePatchRequest,
  patchNeedsMembers,
  ScimError,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

function user(extra: Record<string, unknown> = {}): ScimResource {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: '2819c223-7f76-453a-919d-413861904646',
    userName: 'bjensen@example.com',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    active: true,
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    meta: { resourceType: 'User', version: 'W/"3"' },
    ...extra,
  };
}
const group = (): ScimResource => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: 'acbf3ae7',
  displayName: 'Tour Guides',
});

function expectScimError(fn: () => unknown, scimType: string, detail: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect({ status: (error as ScimError).status, scimType: (error as ScimError).scimType }).toEqual({
      status: 400,
      scimType,
    });
    expect((error as ScimError).detail).toMatch(detail);
    return;
  }
  throw new Error(`expected ${scimType}`);
}

describe('RFC 7644 §3.5.2 examples', () => {
  it('§3.5.2.1 add members to a group gives an add delta', () => {
    const result = applyPatch(
      groups,
      group(),
      patch({
        op: 'add',
        path: 'members',
        value: [
          {
            display: 'Babs Jensen',
            $ref: 'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',
            value: '2819c223-7f76-453a-919d-413861904646',
          },
        ],
      }),
    );
    expect(result.members).toEqual({
      add: [{ value: '2819c223-7f76-453a-919d-413861904646', type: 'User', display: 'Babs Jensen' }],
      remove: [],
    });
    expect(result.changed).toEqual(['members']);
  });
  it('§3.5.2.1 add without path appends emails and sets nickName (sent as "nickname")', () => {
    const result = applyPatch(
      users,
      user(),
      patch({
        op: 'add',
        value: {
          emails: [
            { value: 'babs@jensen.org', type: 'home' },
            { value: 'b2@jensen.org', type: 'other' },
          ],
          nickname: 'Babs',
        },
      }),
    );
    expect(result.resource.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'b2@jensen.org', type: 'other' },
    ]);
    expect(result.resource.nickName).toBe('Babs');
    expect(result.changed).toEqual(['nickName', 'emails']);
  });
  it('§3.5.2.2 remove one member by filter gives a remove delta', () => {
    const result = applyPatch(
      groups,
      group(),
      patch({ op: 'remove', path: 'members[value eq "2819c223-7f76-453a-919d-413861904646"]' }),
    );
    expect(result.members).toEqual({ add: [], remove: ['2819c223-7f76-453a-919d-413861904646'] });
  });
  it('§3.5.2.2 remove all members empties the group', () => {
    expect(applyPatch(groups, group(), patch({ op: 'remove', path: 'members' })).members).toEqual({
      add: [],
      remove: [],
      replaceAll: [],
    });
  });
  it('§3.5.2.2 remove emails matching a complex filter', () => {
    const result = applyPatch(
      users,
      user(),
      patch({ op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' }),
    );
    expect(result.resource.emails).toEqual([{ value: 'babs@jensen.org', type: 'home' }]);
  });
  it('§3.5.2.2 remove two members then add one', () => {
    const result = applyPatch(
      groups,
      group(),
      patch(
        { op: 'remove', path: 'members[value eq"2819c223-7f76-453a-919d-413861904646"]' },
        { op: 'remove', path: 'members[value eq"902c246b-6245-4190-8e05-00816be7344a"]' },
        {
          op: 'add',
          path: 'members',
          value: [{ display: 'James Smith', value: '08e1d05d-121c-4561-8b96-473d93df9210' }],
        },
      ),
    );
    expect(result.members).toEqual({
      add: [{ value: '08e1d05d-121c-4561-8b96-473d93df9210', display: 'James Smith' }],
      remove: ['2819c223-7f76-453a-919d-413861904646', '902c246b-6245-4190-8e05-00816be7344a'],
    });
  });
  it('§3.5.2.2 remove all members then add two replaces the membership', () => {
    const result = applyPatch(
      groups,
      group(),
      patch(
        { op: 'remove', path: 'members' },
        { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
      ),
    );
    expect(result.members).toEqual({ add: [], remove: [], replaceAll: [{ value: 'a' }, { value: 'b' }] });
  });
  it('§3.5.2.3 replace members gives replaceAll', () => {
    const result = applyPatch(
      groups,
      group(),
      patch({
        op: 'replace',
        path: 'members',
        value: [
          { display: 'Babs Jensen', value: '2819c223' },
          { display: 'James Smith', value: '08e1d05d' },
        ],
      }),
    );
    expect(result.members).toEqual({
      add: [],
      remove: [],
      replaceAll: [
        { value: '2819c223', display: 'Babs Jensen' },
        { value: '08e1d05d', display: 'James Smith' },
      ],
    });
  });
  it('§3.5.2.3 replace the work address by filter', () => {
    const start = user({
      addresses: [
        { type: 'work', streetAddress: '100 Universal City Plaza' },
        { type: 'home', streetAddress: '456 Hollywood Blvd' },
      ],
    });
    const value = {
      type: 'work',
      streetAddress: '911 Universal City Plaza',
      locality: 'Hollywood',
      region: 'CA',
      postalCode: '91608',
      country: 'US',
      formatted: '911 Universal City Plaza\nHollywood, CA 91608 US',
      primary: true,
    };
    const result = applyPatch(
      users,
      start,
      patch({ op: 'replace', path: 'addresses[type eq "work"]', value }),
    );
    expect(result.resource.addresses).toEqual([value, { type: 'home', streetAddress: '456 Hollywood Blvd' }]);
  });
  it('§3.5.2.3 replace a sub-attribute of the filtered address', () => {
    const start = user({
      addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood' }],
    });
    const result = applyPatch(
      users,
      start,
      patch({ op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: '1010 Broadway Ave' }),
    );
    expect(result.resource.addresses).toEqual([
      { type: 'work', streetAddress: '1010 Broadway Ave', locality: 'Hollywood' },
    ]);
  });
  it('§3.5.2.3 replace without path replaces emails and sets nickName', () => {
    const emails = [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ];
    const result = applyPatch(
      users,
      user({ emails: [{ value: 'old@example.com', type: 'work' }] }),
      patch({ op: 'replace', value: { emails, nickname: 'Babs' } }),
    );
    expect(result.resource.emails).toEqual(emails);
    expect(result.resource.nickName).toBe('Babs');
  });
  it('§3.5.2 path examples: name.familyName is replaced, members[...].displayName is no member sub-attribute', () => {
    expect(
      applyPatch(users, user(), patch({ op: 'replace', path: 'name.familyName', value: 'Jensen-Smith' }))
        .resource.name,
    ).toEqual({ givenName: 'Barbara', familyName: 'Jensen-Smith' });
    expectScimError(
      () =>
        applyPatch(
          groups,
          group(),
          patch({ op: 'replace', path: 'members[value eq "2819c223"].displayName', value: 'x' }),
        ),
      'invalidPath',
      /"displayName" is not a sub-attribute of "members"/,
    );
  });
});

describe('IdP shapes (interop reference §1)', () => {
  it('Okta deactivate: no-path replace {active:false}', () => {
    const result = applyPatch(users, user(), patch({ op: 'replace', value: { active: false } }));
    expect(result.resource.active).toBe(false);
    expect(result.changed).toEqual(['active']);
  });
  it('Okta group rename with the readOnly id in the value object ignores the id', () => {
    const result = applyPatch(
      groups,
      group(),
      patch({ op: 'replace', value: { id: 'abf4dd94-other', displayName: 'Test SCIMv2' } }),
    );
    expect(result.resource).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: 'acbf3ae7',
      displayName: 'Test SCIMv2',
    });
  });
  it('Okta membership: remove by filter then add', () => {
    const result = applyPatch(
      groups,
      group(),
      patch(
        { op: 'remove', path: 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]' },
        {
          op: 'add',
          path: 'members',
          value: [{ value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' }],
        },
      ),
    );
    expect(result.members).toEqual({
      add: [{ value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' }],
      remove: ['89bb1940-b905-4575-9e7f-6f887cfb368e'],
    });
  });
  it('Okta empty group push: replace members [] empties the group', () => {
    expect(applyPatch(groups, group(), patch({ op: 'replace', path: 'members', value: [] })).members).toEqual(
      { add: [], remove: [], replaceAll: [] },
    );
  });
  it('Entra default user PATCH: Replace emails[type eq "work"].value and name.familyName', () => {
    const result = applyPatch(
      users,
      user(),
      patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ),
    );
    expect(result.resource.emails).toEqual([
      { value: 'updatedEmail@microsoft.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ]);
    expect(result.resource.name).toEqual({ givenName: 'Barbara', familyName: 'updatedFamilyName' });
  });
  it('Entra disable with the string "False" (and op in any case)', () => {
    for (const op of ['Replace', 'REPLACE', 'replace'])
      expect(applyPatch(users, user(), patch({ op, path: 'active', value: 'False' })).resource.active).toBe(
        false,
      );
  });
  it('Entra member add with $ref null', () => {
    expect(
      applyPatch(
        groups,
        group(),
        patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }),
      ).members,
    ).toEqual({ add: [{ value: 'f648f8d5ea4e4cd38e9c' }], remove: [] });
  });
  it('Entra member remove with a value array and no filter removes only those members', () => {
    expect(
      applyPatch(
        groups,
        group(),
        patch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }),
      ).members,
    ).toEqual({ add: [], remove: ['f648f8d5ea4e4cd38e9c'] });
  });
  it('Entra group rename: Replace displayName', () => {
    expect(
      applyPatch(groups, group(), patch({ op: 'Replace', path: 'displayName', value: 'New name' })).resource
        .displayName,
    ).toBe('New name');
  });
  it('Entra aadOptscim062020: single-value add and the no-path replace with dotted and URN keys', () => {
    expect(
      applyPatch(users, user(), patch({ op: 'add', path: 'nickName', value: 'Babs' })).resource.nickName,
    ).toBe('Babs');
    const result = applyPatch(
      users,
      user(),
      patch({
        op: 'replace',
        value: {
          displayName: 'Bjfe',
          'name.givenName': 'Kkom',
          'name.familyName': 'Unua',
          [`${ENTERPRISE}:employeeNumber`]: 'Aklq',
        },
      }),
    );
    expect(result.resource.displayName).toBe('Bjfe');
    expect(result.resource.name).toEqual({ givenName: 'Kkom', familyName: 'Unua' });
    expect(result.resource[ENTERPRISE]).toEqual({ employeeNumber: 'Aklq' });
    expect(result.resource.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
    expect(result.changed).toEqual(['name', 'displayName', `${ENTERPRISE}:employeeNumber`]);
  });
  it('Entra flag member remove by filter', () => {
    expect(
      applyPatch(
        groups,
        group(),
        patch({ op: 'remove', path: 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]' }),
      ).members,
    ).toEqual({ add: [], remove: ['7f4bc1a3-285e-48ae-8202-5accb43efb0e'] });
  });
  it('Entra filtered Replace on a missing work phone creates it (instead of noTarget)', () => {
    const result = applyPatch(
      users,
      user(),
      patch(
        { op: 'Replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
        { op: 'Replace', path: 'active', value: 'False' },
      ),
    );
    expect(result.resource.phoneNumbers).toEqual([{ type: 'work', value: '+1 555 0100' }]);
    expect(result.resource.active).toBe(false);
  });
  it('Add emails[type eq "work"].value on a user without a work email creates it (MS validator)', () => {
    const result = applyPatch(
      users,
      user({ emails: [{ value: 'h@example.com', type: 'home' }] }),
      patch({ op: 'add', path: 'emails[type eq "work"].value', value: 'w@example.com' }),
    );
    expect(result.resource.emails).toEqual([
      { value: 'h@example.com', type: 'home' },
      { type: 'work', value: 'w@example.com' },
    ]);
  });
  it('a PATCH that re-asserts current values succeeds and reports no change', () => {
    const result = applyPatch(
      users,
      user(),
      patch(
        { op: 'replace', path: 'active', value: true },
        { op: 'replace', value: { userName: 'bjensen@example.com' } },
      ),
    );
    expect(result.changed).toEqual([]);
  });
  it('an empty Operations list (MS validator) succeeds and changes nothing', () => {
    expect(applyPatch(users, user(), patch()).changed).toEqual([]);
  });
  it('manager given as a plain string id becomes {value}', () => {
    const result = applyPatch(
      users,
      user(),
      patch({ op: 'replace', path: `${ENTERPRISE}:manager`, value: '26118915-6090-4610-87e4-49d8ca9f808d' }),
    );
    expect(result.resource[ENTERPRISE]).toEqual({
      manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' },
    });
  });
  it('manager add/update/remove round trip (MS reference tests)', () => {
    const added = applyPatch(
      users,
      user(),
      patch({
        op: 'add',
        path: `${ENTERPRISE}:manager`,
        value: { value: 'm1', displayName: 'ignored (readOnly)' },
      }),
    );
    expect(added.resource[ENTERPRISE]).toEqual({ manager: { value: 'm1' } });
    const updated = applyPatch(
      users,
      added.resource,
      patch({ op: 'replace', path: `${ENTERPRISE}:manager.value`, value: 'm2' }),
    );
    expect(updated.resource[ENTERPRISE]).toEqual({ manager: { value: 'm2' } });
    const removed = applyPatch(
      users,
      updated.resource,
      patch({ op: 'remove', path: `${ENTERPRISE}:manager` }),
    );
    expect(removed.resource[ENTERPRISE]).toBeUndefined();
    expect(removed.resource.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User']);
  });
  it('password in a PATCH is accepted and never kept', () => {
    const result = applyPatch(
      users,
      user(),
      patch(
        { op: 'replace', path: 'password', value: 'secret' },
        { op: 'replace', value: { password: 'x', active: false } },
      ),
    );
    expect(result.resource.password).toBeUndefined();
    expect(result.changed).toEqual(['active']);
  });
  it('scim-sanity: add a fake member, then remove all', () => {
    expect(
      applyPatch(
        groups,
        group(),
        patch(
          { op: 'add', path: 'members', value: [{ value: 'fake-member-id' }] },
          { op: 'remove', path: 'members' },
        ),
      ).members,
    ).toEqual({ add: [], remove: [], replaceAll: [] });
  });
});

describe('RFC rules and errors', () => {
  it('remove without path is noTarget', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'remove' })),
      'noTarget',
      /^Operations\[0\] \(remove\): "remove" needs a "path"/,
    );
  });
  it('a filtered replace that cannot say how to create the element is noTarget, naming the operation', () => {
    expectScimError(
      () =>
        applyPatch(
          users,
          user(),
          patch(
            { op: 'replace', path: 'active', value: true },
            { op: 'replace', path: 'emails[value co "nomatch"].type', value: 'home' },
          ),
        ),
      'noTarget',
      /^Operations\[1\] \(replace "emails\[value co "nomatch"\]\.type"\): No value of "emails" matches/,
    );
  });
  it('unknown attributes in paths are invalidPath; malformed filters too', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', path: 'nickname.first', value: 'x' })),
      'invalidPath',
      /"nickname\.first" is not an attribute of User/,
    );
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' })),
      'invalidPath',
      /without a closing/,
    );
    expectScimError(
      () =>
        applyPatch(users, user(), patch({ op: 'replace', path: 'emails[type equals "work"]', value: 'x' })),
      'invalidPath',
      /Invalid filter at character 13: expected an operator/,
    );
  });
  it('modifying readOnly attributes by path is mutability', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', path: 'id', value: 'x' })),
      'mutability',
      /"id" is readOnly/,
    );
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'add', path: 'groups', value: [{ value: 'g' }] })),
      'mutability',
      /readOnly/,
    );
    expectScimError(
      () =>
        applyPatch(
          users,
          user(),
          patch({ op: 'replace', path: 'meta.lastModified', value: '2020-01-01T00:00:00Z' }),
        ),
      'mutability',
      /readOnly/,
    );
  });
  it('unknown keys in a no-path value are invalidValue; unknown extension URNs are ignored', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', value: { actve: false } })),
      'invalidValue',
      /"actve" is not an attribute of User/,
    );
    expect(
      applyPatch(
        users,
        user(),
        patch({ op: 'replace', value: { 'urn:example:custom:2.0:User:badge': '7', active: false } }),
      ).changed,
    ).toEqual(['active']);
  });
  it('type errors are invalidValue naming the attribute', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', path: 'active', value: 'yes' })),
      'invalidValue',
      /"active" must be a boolean/,
    );
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'replace', path: 'name', value: { givenName: 5 } })),
      'invalidValue',
      /"name.givenName" must be a string/,
    );
  });
  it('removing the required userName is invalidValue', () => {
    expectScimError(
      () => applyPatch(users, user(), patch({ op: 'remove', path: 'userName' })),
      'invalidValue',
      /"userName" is required/,
    );
  });
  it('setting a new primary email turns the previous one off; two primaries in one value is invalidValue', () => {
    const result = applyPatch(
      users,
      user(),
      patch({
        op: 'add',
        path: 'emails',
        value: [{ value: 'new@example.com', type: 'work', primary: true }],
      }),
    );
    expect(result.resource.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work', primary: false },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'new@example.com', type: 'work', primary: true },
    ]);
    expectScimError(
      () =>
        applyPatch(
          users,
          user(),
          patch({
            op: 'replace',
            path: 'emails',
            value: [
              { value: 'a@x', primary: true },
              { value: 'b@x', primary: 'True' },
            ],
          }),
        ),
      'invalidValue',
      /at most one may be/,
    );
  });
  it('changing an immutable member sub-attribute is mutability', () => {
    expectScimError(
      () =>
        applyPatch(
          groups,
          group(),
          patch({ op: 'replace', path: 'members[value eq "a"].value', value: 'b' }),
        ),
      'mutability',
      /immutable/,
    );
  });
  it('an unknown op and a non-PatchOp body are rejected', () => {
    expectScimError(
      () => parsePatchRequest(patch({ op: 'move', path: 'active' })),
      'invalidValue',
      /"op" must be "add", "replace" or "remove"/,
    );
    expectScimError(() => parsePatchRequest({ Operations: [] }), 'invalidSyntax', /PatchOp/);
  });
  it('is atomic: a failing later operation leaves the input untouched and returns nothing', () => {
    const start = user();
    const snapshot = JSON.stringify(start);
    expect(() =>
      applyPatch(
        users,
        start,
        patch({ op: 'replace', path: 'active', value: false }, { op: 'replace', path: 'bogus', value: 1 }),
      ),
    ).toThrow(ScimError);
    expect(JSON.stringify(start)).toBe(snapshot);
  });
  it('never mutates its input, whatever the operations (property)', () => {
    const op = fc.record({
      op: fc.constantFrom('add', 'replace', 'remove', 'Add'),
      path: fc.option(
        fc.constantFrom(
          'active',
          'emails',
          'emails[type eq "work"].value',
          'name.givenName',
          'nickName',
          `${ENTERPRISE}:manager`,
          'bogus',
        ),
        { nil: undefined },
      ),
      value: fc.oneof(
        fc.constant('x@y'),
        fc.boolean(),
        fc.constant(null),
        fc.constant({ active: false, 'name.familyName': 'Q' }),
        fc.constant([{ value: 'e@x', type: 'work' }]),
      ),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 5 }), (operations) => {
        const start = user();
        const snapshot = JSON.stringify(start);
        try {
          const result = applyPatch(users, start, patch(...operations));
          expect(result.resource.id).toBe(start.id);
        } catch (error) {
          expect(error).toBeInstanceOf(ScimError);
        }
        expect(JSON.stringify(start)).toBe(snapshot);
      }),
      { numRuns: 300 },
    );
  });
});

describe('member filters beyond value', () => {
  it('asks for the current members only when a removal filter is not on value', () => {
    expect(
      patchNeedsMembers(groups, patch({ op: 'remove', path: 'members[value eq "a" or value eq "b"]' })),
    ).toBe(false);
    expect(patchNeedsMembers(groups, patch({ op: 'add', path: 'members', value: [{ value: 'a' }] }))).toBe(
      false,
    );
    expect(patchNeedsMembers(groups, patch({ op: 'remove', path: 'members[type eq "Group"]' }))).toBe(true);
  });
  it('evaluates such filters against the supplied members, after earlier operations', () => {
    const members = [
      { value: 'u1', type: 'User', display: 'Babs' },
      { value: 'g1', type: 'Group', display: 'Admins' },
    ];
    const result = applyPatch(
      groups,
      group(),
      patch(
        { op: 'add', path: 'members', value: [{ value: 'g2', type: 'group' }] },
        { op: 'remove', path: 'members[type eq "Group"]' },
      ),
      { members },
    );
    expect(result.members).toEqual({ add: [], remove: ['g1', 'g2'] });
  });
});

describe('extension objects carrying their own "schemas" (scim2-models / scim2-tester)', () => {
  it('PATCH add with an extension path and with no path ignores the inner "schemas"', () => {
    const byPath = applyPatch(
      users,
      user(),
      patch({ op: 'add', path: ENTERPRISE, value: { schemas: [], employeeNumber: '701984' } }),
    );
    expect(byPath.resource[ENTERPRISE]).toEqual({ employeeNumber: '701984' });
    const noPath = applyPatch(
      users,
      user(),
      patch({ op: 'replace', value: { [ENTERPRISE]: { schemas: [ENTERPRISE], department: 'Tour' } } }),
    );
    expect(noPath.resource[ENTERPRISE]).toEqual({ department: 'Tour' });
  });

  it('an unknown attribute inside the extension is still refused', () => {
    expect(() =>
      applyPatch(users, user(), patch({ op: 'add', path: ENTERPRISE, value: { schemas: [], nope: 1 } })),
    ).toThrow(/"nope" is not an attribute of the extension/);
  });
});
