import { URN } from '../urns.js';
import { defineSchema, type AttributeInput, type SchemaDefinition } from './types.js';

// RFC 7643 §7 and §8.7.2: the schemas that describe the discovery resources themselves. scim2-tester
// requires /Schemas to list all three.

const readOnly = (input: AttributeInput): AttributeInput => ({
  ...input,
  mutability: 'readOnly',
  ...(input.subAttributes ? { subAttributes: input.subAttributes.map(readOnly) } : {}),
});
const readOnlyAll = (inputs: AttributeInput[]): AttributeInput[] => inputs.map(readOnly);
const supported: AttributeInput = {
  name: 'supported',
  type: 'boolean',
  required: true,
  description: 'A Boolean value specifying whether or not the operation is supported.',
};

const attributeCharacteristics: AttributeInput[] = [
  { name: 'name', required: true, caseExact: true, description: "The attribute's name." },
  {
    name: 'type',
    required: true,
    canonicalValues: [
      'string',
      'complex',
      'boolean',
      'decimal',
      'integer',
      'dateTime',
      'reference',
      'binary',
    ],
    description: "The attribute's data type.",
  },
  {
    name: 'multiValued',
    type: 'boolean',
    required: true,
    description: "A Boolean value indicating an attribute's plurality.",
  },
  { name: 'description', description: 'A human-readable description of the attribute.' },
  {
    name: 'required',
    type: 'boolean',
    description: 'A Boolean value indicating whether or not the attribute is required.',
  },
  {
    name: 'canonicalValues',
    multiValued: true,
    caseExact: true,
    description: 'A collection of canonical values.',
  },
  {
    name: 'caseExact',
    type: 'boolean',
    description: 'A Boolean value indicating whether or not a string attribute is case sensitive.',
  },
  {
    name: 'mutability',
    caseExact: true,
    canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'],
    description: 'Indicates whether or not an attribute is modifiable.',
  },
  {
    name: 'returned',
    caseExact: true,
    canonicalValues: ['always', 'never', 'default', 'request'],
    description: 'Indicates when an attribute is returned in a response.',
  },
  {
    name: 'uniqueness',
    caseExact: true,
    canonicalValues: ['none', 'server', 'global'],
    description: 'Indicates how unique a value must be.',
  },
  {
    name: 'referenceTypes',
    multiValued: true,
    caseExact: true,
    description: 'The names of the resource types that may be referenced.',
  },
];

/** RFC 7643 §7: the schema of a schema representation. */
export const schemaMetaSchema: SchemaDefinition = defineSchema({
  id: URN.Schema,
  name: 'Schema',
  description: 'Specifies the schema attribute definitions of a SCIM schema.',
  attributes: readOnlyAll([
    { name: 'id', required: true, description: 'The unique URI of the schema.' },
    { name: 'name', description: "The schema's human-readable name." },
    { name: 'description', description: "The schema's human-readable description." },
    {
      name: 'attributes',
      type: 'complex',
      multiValued: true,
      required: true,
      description: 'A complex attribute that includes the attributes of a schema.',
      subAttributes: [
        ...attributeCharacteristics,
        {
          name: 'subAttributes',
          type: 'complex',
          multiValued: true,
          description: 'Used to define the sub-attributes of a complex attribute.',
          subAttributes: attributeCharacteristics,
        },
      ],
    },
  ]),
});

/** RFC 7643 §6 / §8.7.2 ResourceType schema. */
export const resourceTypeMetaSchema: SchemaDefinition = defineSchema({
  id: URN.ResourceType,
  name: 'ResourceType',
  description: 'Specifies the schema that describes a SCIM resource type',
  attributes: readOnlyAll([
    {
      name: 'id',
      description: "The resource type's server unique id. May be the same as the 'name' attribute.",
    },
    {
      name: 'name',
      required: true,
      caseExact: true,
      uniqueness: 'server',
      description: "The resource type name, e.g., 'User'.",
    },
    { name: 'description', description: "The resource type's human-readable description." },
    {
      name: 'endpoint',
      type: 'reference',
      referenceTypes: ['uri'],
      required: true,
      uniqueness: 'server',
      description: "The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.",
    },
    {
      name: 'schema',
      type: 'reference',
      referenceTypes: ['uri'],
      required: true,
      caseExact: true,
      description: "The resource type's primary/base schema URI.",
    },
    {
      name: 'schemaExtensions',
      type: 'complex',
      multiValued: true,
      required: true,
      description: "A list of URIs of the resource type's schema extensions.",
      subAttributes: [
        {
          name: 'schema',
          type: 'reference',
          referenceTypes: ['uri'],
          required: true,
          caseExact: true,
          description: 'The URI of a schema extension.',
        },
        {
          name: 'required',
          type: 'boolean',
          required: true,
          description:
            'A Boolean value that specifies whether or not the schema extension is required for the resource type.',
        },
      ],
    },
  ]),
});

/**
 * RFC 7643 §5 / §8.7.2 ServiceProviderConfig schema, with the `pagination` attribute that RFC 9865 §3 adds
 * for cursor-based pagination.
 */
export const serviceProviderConfigMetaSchema: SchemaDefinition = defineSchema({
  id: URN.ServiceProviderConfig,
  name: 'Service Provider Configuration',
  description: "Schema for representing the service provider's configuration",
  attributes: readOnlyAll([
    {
      name: 'documentationUri',
      type: 'reference',
      referenceTypes: ['external'],
      description:
        "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.",
    },
    {
      name: 'patch',
      type: 'complex',
      required: true,
      description: 'PATCH configuration options.',
      subAttributes: [supported],
    },
    {
      name: 'bulk',
      type: 'complex',
      required: true,
      description: 'Bulk configuration options.',
      subAttributes: [
        supported,
        {
          name: 'maxOperations',
          type: 'integer',
          required: true,
          description: 'The maximum number of operations.',
        },
        {
          name: 'maxPayloadSize',
          type: 'integer',
          required: true,
          description: 'The maximum payload size in bytes.',
        },
      ],
    },
    {
      name: 'filter',
      type: 'complex',
      required: true,
      description: 'FILTER options.',
      subAttributes: [
        supported,
        {
          name: 'maxResults',
          type: 'integer',
          required: true,
          description: 'The maximum number of resources returned in a response.',
        },
      ],
    },
    {
      name: 'changePassword',
      type: 'complex',
      required: true,
      description: 'Password change options.',
      subAttributes: [supported],
    },
    {
      name: 'sort',
      type: 'complex',
      required: true,
      description: 'Sort result options.',
      subAttributes: [supported],
    },
    {
      name: 'etag',
      type: 'complex',
      required: true,
      description: 'ETag result options.',
      subAttributes: [supported],
    },
    {
      name: 'pagination',
      type: 'complex',
      description: 'Pagination options (RFC 9865).',
      subAttributes: [
        { name: 'cursor', type: 'boolean', description: 'Whether cursor-based pagination is supported.' },
        { name: 'index', type: 'boolean', description: 'Whether index-based pagination is supported.' },
        {
          name: 'defaultPaginationMethod',
          canonicalValues: ['cursor', 'index'],
          description: 'The method used when a client names none.',
        },
        {
          name: 'defaultPageSize',
          type: 'integer',
          description: 'The page size used when a client names none.',
        },
        { name: 'maxPageSize', type: 'integer', description: 'The largest page size the server returns.' },
        { name: 'cursorTimeout', type: 'integer', description: 'Seconds a cursor stays valid.' },
      ],
    },
    {
      name: 'authenticationSchemes',
      type: 'complex',
      multiValued: true,
      required: true,
      description: 'Supported authentication scheme properties.',
      subAttributes: [
        {
          name: 'type',
          required: true,
          canonicalValues: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'],
          description: 'The authentication scheme.',
        },
        {
          name: 'name',
          required: true,
          description: 'The common authentication scheme name, e.g., HTTP Basic.',
        },
        { name: 'description', required: true, description: 'A description of the authentication scheme.' },
        {
          name: 'specUri',
          type: 'reference',
          referenceTypes: ['external'],
          description: "A URL pointing to the scheme's specification.",
        },
        {
          name: 'documentationUri',
          type: 'reference',
          referenceTypes: ['external'],
          description: "A URL pointing to the scheme's documentation.",
        },
        {
          name: 'primary',
          type: 'boolean',
          description: 'Whether this is the preferred authentication scheme.',
        },
      ],
    },
  ]),
});
