import { notFound } from '../errors.js';
import { listResponse, type ListResponse } from '../messages/list.js';
import { URN } from '../urns.js';
import type { ResourceType, SchemaRegistry } from './registry.js';
import type { AttributeDefinition, SchemaDefinition } from './types.js';

type JsonObject = Record<string, unknown>;

function base(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/**
 * An attribute as `/Schemas` shows it: every characteristic present, camelCase values, and no `null`s
 * (Entra's schema discovery rejects nulls).
 */
function renderAttribute(attribute: AttributeDefinition): JsonObject {
  const out: JsonObject = {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.multiValued,
    description: attribute.description,
    required: attribute.required,
    caseExact: attribute.caseExact,
    mutability: attribute.mutability,
    returned: attribute.returned,
    uniqueness: attribute.uniqueness,
  };
  if (attribute.canonicalValues?.length) out.canonicalValues = [...attribute.canonicalValues];
  if (attribute.referenceTypes?.length) out.referenceTypes = [...attribute.referenceTypes];
  if (attribute.subAttributes) out.subAttributes = attribute.subAttributes.map(renderAttribute);
  return out;
}

/** One schema representation (RFC 7643 §7), as `GET /Schemas/{id}` returns it. */
export function renderSchema(schema: SchemaDefinition, baseUrl: string): JsonObject {
  return {
    schemas: [URN.Schema],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(renderAttribute),
    meta: { resourceType: 'Schema', location: `${base(baseUrl)}/Schemas/${schema.id}` },
  };
}

/** `GET /Schemas`: a ListResponse of every registered schema, meta-schemas included (scim2-tester checks for them). */
export function renderSchemas(registry: SchemaRegistry, baseUrl: string): ListResponse<JsonObject> {
  const schemas = registry.schemas.map((s) => renderSchema(s, baseUrl));
  return listResponse(schemas, { totalResults: schemas.length, startIndex: 1 });
}

/** `GET /Schemas/{id}`. @throws ScimError 404 for an unknown schema. */
export function renderSchemaById(registry: SchemaRegistry, id: string, baseUrl: string): JsonObject {
  const schema = registry.schema(id);
  if (!schema) throw notFound(`Schema ${id} not found.`);
  return renderSchema(schema, baseUrl);
}

/** One ResourceType representation (RFC 7643 §6). */
export function renderResourceType(type: ResourceType, baseUrl: string): JsonObject {
  return {
    schemas: [URN.ResourceType],
    id: type.id,
    name: type.name,
    description: type.description,
    endpoint: type.endpoint,
    schema: type.schema.id,
    schemaExtensions: type.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
    meta: { resourceType: 'ResourceType', location: `${base(baseUrl)}/ResourceTypes/${type.id}` },
  };
}

export function renderResourceTypes(registry: SchemaRegistry, baseUrl: string): ListResponse<JsonObject> {
  const types = registry.resourceTypes.map((t) => renderResourceType(t, baseUrl));
  return listResponse(types, { totalResults: types.length, startIndex: 1 });
}

/** `GET /ResourceTypes/{id}`. @throws ScimError 404 for an unknown resource type. */
export function renderResourceTypeById(registry: SchemaRegistry, id: string, baseUrl: string): JsonObject {
  const type = registry.findResourceType(id);
  if (!type) throw notFound(`ResourceType ${id} not found.`);
  return renderResourceType(type, baseUrl);
}

/** The server's real limits and capabilities: the api passes what it enforces, so the document never overstates. */
export interface ServiceProviderCapabilities {
  documentationUri?: string;
  patch: boolean;
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number };
  changePassword: boolean;
  sort: boolean;
  etag: boolean;
  /** RFC 9865 pagination capabilities; omitted when not given. */
  pagination?: {
    cursor: boolean;
    index: boolean;
    defaultPaginationMethod: 'cursor' | 'index';
    defaultPageSize: number;
    maxPageSize: number;
    cursorTimeout?: number;
  };
  authenticationSchemes: {
    type: string;
    name: string;
    description: string;
    specUri?: string;
    documentationUri?: string;
    primary?: boolean;
  }[];
  /** When the configuration last changed (meta.lastModified); optional. */
  lastModified?: Date;
}

/** `GET /ServiceProviderConfig` (RFC 7643 §5) built from the capabilities the api enforces. */
export function renderServiceProviderConfig(
  capabilities: ServiceProviderCapabilities,
  baseUrl: string,
): JsonObject {
  const body: JsonObject = { schemas: [URN.ServiceProviderConfig] };
  if (capabilities.documentationUri) body.documentationUri = capabilities.documentationUri;
  body.patch = { supported: capabilities.patch };
  body.bulk = { ...capabilities.bulk };
  body.filter = { ...capabilities.filter };
  body.changePassword = { supported: capabilities.changePassword };
  body.sort = { supported: capabilities.sort };
  body.etag = { supported: capabilities.etag };
  if (capabilities.pagination) body.pagination = { ...capabilities.pagination };
  body.authenticationSchemes = capabilities.authenticationSchemes.map((s) => ({ ...s }));
  const meta: JsonObject = {
    resourceType: 'ServiceProviderConfig',
    location: `${base(baseUrl)}/ServiceProviderConfig`,
  };
  if (capabilities.lastModified) meta.lastModified = capabilities.lastModified.toISOString();
  body.meta = meta;
  return body;
}
