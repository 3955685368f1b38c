import { invalidValue } from '../errors.js';
import { comparisonOf } from '../filter/compile.js';
import { pathText, resolveAttributePath } from '../schema/attribute-path.js';
import type { ResourceType } from '../schema/registry.js';
import { keyFieldName, storedSubName, storedTopField } from '../stored/keys.js';

export type SortOrder = 'ascending' | 'descending';

/** A resolved sort: the stored field, its direction, and the Mongo sort document (with `_id` as tie-breaker). */
export interface SortSpec {
  /** Stored field the sort uses (`userNameKey`, `meta.lastModified`, `_id`). */
  field: string;
  direction: 1 | -1;
  /** `{ [field]: direction, _id: direction }`: `_id` makes the order total, so pages are stable (Okta pages with startIndex). */
  mongo: Record<string, 1 | -1>;
  /** The canonical attribute path sorted on, or undefined for the default order. */
  attribute?: string;
}

/**
 * RFC 7644 §3.4.2.3 `sortBy` / `sortOrder` to a Mongo sort over the stored shape. Case-insensitive attributes
 * sort on their normalised key where one is stored. Without `sortBy` the order is by `_id` (time-ordered UUIDv7
 * ids give creation order). Multi-valued attributes sort by the smallest (ascending) or largest value, as MongoDB does.
 *
 * @throws ScimError 400 invalidValue for an unknown or unsortable attribute or a bad `sortOrder`.
 */
export function sortSpec(
  type: ResourceType,
  sortBy: string | undefined,
  sortOrder: string | undefined,
): SortSpec {
  const direction = parseSortOrder(sortOrder) === 'descending' ? -1 : 1;
  if (!sortBy) return { field: '_id', direction, mongo: { _id: direction } };
  const path = resolveAttributePath(type, sortBy.trim());
  if (!path?.attribute) throw invalidValue(`sortBy: "${sortBy}" is not an attribute of ${type.name}.`);
  const attribute = path.attribute;
  let sub = path.sub;
  if (!sub && attribute.type === 'complex') {
    sub = type.subAttribute(attribute, 'value');
    if (!sub) throw invalidValue(`sortBy: "${sortBy}" is complex; name one of its sub-attributes.`);
  }
  const leaf = sub ?? attribute;
  if (
    type.isExternal(attribute) ||
    leaf.returned === 'never' ||
    (!path.extension &&
      attribute.name === 'meta' &&
      (sub?.name === 'location' || sub?.name === 'version' || sub?.name === 'resourceType')) ||
    (!path.extension && attribute.name === 'schemas') ||
    leaf.name === '$ref'
  ) {
    throw invalidValue(`sortBy: "${pathText(path)}" cannot be sorted on.`);
  }
  let field = storedTopField(path.extension, attribute);
  if (sub) field += `.${storedSubName(sub)}`;
  if (comparisonOf(type, leaf) === 'key') {
    const dot = field.lastIndexOf('.');
    field = `${dot < 0 ? '' : field.slice(0, dot + 1)}${keyFieldName(leaf.name)}`;
  }
  const mongo: Record<string, 1 | -1> =
    field === '_id' ? { _id: direction } : { [field]: direction, _id: direction };
  return { field, direction, mongo, attribute: pathText({ ...path, sub }) };
}

export function parseSortOrder(sortOrder: string | undefined): SortOrder {
  if (sortOrder === undefined || sortOrder === '') return 'ascending';
  const lower = sortOrder.toLowerCase();
  if (lower === 'ascending' || lower === 'descending') return lower;
  throw invalidValue(`sortOrder must be "ascending" or "descending", not ${JSON.stringify(sortOrder)}.`);
}
