import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  renderResourceTypeById,
  renderResourceTypes,
  renderSchemaById,
  renderSchemas,
  renderServiceProviderConfig,
  ScimError,
} from '../src/index.js';

const registry = createRegistry();
const BASE = 'https://h/scim/v2';

function findNull(value: unknown, path = ''): string | undefined {
  if (value === null) return path;
  if (typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = findNull(v, `${path}.${k}`);
    if (found) return found;
  }
  return undefined;
}

describe('discovery', () => {
  it('lists User, Group, EnterpriseUser and the three meta-schemas, without nulls', () => {
    const body = renderSchemas(registry, BASE);
    expect(body.Resources.map((s) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Schema',
      'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
      'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
    ]);
    expect(body.totalResults).toBe(6);
    expect(findNull(body)).toBeUndefined();
  });
  it('advertises every RFC 7643 §4.1 User attribute with its characteristics', () => {
    const user = renderSchemaById(registry, 'urn:ietf:params:scim:schemas:core:2.0:user', BASE);
    const attributes = user.attributes as Record<string, unknown>[];
    expect(attributes.map((a) => a.name)).toEqual([
      'userName',
      'name',
      'displayName',
      'nickName',
      'profileUrl',
      'title',
      'userType',
      'preferredLanguage',
      'locale',
      'timezone',
      'active',
      'password',
      'emails',
      'phoneNumbers',
      'ims',
      'photos',
      'addresses',
      'groups',
      'entitlements',
      'roles',
      'x509Certificates',
    ]);
    expect(attributes[0]).toEqual({
      name: 'userName',
      type: 'string',
      multiValued: false,
      description: expect.any(String) as string,
      required: true,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'server',
    });
    expect(attributes.find((a) => a.name === 'password')).toMatchObject({
      mutability: 'writeOnly',
      returned: 'never',
    });
    expect(attributes.find((a) => a.name === 'groups')).toMatchObject({ mutability: 'readOnly' });
    expect(user.meta).toEqual({
      resourceType: 'Schema',
      location: `${BASE}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User`,
    });
  });
  it('describes the enterprise manager as a complex value/$ref/displayName', () => {
    const enterprise = renderSchemaById(
      registry,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      BASE,
    );
    const manager = (enterprise.attributes as Record<string, unknown>[]).find(
      (a) => a.name === 'manager',
    ) as { subAttributes: { name: string; mutability: string }[] };
    expect(manager.subAttributes.map((s) => [s.name, s.mutability])).toEqual([
      ['value', 'readWrite'],
      ['$ref', 'readWrite'],
      ['displayName', 'readOnly'],
    ]);
  });
  it('renders resource types and 404s for unknown ids', () => {
    expect(renderResourceTypes(registry, BASE).Resources[0]).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      description: 'User Account',
      endpoint: '/Users',
      schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
      schemaExtensions: [
        { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
    });
    expect(() => renderResourceTypeById(registry, 'Nope', BASE)).toThrow(ScimError);
    expect(() => renderSchemaById(registry, 'urn:nope', BASE)).toThrow(/not found/);
  });
  it('renders the ServiceProviderConfig from the limits the server enforces', () => {
    const body = renderServiceProviderConfig(
      {
        patch: true,
        bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1048576 },
        filter: { supported: true, maxResults: 200 },
        changePassword: false,
        sort: true,
        etag: true,
        pagination: {
          cursor: true,
          index: true,
          defaultPaginationMethod: 'index',
          defaultPageSize: 100,
          maxPageSize: 200,
        },
        authenticationSchemes: [
          {
            type: 'oauthbearertoken',
            name: 'OAuth Bearer Token',
            description: 'Bearer token per organisation',
            primary: true,
          },
        ],
      },
      BASE,
    );
    expect(body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 200 },
      etag: { supported: true },
      meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
    });
    expect(findNull(body)).toBeUndefined();
  });
});
