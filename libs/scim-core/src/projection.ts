import { resolveAttributePath } from './schema/attribute-path.js';
import type { ResourceType } from './schema/registry.js';
import type { AttributeDefinition } from './schema/types.js';
import { isPlainObject } from './resource/normalise.js';
import type { ScimResource } from './resource/types.js';

type JsonObject = Record<string, unknown>;

/** The `attributes` / `excludedAttributes` parameters (RFC 7644 §3.4.2.5, §3.9), already split on commas. */
export interface ProjectionParams {
  attributes?: readonly string[];
  excludedAttributes?: readonly string[];
}

/** Selected sub-attributes per top-level key (`true` = the whole attribute). */
type Selection = Map<string, true | Set<string>>;

/**
 * Applies `attributes` / `excludedAttributes` with the `returned` characteristic (RFC 7643 §7): `always`
 * attributes (`id`, `schemas`) are always included, `never` (password) never, `request` only when named in
 * `attributes`, `default` unless excluded or unless `attributes` names others. When both parameters are given,
 * `attributes` wins. Names the type does not know are ignored (a read never fails over an unknown name).
 * Used for GET, lists, `.search` and the bodies of POST/PUT/PATCH responses alike.
 */
export function projectResource(
  type: ResourceType,
  resource: ScimResource,
  params: ProjectionParams = {},
): ScimResource {
  const include = params.attributes?.length ? select(type, params.attributes) : undefined;
  const exclude = include
    ? undefined
    : params.excludedAttributes?.length
      ? select(type, params.excludedAttributes)
      : undefined;
  const out: ScimResource = {};
  for (const [key, value] of Object.entries(resource)) {
    const attribute = key.includes(':') ? undefined : type.coreAttribute(key);
    if (attribute) {
      const projected = projectAttribute(
        type,
        attribute,
        value,
        include?.get(attribute.name),
        exclude?.get(attribute.name),
        include !== undefined,
      );
      if (projected !== undefined) out[attribute.name] = projected;
      continue;
    }
    const extension = type.extension(key);
    if (!extension || !isPlainObject(value)) continue;
    const wholeIncluded = include?.get(extension.schema.id) === true;
    if (exclude?.get(extension.schema.id) === true) continue;
    const inner: JsonObject = {};
    for (const [name, item] of Object.entries(value)) {
      const extAttribute = type.extensionAttribute(extension, name);
      if (!extAttribute) continue;
      const selectionKey = `${extension.schema.id}:${extAttribute.name}`;
      const chosen = wholeIncluded ? true : include?.get(selectionKey);
      const projected = projectAttribute(
        type,
        extAttribute,
        item,
        chosen,
        exclude?.get(selectionKey),
        include !== undefined && !wholeIncluded,
      );
      if (projected !== undefined) inner[extAttribute.name] = projected;
    }
    if (Object.keys(inner).length > 0) out[extension.schema.id] = inner;
  }
  return out;
}

/** Projects each resource of a list (ListResponse `Resources`). */
export function projectResources(
  type: ResourceType,
  resources: readonly ScimResource[],
  params: ProjectionParams = {},
): ScimResource[] {
  return resources.map((resource) => projectResource(type, resource, params));
}

/**
 * Whether a top-level attribute would appear in the response: lets the api skip loading group members when
 * `excludedAttributes=members` (Entra) or `attributes=displayName`.
 */
export function isAttributeReturned(
  type: ResourceType,
  name: string,
  params: ProjectionParams = {},
): boolean {
  const attribute = type.coreAttribute(name);
  if (!attribute || attribute.returned === 'never') return false;
  if (attribute.returned === 'always') return true;
  if (params.attributes?.length) return select(type, params.attributes).has(attribute.name);
  if (attribute.returned === 'request') return false;
  if (params.excludedAttributes?.length)
    return select(type, params.excludedAttributes).get(attribute.name) !== true;
  return true;
}

function select(type: ResourceType, names: readonly string[]): Selection {
  const selection: Selection = new Map();
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    const path = resolveAttributePath(type, name);
    if (!path) continue;
    if (!path.attribute) {
      selection.set((path.extension as NonNullable<typeof path.extension>).schema.id, true);
      continue;
    }
    const key = path.extension ? `${path.extension.schema.id}:${path.attribute.name}` : path.attribute.name;
    if (!path.sub) {
      selection.set(key, true);
      continue;
    }
    const existing = selection.get(key);
    if (existing === true) continue;
    const subs = existing ?? new Set<string>();
    subs.add(path.sub.name);
    selection.set(key, subs);
  }
  return selection;
}

function projectAttribute(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  included: true | Set<string> | undefined,
  excluded: true | Set<string> | undefined,
  attributesGiven: boolean,
): unknown {
  if (attribute.returned === 'never') return undefined;
  if (attribute.returned === 'always')
    return projectSubs(type, attribute, value, undefined, undefined, false);
  if (attributesGiven) {
    if (!included) return undefined;
    return projectSubs(
      type,
      attribute,
      value,
      included === true ? undefined : included,
      undefined,
      included !== true,
    );
  }
  if (attribute.returned === 'request') return undefined;
  if (excluded === true) return undefined;
  return projectSubs(type, attribute, value, undefined, excluded, false);
}

function projectSubs(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  onlySubs: Set<string> | undefined,
  excludedSubs: Set<string> | undefined,
  restrict: boolean,
): unknown {
  if (attribute.type !== 'complex') return value;
  const project = (element: unknown): unknown => {
    if (!isPlainObject(element)) return element;
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(element)) {
      const sub = type.subAttribute(attribute, key);
      if (!sub || sub.returned === 'never') continue;
      if (sub.returned !== 'always') {
        if (restrict && !onlySubs?.has(sub.name)) continue;
        if (!restrict && sub.returned === 'request') continue;
        if (excludedSubs?.has(sub.name)) continue;
      }
      out[sub.name] = item;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  if (Array.isArray(value)) {
    const items = value.map(project).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  return project(value);
}
