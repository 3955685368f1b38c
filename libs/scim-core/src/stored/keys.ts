import type { ExtensionBinding } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';

/**
 * The stored form of a case-insensitive value. One function, used when writing the `…Key` fields and when
 * translating filters, so that indexed comparisons and the in-memory evaluator agree exactly.
 */
export function normaliseKey(value: string): string {
  return value.toLowerCase();
}

/** Name of the normalised-key field stored beside an attribute: `userName` → `userNameKey`. */
export function keyFieldName(attributeName: string): string {
  return `${attributeName}Key`;
}

/** Top-level field of an attribute in the stored document: `id` → `_id`, extension attributes under `ext.<alias>`. */
export function storedTopField(
  extension: ExtensionBinding | undefined,
  attribute: AttributeDefinition,
): string {
  if (extension) return `ext.${extension.alias}.${attribute.name}`;
  return attribute.name === 'id' ? '_id' : attribute.name;
}

/** Where an extension's object is stored. */
export function storedExtensionField(extension: ExtensionBinding): string {
  return `ext.${extension.alias}`;
}

/**
 * `$ref` sub-attributes pointing at SCIM resources are computed on output from `value` and the base URL, never
 * stored (FerretDB rejects keys starting with `$`, and the base URL is the api's, not the data's). Other
 * `$ref`s (external URIs) are stored under `ref`.
 */
export function isComputedReference(attribute: AttributeDefinition): boolean {
  return (
    attribute.name === '$ref' && (attribute.referenceTypes ?? []).some((t) => t !== 'external' && t !== 'uri')
  );
}

export function storedSubName(sub: AttributeDefinition): string {
  return sub.name === '$ref' ? 'ref' : sub.name;
}
