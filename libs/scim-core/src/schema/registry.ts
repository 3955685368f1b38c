import { URN } from '../urns.js';
import { enterpriseUserSchema, groupSchema, userSchema } from './core-schemas.js';
import { resourceTypeMetaSchema, schemaMetaSchema, serviceProviderConfigMetaSchema } from './meta-schemas.js';
import {
  defineAttribute,
  defineSchema,
  type AttributeDefinition,
  type SchemaDefinition,
  type SchemaInput,
} from './types.js';

/** An extension schema attached to a resource type, with the safe field name it is stored under (`ext.<alias>`). */
export interface ExtensionBinding {
  readonly schema: SchemaDefinition;
  readonly required: boolean;
  /** Stored as `ext.<alias>`: FerretDB rejects keys containing `.` (and every schema URN has one). */
  readonly alias: string;
}

export interface ResourceTypeInput {
  id: string;
  name?: string;
  endpoint: string;
  description?: string;
  /** URN of the core schema, already registered. */
  schema: string;
  extensions?: { schema: string; required?: boolean; alias?: string }[];
  /**
   * caseExact=false attributes that get a stored lower-cased key beside them (`userNameKey`, `emails[].valueKey`)
   * so that `eq`, `co`, `sw`, `ew`, ordering and uniqueness are case-insensitive and can use an index.
   * Paths as in filters: `userName`, `emails.value`, `urn:…:employeeNumber`.
   */
  normalisedKeys?: string[];
  /**
   * Top-level multi-valued attributes whose values are not held in the resource's document (Group `members`,
   * User `groups`): the api keeps them in the membership collection. Filters on them go through a resolver,
   * PATCH reports them as set deltas.
   *
   * Each must be a multi-valued complex attribute with a `value` sub-attribute and no sub-attributes besides
   * `value`, `$ref`, `type` and `display` (what a `MemberRef` holds). At most one of them may be writable
   * (not readOnly): its changes are the `members` delta of validation and PATCH; readOnly ones (User `groups`)
   * are the other side of some writable one and only rendered.
   */
  external?: string[];
}

/** Where a resource type finds the endpoints of the resource types its references may name. */
export interface EndpointSource {
  /** Endpoint (`/Users`) per resource type name (`User`), as `referenceTypes` name them. */
  endpoints(): Readonly<Record<string, string>>;
}

/** The sub-attributes an external attribute may have: the fields of a `MemberRef` plus the computed `$ref`. */
const EXTERNAL_SUB_ATTRIBUTES = new Set(['value', '$ref', 'type', 'display']);

/** RFC 7643 §3.1 common attributes, modelled as attributes so that filters, sorting and projection treat them alike. */
const commonAttributes: readonly AttributeDefinition[] = [
  defineAttribute({
    name: 'id',
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
    description: 'A unique identifier for a SCIM resource as defined by the service provider.',
  }),
  defineAttribute({
    name: 'externalId',
    caseExact: true,
    description: 'A String that is an identifier for the resource as defined by the provisioning client.',
  }),
  defineAttribute({
    name: 'schemas',
    type: 'reference',
    referenceTypes: ['uri'],
    multiValued: true,
    mutability: 'readOnly',
    returned: 'always',
    description: 'The schema URIs of the representation.',
  }),
  defineAttribute({
    name: 'meta',
    type: 'complex',
    mutability: 'readOnly',
    description: 'A complex attribute containing resource metadata.',
    subAttributes: [
      {
        name: 'resourceType',
        caseExact: true,
        mutability: 'readOnly',
        description: 'The name of the resource type.',
      },
      {
        name: 'created',
        type: 'dateTime',
        mutability: 'readOnly',
        description: 'When the resource was added.',
      },
      {
        name: 'lastModified',
        type: 'dateTime',
        mutability: 'readOnly',
        description: 'When the resource was last modified.',
      },
      {
        name: 'location',
        type: 'reference',
        referenceTypes: ['uri'],
        caseExact: true,
        mutability: 'readOnly',
        description: 'The URI of the resource.',
      },
      {
        name: 'version',
        caseExact: true,
        mutability: 'readOnly',
        description: 'The version (ETag) of the resource.',
      },
    ],
  }),
];

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * One resource type with its schemas resolved into lookup tables. All attribute lookups are case-insensitive
 * (RFC 7643 §2.1) and return the canonical definition, so callers store and emit canonical case.
 */
export class ResourceType {
  readonly id: string;
  readonly name: string;
  readonly endpoint: string;
  readonly description: string;
  readonly schema: SchemaDefinition;
  readonly extensions: readonly ExtensionBinding[];
  /** Common attributes (`id`, `externalId`, `schemas`, `meta`) followed by the core schema's attributes. */
  readonly coreAttributes: readonly AttributeDefinition[];
  private readonly coreByName = new Map<string, AttributeDefinition>();
  private readonly extensionByUrn = new Map<string, ExtensionBinding>();
  private readonly extensionAttributes = new Map<ExtensionBinding, Map<string, AttributeDefinition>>();
  private readonly subByParent = new Map<AttributeDefinition, Map<string, AttributeDefinition>>();
  private readonly keyed = new Set<AttributeDefinition>();
  private readonly externalSet = new Set<AttributeDefinition>();
  private readonly writableExternal: AttributeDefinition | undefined;
  private readonly endpointSource: EndpointSource;

  /**
   * @param registry where `$ref`s find the endpoints of other resource types; the registry that builds the type
   *   passes itself. Without one the type knows only its own endpoint.
   */
  constructor(
    input: ResourceTypeInput,
    schema: SchemaDefinition,
    extensions: ExtensionBinding[],
    registry?: EndpointSource,
  ) {
    this.id = input.id;
    this.name = input.name ?? input.id;
    this.endpoint = input.endpoint;
    this.description = input.description ?? '';
    this.schema = schema;
    this.extensions = extensions;
    this.coreAttributes = [...commonAttributes, ...schema.attributes];
    for (const attribute of this.coreAttributes) this.index(attribute, this.coreByName);
    for (const extension of extensions) {
      this.extensionByUrn.set(extension.schema.id.toLowerCase(), extension);
      const byName = new Map<string, AttributeDefinition>();
      for (const attribute of extension.schema.attributes) this.index(attribute, byName);
      this.extensionAttributes.set(extension, byName);
    }
    for (const name of input.external ?? []) {
      const attribute = this.coreByName.get(name.toLowerCase());
      if (!attribute?.multiValued)
        throw new Error(`external attribute ${name} must be a multi-valued attribute of ${schema.id}`);
      const subs = attribute.subAttributes ?? [];
      if (
        attribute.type !== 'complex' ||
        !subs.some((s) => s.name === 'value') ||
        subs.some((s) => !EXTERNAL_SUB_ATTRIBUTES.has(s.name))
      )
        throw new Error(
          `external attribute ${name} of ${schema.id} must be complex with "value" and at most "$ref", "type" and "display"`,
        );
      this.externalSet.add(attribute);
    }
    const writable = [...this.externalSet].filter((a) => a.mutability !== 'readOnly');
    if (writable.length > 1)
      throw new Error(
        `resource type ${input.id}: at most one external attribute may be writable (${writable.map((a) => a.name).join(', ')} are)`,
      );
    this.writableExternal = writable[0];
    this.endpointSource = registry ?? { endpoints: () => ({ [this.name]: this.endpoint }) };
  }

  private index(attribute: AttributeDefinition, into: Map<string, AttributeDefinition>): void {
    into.set(attribute.name.toLowerCase(), attribute);
    if (!attribute.subAttributes) return;
    const subs = new Map<string, AttributeDefinition>();
    for (const sub of attribute.subAttributes) subs.set(sub.name.toLowerCase(), sub);
    this.subByParent.set(attribute, subs);
  }

  /** Core or common attribute by name, case-insensitively. */
  coreAttribute(name: string): AttributeDefinition | undefined {
    return this.coreByName.get(name.toLowerCase());
  }

  /** The extension bound to this type under the given schema URN, case-insensitively. */
  extension(urn: string): ExtensionBinding | undefined {
    return this.extensionByUrn.get(urn.toLowerCase());
  }

  extensionAttribute(extension: ExtensionBinding, name: string): AttributeDefinition | undefined {
    return this.extensionAttributes.get(extension)?.get(name.toLowerCase());
  }

  subAttribute(parent: AttributeDefinition, name: string): AttributeDefinition | undefined {
    return this.subByParent.get(parent)?.get(name.toLowerCase());
  }

  /** True when the schema URN names this type's core schema. */
  isCoreSchema(urn: string): boolean {
    return urn.length === this.schema.id.length && urn.toLowerCase() === this.schema.id.toLowerCase();
  }

  /** Whether a stored lower-cased key accompanies this (leaf) attribute. */
  hasNormalisedKey(attribute: AttributeDefinition): boolean {
    return this.keyed.has(attribute);
  }

  /** Whether this top-level attribute lives outside the resource document (membership collection). */
  isExternal(attribute: AttributeDefinition): boolean {
    return this.externalSet.has(attribute);
  }

  get externalAttributes(): readonly AttributeDefinition[] {
    return [...this.externalSet];
  }

  /**
   * The one external attribute a write may change (Group `members`), whose changes validation and PATCH return
   * as the `members` delta; undefined when every external attribute is readOnly (User `groups`) or there is none.
   */
  get writableExternalAttribute(): AttributeDefinition | undefined {
    return this.writableExternal;
  }

  /**
   * Endpoint per resource type name of the registry this type belongs to (`{ User: '/Users', Group: '/Groups' }`),
   * for the `$ref`s of reference sub-attributes (`referenceTypes` name resource types). Types registered later
   * are included.
   */
  get endpoints(): Readonly<Record<string, string>> {
    return this.endpointSource.endpoints();
  }

  /** @internal used by the registry while building the type. */
  markKeyed(attribute: AttributeDefinition): void {
    this.keyed.add(attribute);
  }
}

/**
 * The schema registry: every schema the server knows and the resource types built from them. `/Schemas` and
 * `/ResourceTypes` are rendered from it, so discovery advertises exactly what validation and storage use.
 */
export class SchemaRegistry {
  private readonly schemasById = new Map<string, SchemaDefinition>();
  private readonly typesById = new Map<string, ResourceType>();
  private readonly typeInputs = new Map<string, ResourceTypeInput>();
  private endpointMap: Readonly<Record<string, string>> | undefined;

  /** Registers a schema (e.g. a custom extension). Attribute names must be RFC 7643 §2.1 ATTRNAMEs. */
  registerSchema(input: SchemaInput | SchemaDefinition): SchemaDefinition {
    const schema = isComplete(input) ? input : defineSchema(input);
    for (const attribute of schema.attributes) checkAttributeName(schema.id, attribute, false);
    this.schemasById.set(schema.id.toLowerCase(), schema);
    return schema;
  }

  /** Registers (or re-registers) a resource type; its schemas must be registered first. */
  registerResourceType(input: ResourceTypeInput): ResourceType {
    const schema = this.schema(input.schema);
    if (!schema) throw new Error(`resource type ${input.id}: schema ${input.schema} is not registered`);
    const aliases = new Set<string>();
    const extensions = (input.extensions ?? []).map((binding) => {
      const extensionSchema = this.schema(binding.schema);
      if (!extensionSchema)
        throw new Error(`resource type ${input.id}: extension ${binding.schema} is not registered`);
      const alias = uniqueAlias(binding.alias ?? aliasFromUrn(extensionSchema.id), aliases);
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(alias))
        throw new Error(`extension alias ${alias} must be a plain identifier`);
      aliases.add(alias);
      return { schema: extensionSchema, required: binding.required ?? false, alias };
    });
    const type = new ResourceType(input, schema, extensions, this);
    for (const path of input.normalisedKeys ?? []) markKeyed(type, path);
    this.typesById.set(input.id.toLowerCase(), type);
    this.typeInputs.set(input.id.toLowerCase(), input);
    this.endpointMap = undefined;
    return type;
  }

  /** Attaches an extension schema to an existing resource type (e.g. a tenant-specific custom schema). */
  addExtension(
    resourceTypeId: string,
    extension: { schema: SchemaInput | SchemaDefinition; required?: boolean; alias?: string },
  ): ResourceType {
    const input = this.typeInputs.get(resourceTypeId.toLowerCase());
    if (!input) throw new Error(`resource type ${resourceTypeId} is not registered`);
    const schema = this.registerSchema(extension.schema);
    const binding = {
      schema: schema.id,
      ...(extension.required !== undefined ? { required: extension.required } : {}),
      ...(extension.alias ? { alias: extension.alias } : {}),
    };
    return this.registerResourceType({ ...input, extensions: [...(input.extensions ?? []), binding] });
  }

  schema(id: string): SchemaDefinition | undefined {
    return this.schemasById.get(id.toLowerCase());
  }

  get schemas(): readonly SchemaDefinition[] {
    return [...this.schemasById.values()];
  }

  /** The resource type by id (`User`, `Group`), case-insensitively; throws for an unknown id (a programming error). */
  resourceType(id: string): ResourceType {
    const type = this.typesById.get(id.toLowerCase());
    if (!type) throw new Error(`resource type ${id} is not registered`);
    return type;
  }

  findResourceType(id: string): ResourceType | undefined {
    return this.typesById.get(id.toLowerCase());
  }

  get resourceTypes(): readonly ResourceType[] {
    return [...this.typesById.values()];
  }

  /** Endpoint per resource type name (`{ User: '/Users', Group: '/Groups' }`) of every registered type. */
  endpoints(): Readonly<Record<string, string>> {
    this.endpointMap ??= Object.freeze(
      Object.fromEntries(this.resourceTypes.map((type) => [type.name, type.endpoint])),
    );
    return this.endpointMap;
  }
}

function isComplete(input: SchemaInput | SchemaDefinition): input is SchemaDefinition {
  return input.attributes.every(
    (a) => 'mutability' in a && a.mutability !== undefined && 'returned' in a && a.returned !== undefined,
  );
}

function checkAttributeName(schemaId: string, attribute: AttributeDefinition, isSub: boolean): void {
  const ok = ATTRIBUTE_NAME.test(attribute.name) || (isSub && attribute.name === '$ref');
  if (!ok)
    throw new Error(
      `schema ${schemaId}: attribute name "${attribute.name}" is not a valid SCIM attribute name`,
    );
  for (const sub of attribute.subAttributes ?? []) checkAttributeName(schemaId, sub, true);
}

function aliasFromUrn(urn: string): string {
  const parts = urn.split(':');
  const at = parts.findIndex((p) => p.toLowerCase() === 'extension');
  const picked =
    (at >= 0 ? parts[at + 1] : undefined) ?? parts.filter((p) => /[A-Za-z]/.test(p)).at(-1) ?? 'extension';
  const cleaned = picked.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(cleaned) ? cleaned : `x${cleaned}`;
}

function uniqueAlias(alias: string, taken: Set<string>): string {
  if (!taken.has(alias)) return alias;
  let n = 2;
  while (taken.has(`${alias}${n}`)) n++;
  return `${alias}${n}`;
}

function markKeyed(type: ResourceType, path: string): void {
  const colon = path.lastIndexOf(':');
  const local = colon >= 0 ? path.slice(colon + 1) : path;
  const [name = '', subName] = local.split('.');
  let attribute: AttributeDefinition | undefined;
  if (colon >= 0 && !type.isCoreSchema(path.slice(0, colon))) {
    const extension = type.extension(path.slice(0, colon));
    attribute = extension ? type.extensionAttribute(extension, name) : undefined;
  } else {
    attribute = type.coreAttribute(name);
  }
  const leaf = attribute && subName ? type.subAttribute(attribute, subName) : attribute;
  if (
    !leaf ||
    leaf.type !== 'string' ||
    leaf.caseExact ||
    (leaf === attribute && leaf.type === 'string' && attribute.multiValued)
  ) {
    throw new Error(
      `normalised key ${path}: must name a single-valued caseExact=false string attribute or sub-attribute`,
    );
  }
  type.markKeyed(leaf);
}

/**
 * A registry with RFC 7643's User (+ enterprise extension), Group and the three meta-schemas. Each call returns
 * a fresh registry, so tests and tenants can add extensions without affecting each other.
 */
export function createRegistry(): SchemaRegistry {
  const registry = new SchemaRegistry();
  for (const schema of [
    userSchema,
    groupSchema,
    enterpriseUserSchema,
    schemaMetaSchema,
    resourceTypeMetaSchema,
    serviceProviderConfigMetaSchema,
  ]) {
    registry.registerSchema(schema);
  }
  registry.registerResourceType({
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: URN.User,
    extensions: [{ schema: URN.EnterpriseUser, required: false, alias: 'enterprise' }],
    normalisedKeys: ['userName', 'displayName', 'emails.value'],
    external: ['groups'],
  });
  registry.registerResourceType({
    id: 'Group',
    name: 'Group',
    endpoint: '/Groups',
    description: 'Group',
    schema: URN.Group,
    normalisedKeys: ['displayName'],
    external: ['members'],
  });
  return registry;
}
