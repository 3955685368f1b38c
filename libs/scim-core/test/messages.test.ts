import { describe, expect, it } from 'vitest';
import {
  bulkErrorResult,
  bulkResponse,
  buildMeta,
  createRegistry,
  cursorToMongo,
  decodeCursor,
  encodeCursor,
  etagFromVersion,
  ifMatchSatisfied,
  ifNoneMatchMatches,
  invalidValue,
  isAttributeReturned,
  listResponse,
  parseBulkRequest,
  parseEtag,
  parsePagination,
  parseSearchQuery,
  parseSearchRequest,
  projectResource,
  resolveBulkIds,
  ScimError,
  sortSpec,
  toScimErrorBody,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const limits = { defaultCount: 100, maxResults: 200 };
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function scimError(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a ScimError');
}

describe('errors', () => {
  it('renders the RFC 7644 §3.12 body with status as a string', () => {
    expect(toScimErrorBody(invalidValue('"active" must be a boolean.'))).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'invalidValue',
      detail: '"active" must be a boolean.',
    });
    expect(toScimErrorBody(new ScimError(404, 'User 1 not found.'))).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '404',
      detail: 'User 1 not found.',
    });
  });
});

describe('pagination and search parameters', () => {
  it('reads startIndex < 1 as 1, count < 0 as 0, and caps count at maxResults', () => {
    expect(parsePagination({ startIndex: '0', count: '-5' }, limits)).toEqual({ startIndex: 1, count: 0 });
    expect(parsePagination({ startIndex: -3, count: 5000 }, limits)).toEqual({ startIndex: 1, count: 200 });
    expect(parsePagination({}, limits)).toEqual({ startIndex: 1, count: 100 });
    expect(scimError(() => parsePagination({ count: 'ten' }, limits)).scimType).toBe('invalidValue');
  });
  it('parses the Okta list query and Entra excludedAttributes=members', () => {
    const params = parseSearchQuery(
      { filter: 'userName eq "test.user@okta.local"', startIndex: '1', count: '100' },
      limits,
    );
    expect(params).toMatchObject({
      startIndex: 1,
      count: 100,
      attributes: [],
      excludedAttributes: [],
      sortOrder: 'ascending',
    });
    expect(params.filter).toEqual({
      type: 'compare',
      attribute: 'userName',
      op: 'eq',
      value: 'test.user@okta.local',
      position: 0,
    });
    expect(
      parseSearchQuery({ excludedAttributes: 'members', filter: 'displayName eq "displayName"' }, limits)
        .excludedAttributes,
    ).toEqual(['members']);
    expect(parseSearchQuery({ cursor: '' }, limits).cursor).toBe('');
  });
  it('validates a SearchRequest body', () => {
    const params = parseSearchRequest(
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        attributes: ['displayName', 'userName'],
        filter: 'displayName sw "smith"',
        startIndex: 1,
        count: 10,
        sortBy: 'userName',
        sortOrder: 'descending',
      },
      limits,
    );
    expect(params).toMatchObject({
      attributes: ['displayName', 'userName'],
      startIndex: 1,
      count: 10,
      sortBy: 'userName',
      sortOrder: 'descending',
    });
    expect(scimError(() => parseSearchRequest({ filter: 'x pr' }, limits)).scimType).toBe('invalidSyntax');
    expect(
      scimError(() =>
        parseSearchRequest(
          { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq' },
          limits,
        ),
      ).scimType,
    ).toBe('invalidFilter');
  });
  it('builds a ListResponse with integer counters and Resources even when empty', () => {
    expect(listResponse([], { totalResults: 0, startIndex: 1 })).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      itemsPerPage: 0,
      startIndex: 1,
      Resources: [],
    });
  });
});

describe('sorting and cursors', () => {
  it('sorts case-insensitive attributes on their key, with _id as tie-breaker', () => {
    expect(sortSpec(users, 'userName', 'descending').mongo).toEqual({ userNameKey: -1, _id: -1 });
    expect(sortSpec(users, 'meta.lastModified', undefined).mongo).toEqual({ 'meta.lastModified': 1, _id: 1 });
    expect(sortSpec(users, 'emails', undefined).mongo).toEqual({ 'emails.valueKey': 1, _id: 1 });
    expect(sortSpec(users, `${ENTERPRISE}:employeeNumber`, 'ascending').mongo).toEqual({
      'ext.enterprise.employeeNumber': 1,
      _id: 1,
    });
    expect(sortSpec(users, undefined, undefined).mongo).toEqual({ _id: 1 });
    expect(scimError(() => sortSpec(users, 'password', undefined)).scimType).toBe('invalidValue');
    expect(scimError(() => sortSpec(users, 'userName', 'up')).detail).toMatch(/"ascending" or "descending"/);
  });
  it('round-trips opaque cursors, Dates included, and rejects forged ones', () => {
    const position = { sortValue: new Date('2026-01-01T00:00:00Z'), id: '0190a1b2' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor(encodeCursor({ id: 'x', sortValue: 'babs' }))).toEqual({
      id: 'x',
      sortValue: 'babs',
    });
    expect(decodeCursor(encodeCursor({ id: 'x' }))).toEqual({ id: 'x' });
    expect(scimError(() => decodeCursor('not a cursor!')).scimType).toBe('invalidCursor');
    expect(scimError(() => decodeCursor(Buffer.from('[2,"x"]').toString('base64url'))).scimType).toBe(
      'invalidCursor',
    );
  });
  it('turns a cursor into a range query after the position', () => {
    const sort = sortSpec(users, 'userName', undefined);
    expect(cursorToMongo(sort, { id: 'u9', sortValue: 'babs' })).toEqual({
      $or: [{ userNameKey: { $gt: 'babs' } }, { userNameKey: 'babs', _id: { $gt: 'u9' } }],
    });
    expect(cursorToMongo(sortSpec(users, undefined, undefined), { id: 'u9' })).toEqual({
      _id: { $gt: 'u9' },
    });
  });
});

describe('ETags and meta', () => {
  it('renders and parses weak ETags from the integer version', () => {
    expect(etagFromVersion(3)).toBe('W/"3"');
    expect(parseEtag('W/"3"')).toBe(3);
    expect(parseEtag('"3"')).toBe(3);
    expect(parseEtag('W/"abc"')).toBeUndefined();
  });
  it('evaluates If-Match (412 when false) and If-None-Match (304 when true)', () => {
    expect(ifMatchSatisfied(undefined, 3)).toBe(true);
    expect(ifMatchSatisfied('W/"3"', 3)).toBe(true);
    expect(ifMatchSatisfied('W/"2", W/"4"', 3)).toBe(false);
    expect(ifMatchSatisfied('*', 3)).toBe(true);
    expect(ifNoneMatchMatches('W/"3"', 3)).toBe(true);
    expect(ifNoneMatchMatches('"other"', 3)).toBe(false);
  });
  it('builds meta with location from the base URL', () => {
    expect(
      buildMeta(
        users,
        { id: 'u1', created: new Date(0), lastModified: new Date(1000), version: 2 },
        'https://h/scim/v2/',
      ),
    ).toEqual({
      resourceType: 'User',
      created: '1970-01-01T00:00:00.000Z',
      lastModified: '1970-01-01T00:00:01.000Z',
      location: 'https://h/scim/v2/Users/u1',
      version: 'W/"2"',
    });
  });
});

describe('bulk', () => {
  const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
  const bulkLimits = { maxOperations: 2, maxPayloadSize: 1000 };
  it('validates operations and enforces the advertised limits with 413', () => {
    const request = parseBulkRequest(
      {
        schemas: [BULK],
        failOnErrors: 1,
        Operations: [
          { method: 'post', path: '/Users', bulkId: 'qwerty', data: { userName: 'a' } },
          { method: 'DELETE', path: '/Users/1', version: 'W/"1"' },
        ],
      },
      bulkLimits,
      500,
    );
    expect(request.Operations.map((o) => o.method)).toEqual(['POST', 'DELETE']);
    expect(
      scimError(() => parseBulkRequest({ schemas: [BULK], Operations: [{}, {}, {}] }, bulkLimits)).status,
    ).toBe(413);
    expect(
      scimError(() => parseBulkRequest({ schemas: [BULK], Operations: [] }, bulkLimits, 5000)).status,
    ).toBe(413);
    expect(
      scimError(() =>
        parseBulkRequest(
          { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', data: {} }] },
          bulkLimits,
        ),
      ).detail,
    ).toMatch(/needs a "bulkId"/);
  });
  it('resolves bulkId references and reports unresolved ones', () => {
    const { value, unresolved } = resolveBulkIds(
      { members: [{ type: 'User', value: 'bulkId:qwerty' }, { value: 'bulkId:ytrewq' }] },
      new Map([['qwerty', '92b725cd']]),
    );
    expect(value).toEqual({ members: [{ type: 'User', value: '92b725cd' }, { value: 'bulkId:ytrewq' }] });
    expect(unresolved).toEqual(['ytrewq']);
  });
  it('builds a BulkResponse with error results carrying the Error body', () => {
    expect(
      bulkResponse([
        bulkErrorResult({ method: 'POST', bulkId: 'q' }, new ScimError(409, 'exists', 'uniqueness')),
      ]),
    ).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkResponse'],
      Operations: [
        {
          method: 'POST',
          bulkId: 'q',
          status: '409',
          response: {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
            status: '409',
            scimType: 'uniqueness',
            detail: 'exists',
          },
        },
      ],
    });
  });
});

describe('projection', () => {
  const user: ScimResource = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    id: 'u1',
    userName: 'babs',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    emails: [{ value: 'b@x', type: 'work' }],
    password: 'never',
    [ENTERPRISE]: { employeeNumber: '7', department: 'R&D' },
    meta: { resourceType: 'User', version: 'W/"1"' },
  };
  it('returns default attributes, never the password', () => {
    const out = projectResource(users, user);
    expect(out.password).toBeUndefined();
    expect(out.userName).toBe('babs');
  });
  it('honours attributes=userName,emails (MS tests) keeping always-returned id and schemas', () => {
    expect(projectResource(users, user, { attributes: ['userName', 'emails'] })).toEqual({
      schemas: user.schemas,
      id: 'u1',
      userName: 'babs',
      emails: [{ value: 'b@x', type: 'work' }],
    });
  });
  it('selects sub-attributes and extension attributes by path', () => {
    expect(
      projectResource(users, user, { attributes: ['name.givenName', `${ENTERPRISE}:department`] }),
    ).toEqual({
      schemas: user.schemas,
      id: 'u1',
      name: { givenName: 'Barbara' },
      [ENTERPRISE]: { department: 'R&D' },
    });
  });
  it('excludes attributes, never the always-returned ones', () => {
    const out = projectResource(users, user, {
      excludedAttributes: ['emails', 'id', ENTERPRISE, 'name.familyName'],
    });
    expect(out).toEqual({
      schemas: user.schemas,
      id: 'u1',
      userName: 'babs',
      name: { givenName: 'Barbara' },
      meta: user.meta,
    });
  });
  it('tells the api when group members need not be loaded', () => {
    expect(isAttributeReturned(groups, 'members', { excludedAttributes: ['members'] })).toBe(false);
    expect(isAttributeReturned(groups, 'members', { attributes: ['displayName'] })).toBe(false);
    expect(isAttributeReturned(groups, 'members', {})).toBe(true);
  });
});
