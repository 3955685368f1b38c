import type { ExtensionBinding, ResourceType } from './registry.js';
import type { AttributeDefinition } from './types.js';

/**
 * An attribute path resolved against a resource type (RFC 7644 §3.10 attrPath: `[URI ":"] ATTRNAME ["." subAttr]`).
 * `attribute` is undefined only when the path names a whole extension schema (PATCH `path` or `attributes=`).
 */
export interface ResolvedPath {
  /** The extension the attribute belongs to; undefined for core and common attributes. */
  readonly extension: ExtensionBinding | undefined;
  readonly attribute: AttributeDefinition | undefined;
  readonly sub: AttributeDefinition | undefined;
}

/** The leaf definition: the sub-attribute when there is one, else the attribute. */
export function leafOf(path: ResolvedPath): AttributeDefinition | undefined {
  return path.sub ?? path.attribute;
}

/** Canonical text of a resolved path, e.g. `emails.value` or `urn:…:enterprise:2.0:User:manager.value`. */
export function pathText(path: ResolvedPath): string {
  const local = path.attribute
    ? path.sub
      ? `${path.attribute.name}.${path.sub.name}`
      : path.attribute.name
    : '';
  if (!path.extension) return local;
  return local ? `${path.extension.schema.id}:${local}` : path.extension.schema.id;
}

/**
 * Resolves attribute path text against a resource type, case-insensitively (RFC 7643 §2.1). A URN prefix may
 * name the core schema or an extension; without one the attribute is a core or common attribute. Returns
 * undefined for anything the type does not define; each caller turns that into its own error type.
 */
export function resolveAttributePath(type: ResourceType, text: string): ResolvedPath | undefined {
  const wholeExtension = type.extension(text);
  if (wholeExtension) return { extension: wholeExtension, attribute: undefined, sub: undefined };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return resolveLocal(type, undefined, text);
  const urn = text.slice(0, colon);
  const local = text.slice(colon + 1);
  if (type.isCoreSchema(urn)) return resolveLocal(type, undefined, local);
  const extension = type.extension(urn);
  if (!extension) return undefined;
  return resolveLocal(type, extension, local);
}

/** True when the text carries a schema URN prefix (`urn:` …), i.e. it is addressed to some schema explicitly. */
export function hasUrnPrefix(text: string): boolean {
  return text.length > 4 && text.slice(0, 4).toLowerCase() === 'urn:';
}

function resolveLocal(
  type: ResourceType,
  extension: ExtensionBinding | undefined,
  local: string,
): ResolvedPath | undefined {
  const dot = local.indexOf('.');
  const name = dot < 0 ? local : local.slice(0, dot);
  const subName = dot < 0 ? undefined : local.slice(dot + 1);
  const attribute = extension ? type.extensionAttribute(extension, name) : type.coreAttribute(name);
  if (!attribute) return undefined;
  if (subName === undefined) return { extension, attribute, sub: undefined };
  const sub = type.subAttribute(attribute, subName);
  if (!sub) return undefined;
  return { extension, attribute, sub };
}

/** Resolves a sub-attribute name relative to a complex attribute (inside `emails[...]`). */
export function resolveRelative(
  type: ResourceType,
  parent: ResolvedPath,
  text: string,
): ResolvedPath | undefined {
  if (!parent.attribute) return undefined;
  let local = text;
  // A fully qualified name inside brackets (`emails[urn:…:User:emails.type eq "work"]`) is tolerated if it points back at the parent.
  const colon = text.lastIndexOf(':');
  if (colon >= 0) {
    const full = resolveAttributePath(type, text);
    if (!full || full.attribute !== parent.attribute || !full.sub) return undefined;
    return full;
  }
  const dot = local.indexOf('.');
  if (dot >= 0) {
    if (local.slice(0, dot).toLowerCase() !== parent.attribute.name.toLowerCase()) return undefined;
    local = local.slice(dot + 1);
  }
  const sub = type.subAttribute(parent.attribute, local);
  if (!sub) return undefined;
  return { extension: parent.extension, attribute: parent.attribute, sub };
}
