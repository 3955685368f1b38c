import { etagFromVersion, parseEtag } from '../messages/etag.js';
import { resourceLocation } from '../messages/meta.js';
import { isPlainObject } from '../resource/normalise.js';
import type { MemberRef, ScimResource } from '../resource/types.js';
import { schemasOf } from '../resource/validate.js';
import type { ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';
import { isComputedReference, keyFieldName, normaliseKey, storedSubName } from './keys.js';

type JsonObject = Record<string, unknown>;

/** `meta` as stored: real Dates (so `meta.lastModified gt …` compares chronologically) and an integer version. */
export interface StoredMeta {
  resourceType: string;
  created?: Date;
  lastModified?: Date;
  version?: number;
}

/**
 * The document the api persists for a resource. Keys never contain `.` nor start with `$` (FerretDB rejects
 * them): `id` is `_id`, extensions live under `ext.<alias>`, `$ref`s are computed on output, and
 * case-insensitive indexed attributes carry a lower-cased `…Key` beside them. The api adds its own fields
 * (organisation id, account state) beside these; `fromStored` ignores fields it does not know.
 */
export interface StoredResource {
  _id: string;
  meta: StoredMeta;
  ext?: Record<string, JsonObject>;
  [field: string]: unknown;
}

/** Server-side values for `toStored` that the SCIM resource may not carry yet (on create). */
export interface StoredStamp {
  id?: string;
  created?: Date | string;
  lastModified?: Date | string;
  /** Integer version, or the weak ETag form `W/"3"`. */
  version?: number | string;
}

/**
 * Maps a canonical SCIM resource (as produced by validation or PATCH) to the stored document. The type's external
 * attributes (Group `members`, User `groups`) are not part of the document: membership lives in its own collection.
 */
export function toStored(
  type: ResourceType,
  resource: ScimResource,
  stamp: StoredStamp = {},
): StoredResource {
  const id = stamp.id ?? resource.id;
  if (typeof id !== 'string' || id === '') throw new Error(`toStored(${type.name}): the resource has no id`);
  const doc: StoredResource = { _id: id, meta: storedMeta(type, resource, stamp) };
  for (const attribute of type.coreAttributes) {
    if (
      attribute.name === 'id' ||
      attribute.name === 'meta' ||
      attribute.name === 'schemas' ||
      type.isExternal(attribute)
    )
      continue;
    const value = resource[attribute.name];
    if (value !== undefined && value !== null) doc[attribute.name] = storeAttribute(type, attribute, value);
    if (type.hasNormalisedKey(attribute) && typeof value === 'string')
      doc[keyFieldName(attribute.name)] = normaliseKey(value);
  }
  for (const extension of type.extensions) {
    const data = resource[extension.schema.id];
    if (!isPlainObject(data)) continue;
    const stored: JsonObject = {};
    for (const attribute of extension.schema.attributes) {
      const value = data[attribute.name];
      if (value === undefined || value === null) continue;
      stored[attribute.name] = storeAttribute(type, attribute, value);
      if (type.hasNormalisedKey(attribute) && typeof value === 'string')
        stored[keyFieldName(attribute.name)] = normaliseKey(value);
    }
    if (Object.keys(stored).length > 0) (doc.ext ??= {})[extension.alias] = stored;
  }
  return doc;
}

function storedMeta(type: ResourceType, resource: ScimResource, stamp: StoredStamp): StoredMeta {
  const meta: StoredMeta = { resourceType: type.name };
  const created = toDate(stamp.created ?? resource.meta?.created);
  const lastModified = toDate(stamp.lastModified ?? resource.meta?.lastModified);
  const version = stamp.version ?? resource.meta?.version;
  if (created) meta.created = created;
  if (lastModified) meta.lastModified = lastModified;
  const versionNumber =
    typeof version === 'number' ? version : typeof version === 'string' ? parseEtag(version) : undefined;
  if (versionNumber !== undefined) meta.version = versionNumber;
  return meta;
}

function toDate(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function storeAttribute(type: ResourceType, attribute: AttributeDefinition, value: unknown): unknown {
  if (attribute.multiValued && Array.isArray(value))
    return value.map((item: unknown) => storeSingle(type, attribute, item));
  return storeSingle(type, attribute, value);
}

function storeSingle(type: ResourceType, attribute: AttributeDefinition, value: unknown): unknown {
  if (attribute.type === 'dateTime' && typeof value === 'string') return new Date(value);
  if (attribute.type !== 'complex' || !isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const sub of attribute.subAttributes ?? []) {
    const subValue = value[sub.name];
    if (subValue === undefined || subValue === null || isComputedReference(sub)) continue;
    out[storedSubName(sub)] =
      sub.type === 'dateTime' && typeof subValue === 'string' ? new Date(subValue) : subValue;
    if (type.hasNormalisedKey(sub) && typeof subValue === 'string')
      out[keyFieldName(sub.name)] = normaliseKey(subValue);
  }
  return out;
}

/** A group a user belongs to, as the api reads it from the membership collection (User `groups`, readOnly). */
export interface GroupRef {
  value: string;
  display?: string;
  /** `direct` or `indirect` (RFC 7643 §4.1.2). */
  type?: string;
}

/** One value of an external attribute, as the api reads it from the membership collection. */
export type ExternalRef = MemberRef | GroupRef;

export interface FromStoredOptions {
  /** Base URL of the SCIM endpoint (`https://host/scim/v2`): enables `meta.location` and computed `$ref`s. */
  baseUrl?: string;
  /**
   * Values of the type's external attributes, by canonical attribute name (`{ people: [...] }`), rendered under
   * that name with computed `$ref`s. Omit an attribute when it is excluded or not loaded; names that are not an
   * external attribute of the type are ignored.
   */
  external?: Readonly<Record<string, readonly ExternalRef[] | undefined>>;
  /** Shorthand for `external: { members }` (Group `members`); `external` wins when both name it. */
  members?: readonly MemberRef[];
  /** Shorthand for `external: { groups }` (User `groups`); `external` wins when both name it. */
  groups?: readonly GroupRef[];
  /**
   * Endpoint per resource type name, for `$ref`s, over those of the type's registry ({@link ResourceType.endpoints}).
   */
  endpoints?: Readonly<Record<string, string>>;
}

/**
 * Maps a stored document back to the canonical SCIM resource: `_id` → `id`, Dates → xsd:dateTime strings,
 * `ext.<alias>` → extension URN, `…Key` fields dropped, `$ref`s computed from the base URL, `meta` rendered
 * (`version` as a weak ETag). Unknown top-level fields (the api's own) are ignored.
 */
export function fromStored(
  type: ResourceType,
  doc: StoredResource,
  options: FromStoredOptions = {},
): ScimResource {
  const endpoints = options.endpoints ? { ...type.endpoints, ...options.endpoints } : type.endpoints;
  const external: Readonly<Record<string, readonly ExternalRef[] | undefined>> = {
    members: options.members,
    groups: options.groups,
    ...options.external,
  };
  const resource: ScimResource = { schemas: [], id: String(doc._id) };
  for (const attribute of type.coreAttributes) {
    const name = attribute.name;
    if (name === 'id' || name === 'meta' || name === 'schemas' || type.isExternal(attribute)) continue;
    const value = doc[name];
    if (value !== undefined && value !== null)
      resource[name] = loadAttribute(attribute, value, options.baseUrl, endpoints);
  }
  for (const attribute of type.externalAttributes) {
    const list = external[attribute.name];
    if (list && list.length > 0)
      resource[attribute.name] = list.map((item) =>
        renderReferenceElement(attribute, item, options.baseUrl, endpoints),
      );
  }
  for (const extension of type.extensions) {
    const data = doc.ext?.[extension.alias];
    if (!isPlainObject(data)) continue;
    const out: JsonObject = {};
    for (const attribute of extension.schema.attributes) {
      const value = data[attribute.name];
      if (value !== undefined && value !== null)
        out[attribute.name] = loadAttribute(attribute, value, options.baseUrl, endpoints);
    }
    if (Object.keys(out).length > 0) resource[extension.schema.id] = out;
  }
  resource.schemas = schemasOf(type, resource);
  const meta: ScimResource['meta'] = { resourceType: doc.meta?.resourceType ?? type.name };
  if (doc.meta?.created instanceof Date) meta.created = doc.meta.created.toISOString();
  if (doc.meta?.lastModified instanceof Date) meta.lastModified = doc.meta.lastModified.toISOString();
  if (options.baseUrl) meta.location = resourceLocation(options.baseUrl, type, resource.id as string);
  if (typeof doc.meta?.version === 'number') meta.version = etagFromVersion(doc.meta.version);
  resource.meta = meta;
  return resource;
}

function loadAttribute(
  attribute: AttributeDefinition,
  value: unknown,
  baseUrl: string | undefined,
  endpoints: Readonly<Record<string, string>>,
): unknown {
  if (attribute.multiValued && Array.isArray(value))
    return value.map((item: unknown) => loadSingle(attribute, item, baseUrl, endpoints));
  return loadSingle(attribute, value, baseUrl, endpoints);
}

function loadSingle(
  attribute: AttributeDefinition,
  value: unknown,
  baseUrl: string | undefined,
  endpoints: Readonly<Record<string, string>>,
): unknown {
  if (value instanceof Date) return value.toISOString();
  if (attribute.type !== 'complex' || !isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const sub of attribute.subAttributes ?? []) {
    if (isComputedReference(sub)) {
      const ref = computeReference(sub, value, baseUrl, endpoints);
      if (ref) out.$ref = ref;
      continue;
    }
    const subValue = value[storedSubName(sub)];
    if (subValue === undefined || subValue === null) continue;
    out[sub.name] = subValue instanceof Date ? subValue.toISOString() : subValue;
  }
  return out;
}

/** One value of an external attribute: `value`, the computed `$ref`, and `display`/`type` where the attribute has them. */
function renderReferenceElement(
  attribute: AttributeDefinition,
  item: ExternalRef,
  baseUrl: string | undefined,
  endpoints: Readonly<Record<string, string>>,
): JsonObject {
  const out: JsonObject = { value: item.value };
  const subs = attribute.subAttributes ?? [];
  const ref = subs.find(isComputedReference);
  if (ref) {
    const computed = computeReference(ref, item as unknown as JsonObject, baseUrl, endpoints);
    if (computed) out.$ref = computed;
  }
  for (const name of ['display', 'type'] as const)
    if (item[name] !== undefined && subs.some((s) => s.name === name)) out[name] = item[name];
  return out;
}

/**
 * `$ref` = base URL + the referenced type's endpoint + `value`. The referenced type is the element's `type` when
 * it names one of the sub-attribute's `referenceTypes` (members: User or Group), else the first of them; User
 * `groups.type` (`direct`/`indirect`) names none, so those reference `Group`, their only reference type.
 */
function computeReference(
  sub: AttributeDefinition,
  element: JsonObject,
  baseUrl: string | undefined,
  endpoints: Readonly<Record<string, string>>,
): string | undefined {
  if (!baseUrl || typeof element.value !== 'string') return undefined;
  const candidates = (sub.referenceTypes ?? []).filter((t) => t !== 'external' && t !== 'uri');
  const typed =
    typeof element.type === 'string'
      ? candidates.find((c) => c.toLowerCase() === (element.type as string).toLowerCase())
      : undefined;
  const target = typed ?? candidates[0];
  const endpoint = target ? endpoints[target] : undefined;
  if (!endpoint) return undefined;
  return `${baseUrl.replace(/\/+$/, '')}${endpoint}/${encodeURIComponent(element.value)}`;
}
