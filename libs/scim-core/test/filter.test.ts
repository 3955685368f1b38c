import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  evaluateFilter,
  filterToMongo,
  filterToMongoSync,
  formatFilter,
  parseFilter,
  ScimError,
  type FilterNode,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const bjensen: ScimResource = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: '701984',
  userName: 'bjensen@example.com',
  name: { familyName: "O'Malley", givenName: 'Barbara' },
  displayName: 'Babs Jensen',
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'someaimhandle', type: 'aim' }],
  roles: [{ value: 'admin', primary: true }],
  [ENTERPRISE]: { employeeNumber: '701984', manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' } },
  meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z' },
};
const intern: ScimResource = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id: 'b1',
  userName: 'JSmith',
  userType: 'Intern',
  emails: [{ value: 'js@example.org', type: 'work' }],
  meta: { resourceType: 'User', created: '2012-01-01T00:00:00Z', lastModified: '2012-01-01T00:00:00Z' },
};

const select = (text: string) =>
  [bjensen, intern].filter((r) => evaluateFilter(parseFilter(text), users, r)).map((r) => r.id);
const mongo = (text: string) => filterToMongoSync(parseFilter(text), users, { elemMatch: true }).query;
const ferret = (text: string) => filterToMongoSync(parseFilter(text), users);

function expectInvalidFilter(fn: () => unknown, detail: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    expect((error as ScimError).scimType).toBe('invalidFilter');
    expect((error as ScimError).detail).toMatch(detail);
    return;
  }
  throw new Error('expected invalidFilter');
}

describe('RFC 7644 §3.4.2.2 filter examples', () => {
  // Each example with the users it selects from {bjensen, intern} and its exact Mongo translation.
  const corpus: [string, string[], Record<string, unknown>][] = [
    ['userName eq "bjensen"', [], { userNameKey: { $eq: 'bjensen' } }],
    [
      'name.familyName co "O\'Malley"',
      [bjensen.id!],
      { 'name.familyName': { $regex: "o'malley", $options: 'i' } },
    ],
    ['userName sw "J"', [intern.id!], { userNameKey: { $regex: '^j' } }],
    [
      'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      [intern.id!],
      { userNameKey: { $regex: '^j' } },
    ],
    ['title pr', [bjensen.id!], { title: { $exists: true } }],
    [
      'meta.lastModified gt "2011-05-13T04:42:34Z"',
      [intern.id!],
      { 'meta.lastModified': { $gt: new Date('2011-05-13T04:42:34Z') } },
    ],
    [
      'meta.lastModified ge "2011-05-13T04:42:34Z"',
      [bjensen.id!, intern.id!],
      { 'meta.lastModified': { $gte: new Date('2011-05-13T04:42:34Z') } },
    ],
    [
      'meta.lastModified lt "2011-05-13T04:42:34Z"',
      [],
      { 'meta.lastModified': { $lt: new Date('2011-05-13T04:42:34Z') } },
    ],
    [
      'meta.lastModified le "2011-05-13T04:42:34Z"',
      [bjensen.id!],
      { 'meta.lastModified': { $lte: new Date('2011-05-13T04:42:34Z') } },
    ],
    [
      'title pr and userType eq "Employee"',
      [bjensen.id!],
      { $and: [{ title: { $exists: true } }, { userType: { $regex: '^employee\\z', $options: 'i' } }] },
    ],
    [
      'title pr or userType eq "Intern"',
      [bjensen.id!, intern.id!],
      { $or: [{ title: { $exists: true } }, { userType: { $regex: '^intern\\z', $options: 'i' } }] },
    ],
    [`schemas eq "${ENTERPRISE}"`, [bjensen.id!], { 'ext.enterprise': { $exists: true } }],
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      [bjensen.id!],
      {
        $and: [
          { userType: { $regex: '^employee\\z', $options: 'i' } },
          {
            $or: [
              { 'emails.valueKey': { $regex: 'example\\.com' } },
              { 'emails.valueKey': { $regex: 'example\\.org' } },
            ],
          },
        ],
      },
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      [],
      {
        $and: [
          { $nor: [{ userType: { $regex: '^employee\\z', $options: 'i' } }] },
          {
            $nor: [
              {
                $or: [
                  { 'emails.valueKey': { $regex: 'example\\.com' } },
                  { 'emails.valueKey': { $regex: 'example\\.org' } },
                ],
              },
            ],
          },
        ],
      },
    ],
    [
      'userType eq "Employee" and (emails.type eq "work")',
      [bjensen.id!],
      {
        $and: [
          { userType: { $regex: '^employee\\z', $options: 'i' } },
          { 'emails.type': { $regex: '^work\\z', $options: 'i' } },
        ],
      },
    ],
    [
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      [bjensen.id!],
      {
        $and: [
          { userType: { $regex: '^employee\\z', $options: 'i' } },
          {
            emails: {
              $elemMatch: {
                $and: [
                  { type: { $regex: '^work\\z', $options: 'i' } },
                  { valueKey: { $regex: '@example\\.com' } },
                ],
              },
            },
          },
        ],
      },
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      [bjensen.id!],
      {
        $or: [
          {
            emails: {
              $elemMatch: {
                $and: [
                  { type: { $regex: '^work\\z', $options: 'i' } },
                  { valueKey: { $regex: '@example\\.com' } },
                ],
              },
            },
          },
          {
            ims: {
              $elemMatch: {
                $and: [
                  { type: { $regex: '^xmpp\\z', $options: 'i' } },
                  { value: { $regex: '@foo\\.com', $options: 'i' } },
                ],
              },
            },
          },
        ],
      },
    ],
  ];
  for (const [text, selected, query] of corpus) {
    it(`${text} selects ${selected.length} user(s) and translates exactly`, () => {
      expect(select(text)).toEqual(selected);
      expect(mongo(text)).toEqual(query);
    });
  }
});

describe('filters IdPs send (interop reference)', () => {
  it('Okta pre-create lookup compares userName case-insensitively on the stored key', () => {
    expect(mongo('userName eq "test.user@okta.local"')).toEqual({
      userNameKey: { $eq: 'test.user@okta.local' },
    });
    expect(mongo('userName eq "RUNSCOPE10@Example.com"')).toEqual({
      userNameKey: { $eq: 'runscope10@example.com' },
    });
    expect(select('userName eq "BJENSEN@EXAMPLE.COM"')).toEqual([bjensen.id]);
  });
  it('Entra existence checks by externalId (quoted and the unquoted tutorial form) are exact and index-friendly', () => {
    expect(mongo('externalId eq "00aa00aa-bb11"')).toEqual({ externalId: { $eq: '00aa00aa-bb11' } });
    expect(mongo('externalId eq jyoung')).toEqual({ externalId: { $eq: 'jyoung' } });
    expect(select('externalId eq "701984"')).toEqual([bjensen.id]);
  });
  it('Entra userName with underscores and a GUID, and the Test Connection random GUID, are plain eq', () => {
    expect(mongo('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')).toEqual({
      userNameKey: { $eq: 'test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee' },
    });
  });
  it('Entra emails[type eq "work"].value eq matches only when the same email is the work one', () => {
    expect(select('emails[type eq "work"].value eq "bjensen@example.com"')).toEqual([bjensen.id]);
    expect(select('emails[type eq "work"].value eq "babs@jensen.org"')).toEqual([]);
    expect(mongo('emails[type eq "work"].value eq "User@contoso.com"')).toEqual({
      emails: {
        $elemMatch: {
          $and: [{ type: { $regex: '^work\\z', $options: 'i' } }, { valueKey: { $eq: 'user@contoso.com' } }],
        },
      },
    });
  });
  it('Entra group lookup displayName eq (and the MS tests capitalised DisplayName) uses the group key', () => {
    expect(filterToMongoSync(parseFilter('displayName eq "displayName"'), groups).query).toEqual({
      displayNameKey: { $eq: 'displayname' },
    });
    expect(filterToMongoSync(parseFilter('DisplayName eq "BobIsAmazing"'), groups).query).toEqual({
      displayNameKey: { $eq: 'bobisamazing' },
    });
  });
  it('Entra roles[primary eq "True"] reads the string boolean', () => {
    expect(select('roles[primary eq "True"].value eq "admin"')).toEqual([bjensen.id]);
    expect(mongo('roles[primary eq "True"]')).toEqual({ roles: { $elemMatch: { primary: { $eq: true } } } });
  });
  it('Entra userName eq "x" and externalId eq "y" (the only operators it uses: eq, and)', () => {
    expect(mongo('userName eq "bjensen@example.com" and externalId eq "701984"')).toEqual({
      $and: [{ userNameKey: { $eq: 'bjensen@example.com' } }, { externalId: { $eq: '701984' } }],
    });
  });
});

describe('parser', () => {
  it('accepts operators, keywords and attribute names in any case', () => {
    expect(parseFilter('UserName EQ "a" AND Title PR')).toEqual(
      parseFilter('userName eq "a" and title pr') && expect.objectContaining({ type: 'and' }),
    );
    expect(select('USERNAME Sw "j" oR title pR')).toEqual([bjensen.id, intern.id]);
  });
  it('gives "and" precedence over "or" and honours parentheses and not', () => {
    const ast = parseFilter('a eq 1 or b eq 2 and c eq 3');
    expect(ast.type).toBe('or');
    expect((ast as Extract<FilterNode, { type: 'or' }>).right.type).toBe('and');
    expect(parseFilter('not (a pr)')).toEqual({
      type: 'not',
      filter: { type: 'present', attribute: 'a', position: 5 },
    });
  });
  it('decodes every JSON string escape', () => {
    const ast = parseFilter('title eq "q\\"b\\\\s\\/n\\nt\\tu\\u00e9"') as Extract<
      FilterNode,
      { type: 'compare' }
    >;
    expect(ast.value).toBe('q"b\\s/n\nt\tué');
  });
  it('reads numbers, booleans and null literals', () => {
    const values = ['1', '-2.5e3', 'true', 'False', 'null'].map(
      (v) => (parseFilter(`x eq ${v}`) as Extract<FilterNode, { type: 'compare' }>).value,
    );
    expect(values).toEqual([1, -2500, true, false, null]);
  });
  it('turns a value path with a trailing sub-attribute into one element condition', () => {
    expect(parseFilter('emails[type eq "work"].value eq "x"')).toEqual({
      type: 'valuePath',
      attribute: 'emails',
      position: 0,
      filter: {
        type: 'and',
        left: { type: 'compare', attribute: 'type', op: 'eq', value: 'work', position: 7 },
        right: { type: 'compare', attribute: 'value', op: 'eq', value: 'x', position: 23 },
      },
    });
  });
  const errors: [string, RegExp][] = [
    ['', /character 1: the filter is empty/],
    ['userName equals "x"', /character 10: expected an operator/],
    ['userName eq', /expected a space and a value/],
    ['userName eq "abc', /character 13: the string value starting here has no closing quote/],
    ['(userName eq "a"', /expected "\)" to close the group/],
    ['userName eq "a")', /found "\)" without a matching "\("/],
    ['emails[type eq "work"', /expected "\]" to close the value filter/],
    ['emails[type eq "work" and phones[type eq "x"]]', /cannot be nested/],
    ['userName eq "a" xor title pr', /expected "and", "or" or the end/],
    ['title eq "\\x"', /is not a JSON string escape/],
    ['emails[]', /is empty/],
  ];
  for (const [text, detail] of errors) {
    it(`rejects ${JSON.stringify(text)} with invalidFilter and the position`, () =>
      expectInvalidFilter(() => parseFilter(text), detail));
  }
  it('re-parses its own formatting to the same tree (property)', () => {
    const attr = fc.constantFrom(
      'userName',
      'emails.value',
      'urn:ietf:params:scim:schemas:core:2.0:User:title',
      'x',
    );
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const leaf = fc.oneof(
      fc
        .tuple(attr, fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'), value)
        .map(([a, op, v]) => `${a} ${op} ${JSON.stringify(v)}`),
      attr.map((a) => `${a} pr`),
    );
    const tree = fc.letrec<{ f: string }>((tie) => ({
      f: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.tuple(tie('f'), fc.constantFrom('and', 'or'), tie('f')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
        tie('f').map((a) => `not (${a})`),
        leaf.map((l) => `emails[${l.replace(/^\S+/, 'value')}]`),
      ),
    })).f;
    fc.assert(
      fc.property(tree, (text) => {
        const strip = (n: unknown): unknown =>
          JSON.parse(JSON.stringify(n, (k, v: unknown) => (k === 'position' ? undefined : v)));
        const ast = parseFilter(text);
        expect(strip(parseFilter(formatFilter(ast)))).toEqual(strip(ast));
      }),
      { numRuns: 300 },
    );
  });
});

describe('translation without $elemMatch (FerretDB v1)', () => {
  it('keeps single conditions and disjunctions inside a value filter exact on dotted paths', () => {
    expect(ferret('emails[type eq "work"]')).toEqual({
      query: { 'emails.type': { $regex: '^work\\z', $options: 'i' } },
      exact: true,
    });
    expect(ferret('emails[type eq "work" or value ew ".org"]')).toEqual({
      query: {
        $or: [
          { 'emails.type': { $regex: '^work\\z', $options: 'i' } },
          { 'emails.valueKey': { $regex: '\\.org\\z' } },
        ],
      },
      exact: true,
    });
  });
  it('writes a superset for conditions that must hold on the same element, and says so', () => {
    expect(ferret('emails[type eq "work"].value eq "User@contoso.com"')).toEqual({
      query: {
        $and: [
          { 'emails.type': { $regex: '^work\\z', $options: 'i' } },
          { 'emails.valueKey': { $eq: 'user@contoso.com' } },
        ],
      },
      exact: false,
    });
    expect(ferret('not (emails[type eq "work" and value co "x"]) and userName eq "a"')).toEqual({
      query: { userNameKey: { $eq: 'a' } },
      exact: false,
    });
  });
  it('negates conditions on multi-valued sub-attributes with $nor, never $ne', () => {
    expect(ferret('emails.value ne "a@b"')).toEqual({
      query: { $nor: [{ 'emails.valueKey': { $eq: 'a@b' } }] },
      exact: true,
    });
  });
});

describe('translation safety and semantics', () => {
  it('escapes every regex metacharacter in co/sw/ew values', () => {
    expect(mongo('title co ".*+?^$()[]{}|\\\\"')).toEqual({
      title: { $regex: '\\.\\*\\+\\?\\^\\$\\(\\)\\[\\]\\{\\}\\|\\\\', $options: 'i' },
    });
    expect(select('name.givenName co ".*"')).toEqual([]);
  });
  it('keeps values that look like operators literal', () => {
    expect(mongo('externalId eq "$where"')).toEqual({ externalId: { $eq: '$where' } });
    expect(mongo('userName eq "{\\"$gt\\": \\"\\"}"')).toEqual({ userNameKey: { $eq: '{"$gt": ""}' } });
  });
  it('maps id to _id and compares it exactly', () => {
    expect(mongo('id eq "2819c223-7f76-453a-919d-413861904646"')).toEqual({
      _id: { $eq: '2819c223-7f76-453a-919d-413861904646' },
    });
  });
  it('stores enterprise attributes under ext.enterprise', () => {
    expect(mongo(`${ENTERPRISE}:manager.value eq "26118915"`)).toEqual({
      'ext.enterprise.manager.value': { $eq: '26118915' },
    });
    expect(mongo(`${ENTERPRISE}:employeeNumber eq "701984"`)).toEqual({
      'ext.enterprise.employeeNumber': { $regex: '^701984\\z', $options: 'i' },
    });
  });
  it('treats eq null as not present and ne as the negation of eq', () => {
    expect(mongo('title eq null')).toEqual({ title: { $exists: false } });
    expect(mongo('userName ne "bjensen@example.com"')).toEqual({
      userNameKey: { $ne: 'bjensen@example.com' },
    });
    expect(select('title ne "Tour Guide"')).toEqual([intern.id]);
  });
  it('rejects unknown attributes instead of returning an empty result', () => {
    expectInvalidFilter(
      () => mongo('usrName eq "x"'),
      /"usrName" is not a filterable attribute of resource type User/,
    );
    expectInvalidFilter(
      () => mongo('emails[kind eq "work"]'),
      /"kind" is not a filterable attribute of "emails"/,
    );
    expectInvalidFilter(() => mongo('urn:example:unknown:2.0:User:foo eq "x"'), /not a filterable attribute/);
  });
  it('rejects password, ordering on booleans, substring on dates and ordering on case-insensitive unkeyed attributes', () => {
    expectInvalidFilter(() => mongo('password eq "x"'), /never returned/);
    expectInvalidFilter(() => mongo('active gt true'), /"gt" cannot compare the boolean attribute "active"/);
    expectInvalidFilter(() => mongo('meta.created co "2011"'), /needs a string attribute/);
    expectInvalidFilter(() => mongo('title gt "A"'), /no normalised key/);
    expectInvalidFilter(() => mongo('active eq "maybe"'), /is a boolean/);
    expectInvalidFilter(() => mongo('meta.lastModified gt "yesterday"'), /is not an xsd:dateTime/);
  });
  it('answers a constant for meta.resourceType and the core schema', () => {
    expect(mongo('meta.resourceType eq "User"')).toEqual({});
    expect(mongo('meta.resourceType eq "Group"')).toEqual({ _id: { $in: [] } });
    expect(mongo('schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"')).toEqual({});
  });
  it('sends member and group filters to the resolver, and refuses them without one', async () => {
    const calls: unknown[] = [];
    const query = await filterToMongo(parseFilter('members[value eq "u1"] and displayName sw "E"'), groups, {
      resolveExternal: (request) => {
        calls.push({ attribute: request.attribute, filter: request.filter });
        return Promise.resolve({ _id: { $in: ['g1'] } });
      },
    });
    expect(calls).toEqual([
      {
        attribute: 'members',
        filter: { type: 'compare', attribute: 'value', op: 'eq', value: 'u1', position: 8 },
      },
    ]);
    expect(query).toEqual({
      query: { $and: [{ _id: { $in: ['g1'] } }, { displayNameKey: { $regex: '^e' } }] },
      exact: true,
    });
    expectInvalidFilter(
      () => filterToMongoSync(parseFilter('groups.value eq "g1"'), users),
      /"groups" is not available here/,
    );
  });
});
