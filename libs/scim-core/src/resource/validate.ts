import { invalidSyntax, invalidValue, mutability } from '../errors.js';
import { hasUrnPrefix, resolveAttributePath, type ResolvedPath } from '../schema/attribute-path.js';
import type { ExtensionBinding, ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';
import { describe, isPlainObject, normaliseMembers, normaliseValue } from './normalise.js';
import type { MembershipDelta, ScimResource } from './types.js';
import { deepEqual, extensionEntries } from './values.js';

type JsonObject = Record<string, unknown>;

export interface ValidatedResource {
  /** Canonical resource: canonical attribute names, tolerated forms normalised, `schemas` recomputed, no `meta`. */
  resource: ScimResource;
  /**
   * The values of the type's writable external attribute (Group `members`) to apply, as `replaceAll`: when the
   * body carried them (create), or always (replace).
   */
  members?: MembershipDelta;
  /** Attribute names that were accepted but ignored (readOnly, writeOnly `password`, unregistered extensions), for logs. */
  ignored: string[];
}

/**
 * Validates and normalises a POST body (RFC 7644 §3.3). See {@link validateReplace} for the rules; on create
 * `members` become a `replaceAll` delta only when the body names them.
 */
export function validateCreate(type: ResourceType, body: unknown): ValidatedResource {
  return validate(type, body, undefined);
}

/**
 * Validates and normalises a PUT body against the stored resource (RFC 7644 §3.5.1): readOnly attributes in the
 * body are ignored (`id`, `meta`, `groups`, which Okta and OneLogin echo), immutable attributes must match their
 * stored value (400 mutability) and are kept when omitted, other omitted attributes are cleared, and a Group's
 * membership becomes exactly the body's `members` (omitted → empty; interop table #8).
 *
 * Unknown-attribute policy (docs/scim-core.md): an unknown attribute of a registered schema — a core attribute
 * name without a URN, a sub-attribute, or an attribute inside a registered extension — is 400 invalidValue so
 * typos surface; data under an unregistered schema URN (another vendor's extension) is ignored; unknown URIs
 * in `schemas` are ignored (Entra's ADSCIM Group URI, interop table #12).
 */
export function validateReplace(
  type: ResourceType,
  body: unknown,
  existing: ScimResource,
): ValidatedResource {
  return validate(type, body, existing);
}

function validate(type: ResourceType, body: unknown, existing: ScimResource | undefined): ValidatedResource {
  if (!isPlainObject(body))
    throw invalidSyntax(`The request body must be a JSON object describing a ${type.name}.`);
  checkSchemas(type, body.schemas);
  const resource: ScimResource = {};
  const ignored: string[] = [];
  let members: MembershipDelta | undefined;
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue;
    const path = resolveAttributePath(type, key);
    if (!path) {
      if (hasUrnPrefix(key)) {
        ignored.push(key);
        continue;
      }
      throw invalidValue(`"${key}" is not an attribute of ${type.name} (${type.schema.id}).`);
    }
    if (!path.attribute) {
      assignExtension(type, resource, path.extension as ExtensionBinding, value, ignored);
      continue;
    }
    const attribute = path.attribute;
    if (
      attribute.mutability === 'readOnly' ||
      attribute.mutability === 'writeOnly' ||
      path.sub?.mutability === 'readOnly'
    ) {
      ignored.push(key);
      continue;
    }
    if (type.isExternal(attribute)) {
      const list = normaliseMembers(type, attribute, value, attribute.name);
      members = { add: [], remove: [], replaceAll: list };
      continue;
    }
    assign(type, resource, path, value);
  }
  if (existing) {
    keepImmutable(type, resource, existing);
    if (existing.id !== undefined) resource.id = existing.id;
    if (!members && type.writableExternalAttribute) members = { add: [], remove: [], replaceAll: [] };
  }
  checkRequired(type, resource);
  resource.schemas = schemasOf(type, resource);
  return { resource: orderResource(resource), ...(members ? { members } : {}), ignored };
}

function checkSchemas(type: ResourceType, schemas: unknown): void {
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) {
    throw invalidSyntax(`"schemas" must be an array of schema URIs including "${type.schema.id}".`);
  }
  if (!schemas.some((s) => type.isCoreSchema(s))) {
    throw invalidSyntax(`"schemas" must include "${type.schema.id}" for a ${type.name}.`);
  }
}

function assignExtension(
  type: ResourceType,
  resource: ScimResource,
  extension: ExtensionBinding,
  value: unknown,
  ignored: string[],
): void {
  if (value === null || value === undefined) return;
  if (!isPlainObject(value))
    throw invalidValue(
      `"${extension.schema.id}" must be an object of extension attributes, but ${describe(value)} was sent.`,
    );
  for (const [key, raw] of extensionEntries(value)) {
    const attribute = type.extensionAttribute(extension, key);
    if (!attribute)
      throw invalidValue(`"${key}" is not an attribute of the extension ${extension.schema.id}.`);
    if (attribute.mutability === 'readOnly' || attribute.mutability === 'writeOnly') {
      ignored.push(`${extension.schema.id}:${attribute.name}`);
      continue;
    }
    assign(type, resource, { extension, attribute, sub: undefined }, raw);
  }
}

/** Sets a normalised value at a resolved path of a canonical resource (undefined clears it). */
export function assign(type: ResourceType, resource: ScimResource, path: ResolvedPath, value: unknown): void {
  const attribute = path.attribute as AttributeDefinition;
  const container = containerFor(resource, path.extension, true) as JsonObject;
  const text = path.extension ? `${path.extension.schema.id}:${attribute.name}` : attribute.name;
  if (!path.sub) {
    setOrDelete(container, attribute.name, normaliseValue(type, attribute, value, text));
  } else if (attribute.multiValued) {
    throw invalidValue(
      `"${text}.${path.sub.name}" addresses a sub-attribute of every "${text}" value; send "${text}" as a list instead.`,
    );
  } else {
    const current = isPlainObject(container[attribute.name]) ? (container[attribute.name] as JsonObject) : {};
    const merged = { ...current, [path.sub.name]: value };
    setOrDelete(container, attribute.name, normaliseValue(type, attribute, merged, text));
  }
  if (path.extension && Object.keys(container).length === 0) delete resource[path.extension.schema.id];
}

export function containerFor(
  resource: ScimResource,
  extension: ExtensionBinding | undefined,
  create: boolean,
): JsonObject | undefined {
  if (!extension) return resource;
  const existing = resource[extension.schema.id];
  if (isPlainObject(existing)) return existing;
  if (!create) return undefined;
  const created: JsonObject = {};
  resource[extension.schema.id] = created;
  return created;
}

function setOrDelete(container: JsonObject, key: string, value: unknown): void {
  if (value === undefined) delete container[key];
  else container[key] = value;
}

function keepImmutable(type: ResourceType, resource: ScimResource, existing: ScimResource): void {
  const check = (extension: ExtensionBinding | undefined, attribute: AttributeDefinition) => {
    if (attribute.mutability !== 'immutable') return;
    const before = containerFor(existing, extension, false)?.[attribute.name];
    if (before === undefined) return;
    const container = containerFor(resource, extension, true) as JsonObject;
    const after = container[attribute.name];
    if (after === undefined) container[attribute.name] = before;
    else if (!deepEqual(before, after))
      throw mutability(
        `"${attribute.name}" is immutable: it cannot change from ${JSON.stringify(before)} once set.`,
      );
  };
  for (const attribute of type.coreAttributes) check(undefined, attribute);
  for (const extension of type.extensions) {
    for (const attribute of extension.schema.attributes) check(extension, attribute);
    const container = resource[extension.schema.id];
    if (isPlainObject(container) && Object.keys(container).length === 0) delete resource[extension.schema.id];
  }
}

/** RFC 7643 §2.2 `required`, and RFC 7643 §6 required extensions. */
export function checkRequired(type: ResourceType, resource: ScimResource): void {
  for (const attribute of type.schema.attributes) {
    if (attribute.required && attribute.mutability !== 'readOnly' && resource[attribute.name] === undefined) {
      throw invalidValue(`"${attribute.name}" is required for a ${type.name} and must not be empty.`);
    }
  }
  for (const extension of type.extensions) {
    const container = resource[extension.schema.id];
    if (!isPlainObject(container)) {
      if (extension.required)
        throw invalidValue(`The extension ${extension.schema.id} is required for a ${type.name}.`);
      continue;
    }
    for (const attribute of extension.schema.attributes) {
      if (
        attribute.required &&
        attribute.mutability !== 'readOnly' &&
        container[attribute.name] === undefined
      ) {
        throw invalidValue(`"${extension.schema.id}:${attribute.name}" is required.`);
      }
    }
  }
}

/** RFC 7643 §3: the core schema URN, plus each extension's URN when the resource has data for it. */
export function schemasOf(type: ResourceType, resource: ScimResource): string[] {
  const schemas = [type.schema.id];
  for (const extension of type.extensions)
    if (isPlainObject(resource[extension.schema.id])) schemas.push(extension.schema.id);
  return schemas;
}

/** Puts `schemas`, `id`, `externalId` first and the extensions last, the order the RFC examples use. */
export function orderResource(resource: ScimResource): ScimResource {
  const out: ScimResource = {};
  if (resource.schemas) out.schemas = resource.schemas;
  if (resource.id !== undefined) out.id = resource.id;
  if (resource.externalId !== undefined) out.externalId = resource.externalId;
  const meta = resource.meta;
  const extensions: [string, unknown][] = [];
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'schemas' || key === 'id' || key === 'externalId' || key === 'meta') continue;
    if (key.includes(':')) extensions.push([key, value]);
    else out[key] = value;
  }
  for (const [key, value] of extensions) out[key] = value;
  if (meta !== undefined) out.meta = meta;
  return out;
}
