import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  fromStored,
  ScimError,
  toStored,
  validateCreate,
  validateReplace,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function expectScimError(fn: () => unknown, scimType: string, detail: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).scimType).toBe(scimType);
    expect((error as ScimError).detail).toMatch(detail);
    return;
  }
  throw new Error(`expected ${scimType}`);
}

describe('validation of create bodies', () => {
  it('accepts the Okta create body: password dropped, groups [] ignored, canonical output', () => {
    const { resource, ignored } = validateCreate(users, {
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
    });
    expect(resource).toEqual({
      schemas: [USER],
      externalId: '00ujl29u0le5T6Aj10h7',
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      active: true,
    });
    expect(ignored).toEqual(['groups', 'password']);
  });
  it('accepts the Entra create body with the enterprise extension, meta and roles []', () => {
    const { resource } = validateCreate(users, {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      [ENTERPRISE]: { employeeNumber: 'Aklq', department: 'R&D' },
    });
    expect(resource.schemas).toEqual([USER, ENTERPRISE]);
    expect(resource.roles).toBeUndefined();
    expect(resource.meta).toBeUndefined();
    expect(resource[ENTERPRISE]).toEqual({ employeeNumber: 'Aklq', department: 'R&D' });
  });
  it('tolerates string booleans, emails as an object, nulls, case-insensitive names and manager as a string', () => {
    const { resource } = validateCreate(users, {
      schemas: [USER, ENTERPRISE],
      USERNAME: 'a@b.c',
      Active: 'FALSE',
      emails: { value: 'a@b.c', type: 'work', Primary: 'True' },
      nickName: null,
      title: '',
      [ENTERPRISE.toUpperCase()]: { Manager: 'm-1' },
    });
    expect(resource).toEqual({
      schemas: [USER, ENTERPRISE],
      userName: 'a@b.c',
      active: false,
      emails: [{ value: 'a@b.c', type: 'work', primary: true }],
      [ENTERPRISE]: { manager: { value: 'm-1' } },
    });
  });
  it("tolerates Entra's non-URN ADSCIM schema URI and ignores data under unregistered URNs", () => {
    const { resource, ignored } = validateCreate(groups, {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
      'urn:example:custom:2.0:Group': { badge: 1 },
    });
    expect(resource).toEqual({
      schemas: [GROUP],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
    });
    expect(ignored).toEqual(['meta', 'urn:example:custom:2.0:Group']);
  });
  it('turns group members into a replaceAll delta and never into the resource', () => {
    const { resource, members } = validateCreate(groups, {
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
      members: [
        { value: 'u1', display: 'U' },
        { value: 'g1', $ref: 'https://x/scim/v2/Groups/g1' },
      ],
    });
    expect(resource.members).toBeUndefined();
    expect(members).toEqual({
      add: [],
      remove: [],
      replaceAll: [
        { value: 'u1', display: 'U' },
        { value: 'g1', type: 'Group' },
      ],
    });
  });
  it('reports typos in known schemas and type errors as invalidValue', () => {
    expectScimError(
      () => validateCreate(users, { schemas: [USER], userName: 'a', usrName: 'b' }),
      'invalidValue',
      /"usrName" is not an attribute of User/,
    );
    expectScimError(
      () => validateCreate(users, { schemas: [USER], userName: 'a', name: { giveName: 'b' } }),
      'invalidValue',
      /"name.giveName" is not a sub-attribute/,
    );
    expectScimError(
      () =>
        validateCreate(users, {
          schemas: [USER, ENTERPRISE],
          userName: 'a',
          [ENTERPRISE]: { costcentre: '1' },
        }),
      'invalidValue',
      /"costcentre" is not an attribute of the extension/,
    );
    expectScimError(
      () => validateCreate(users, { schemas: [USER], userName: 'a', active: 'yes' }),
      'invalidValue',
      /"active" must be a boolean/,
    );
    expectScimError(
      () =>
        validateCreate(users, {
          schemas: [USER],
          userName: 'a',
          emails: [
            { value: 'x', primary: true },
            { value: 'y', primary: true },
          ],
        }),
      'invalidValue',
      /2 values marked primary/,
    );
  });
  it('treats a manager carrying only readOnly data as unassigned', () => {
    expect(
      validateCreate(users, {
        schemas: [USER],
        userName: 'a',
        [ENTERPRISE]: { manager: { displayName: 'no id' } },
      }).resource,
    ).toEqual({ schemas: [USER], userName: 'a' });
  });
  it('requires userName (scim-sanity posts without it) and the core schema URI', () => {
    expectScimError(
      () => validateCreate(users, { schemas: [USER], displayName: 'x' }),
      'invalidValue',
      /"userName" is required/,
    );
    expectScimError(
      () => validateCreate(users, { schemas: [USER], userName: '' }),
      'invalidValue',
      /"userName" is required/,
    );
    expectScimError(
      () => validateCreate(users, { not: 'a scim resource' }),
      'invalidSyntax',
      /"schemas" must be an array/,
    );
    expectScimError(
      () => validateCreate(groups, { schemas: [USER], displayName: 'x' }),
      'invalidSyntax',
      /must include "urn:ietf:params:scim:schemas:core:2.0:Group"/,
    );
  });
});

describe('validation of PUT bodies', () => {
  const existing: ScimResource = {
    schemas: [USER],
    id: 'u1',
    userName: 'a',
    nickName: 'n',
    meta: { resourceType: 'User' },
  };
  it('ignores the echoed id, meta and groups, keeps the stored id and clears omitted attributes', () => {
    const { resource } = validateReplace(
      users,
      {
        schemas: [USER],
        id: 'other',
        meta: { version: 'W/"9"' },
        groups: [{ value: 'g' }],
        userName: 'a',
        active: false,
      },
      existing,
    );
    expect(resource).toEqual({ schemas: [USER], id: 'u1', userName: 'a', active: false });
  });
  it('replaces group membership with the body, and empties it when members are omitted', () => {
    const group: ScimResource = { schemas: [GROUP], id: 'g1', displayName: 'G' };
    expect(validateReplace(groups, { schemas: [GROUP], displayName: 'G' }, group).members).toEqual({
      add: [],
      remove: [],
      replaceAll: [],
    });
    expect(
      validateReplace(groups, { schemas: [GROUP], displayName: 'G', members: [{ value: 'u' }] }, group)
        .members,
    ).toEqual({ add: [], remove: [], replaceAll: [{ value: 'u' }] });
  });
  it('rejects a change to an immutable attribute and keeps it when omitted', () => {
    const registryWithBadge = createRegistry();
    const withBadge = registryWithBadge.addExtension('User', {
      schema: {
        id: 'urn:example:params:scim:schemas:extension:acme:2.0:User',
        name: 'Acme',
        attributes: [{ name: 'badge', mutability: 'immutable' }],
      },
    });
    const ACME = 'urn:example:params:scim:schemas:extension:acme:2.0:User';
    const stored: ScimResource = { schemas: [USER, ACME], id: 'u1', userName: 'a', [ACME]: { badge: 'B1' } };
    expect(validateReplace(withBadge, { schemas: [USER], userName: 'a' }, stored).resource[ACME]).toEqual({
      badge: 'B1',
    });
    expectScimError(
      () => validateReplace(withBadge, { schemas: [USER], userName: 'a', [ACME]: { badge: 'B2' } }, stored),
      'mutability',
      /"badge" is immutable/,
    );
  });
});

describe('stored shape', () => {
  const resource: ScimResource = {
    schemas: [USER, ENTERPRISE],
    id: 'u1',
    externalId: 'ext-1',
    userName: 'Babs@Example.com',
    displayName: 'Babs',
    emails: [{ value: 'Babs@Example.com', type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber: '7', manager: { value: 'm1', $ref: 'https://x/Users/m1' } },
  };
  const stamp = {
    created: new Date('2026-01-01T00:00:00Z'),
    lastModified: new Date('2026-01-02T00:00:00Z'),
    version: 4,
  };

  it('uses safe keys only, _id for id, normalised keys, ext.<alias>, Dates and an integer version; no $ref', () => {
    const doc = toStored(users, resource, stamp);
    expect(doc).toEqual({
      _id: 'u1',
      meta: { resourceType: 'User', created: stamp.created, lastModified: stamp.lastModified, version: 4 },
      externalId: 'ext-1',
      userName: 'Babs@Example.com',
      userNameKey: 'babs@example.com',
      displayName: 'Babs',
      displayNameKey: 'babs',
      emails: [{ value: 'Babs@Example.com', valueKey: 'babs@example.com', type: 'work', primary: true }],
      ext: { enterprise: { employeeNumber: '7', manager: { value: 'm1' } } },
    });
    const keys = (value: unknown): string[] =>
      typeof value === 'object' && value !== null && !(value instanceof Date)
        ? Object.entries(value).flatMap(([k, v]) => [k, ...keys(v)])
        : [];
    expect(keys(doc).filter((k) => k.includes('.') || k.startsWith('$'))).toEqual([]);
  });
  it('round-trips through fromStored, computing $ref, location and the weak ETag, ignoring the api fields', () => {
    const doc = {
      ...toStored(users, resource, stamp),
      orgId: 'org-1',
      scim: { managed: true },
      auth: { ssoOnly: true },
    };
    expect(fromStored(users, doc, { baseUrl: 'https://h/scim/v2/' })).toEqual({
      schemas: [USER, ENTERPRISE],
      id: 'u1',
      externalId: 'ext-1',
      userName: 'Babs@Example.com',
      displayName: 'Babs',
      emails: [{ value: 'Babs@Example.com', type: 'work', primary: true }],
      [ENTERPRISE]: { employeeNumber: '7', manager: { value: 'm1', $ref: 'https://h/scim/v2/Users/m1' } },
      meta: {
        resourceType: 'User',
        created: '2026-01-01T00:00:00.000Z',
        lastModified: '2026-01-02T00:00:00.000Z',
        location: 'https://h/scim/v2/Users/u1',
        version: 'W/"4"',
      },
    });
  });
  it('keeps group members out of the document and renders supplied members with $ref by type', () => {
    const doc = toStored(
      groups,
      { schemas: [GROUP], id: 'g1', displayName: 'Admins', members: [{ value: 'x' }] },
      { ...stamp, version: 1 },
    );
    expect(doc).toEqual({
      _id: 'g1',
      meta: { resourceType: 'Group', created: stamp.created, lastModified: stamp.lastModified, version: 1 },
      displayName: 'Admins',
      displayNameKey: 'admins',
    });
    const out = fromStored(groups, doc, {
      baseUrl: 'https://h/scim/v2',
      members: [
        { value: 'u1', display: 'Babs' },
        { value: 'g2', type: 'Group' },
      ],
    });
    expect(out.members).toEqual([
      { value: 'u1', $ref: 'https://h/scim/v2/Users/u1', display: 'Babs' },
      { value: 'g2', $ref: 'https://h/scim/v2/Groups/g2', type: 'Group' },
    ]);
    expect(
      fromStored(users, toStored(users, resource, stamp), {
        groups: [{ value: 'g1', display: 'Admins' }],
        baseUrl: 'https://h',
      }).groups,
    ).toEqual([{ value: 'g1', $ref: 'https://h/Groups/g1', display: 'Admins' }]);
  });
  it('accepts the wire meta (ISO strings, W/"n") as the stamp source', () => {
    const doc = toStored(users, {
      ...resource,
      meta: {
        resourceType: 'User',
        created: '2026-01-01T00:00:00Z',
        lastModified: '2026-01-02T00:00:00Z',
        version: 'W/"12"',
      },
    });
    expect(doc.meta).toEqual({
      resourceType: 'User',
      created: stamp.created,
      lastModified: stamp.lastModified,
      version: 12,
    });
  });
});

describe('registry', () => {
  it('registers a custom extension with a safe alias and stores it under ext.<alias>', () => {
    const registry2 = createRegistry();
    const type = registry2.addExtension('User', {
      schema: {
        id: 'urn:acme:params:scim:schemas:extension:acme:2.0:User',
        name: 'Acme',
        attributes: [{ name: 'badge' }, { name: 'hired', type: 'dateTime' }],
      },
    });
    const ACME = 'urn:acme:params:scim:schemas:extension:acme:2.0:User';
    const { resource } = validateCreate(type, {
      schemas: [USER, ACME],
      userName: 'a',
      [ACME]: { badge: 'B', hired: '2020-01-02T03:04:05Z' },
    });
    const doc = toStored(type, { ...resource, id: 'u1' });
    expect(doc.ext).toEqual({ acme: { badge: 'B', hired: new Date('2020-01-02T03:04:05Z') } });
    expect(fromStored(type, doc)[ACME]).toEqual({ badge: 'B', hired: '2020-01-02T03:04:05.000Z' });
  });
  it('refuses attribute names that cannot be stored safely', () => {
    expect(() =>
      createRegistry().registerSchema({ id: 'urn:x:2.0:Bad', name: 'Bad', attributes: [{ name: 'a.b' }] }),
    ).toThrow(/not a valid SCIM attribute name/);
  });
});

describe('extension objects carrying their own "schemas"', () => {
  it('a create keeps the extension attributes and drops the inner "schemas"', () => {
    const { resource } = validateCreate(users, {
      schemas: [USER, ENTERPRISE],
      userName: 'ext@example.com',
      [ENTERPRISE]: { schemas: [ENTERPRISE], employeeNumber: '42' },
    });
    expect(resource[ENTERPRISE]).toEqual({ employeeNumber: '42' });
  });
});
