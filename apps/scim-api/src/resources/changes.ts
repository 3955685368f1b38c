import type { ScimResource } from '@scimbridge/scim-core';

/** Top-level attributes whose value differs (for the audit event of a PUT); `meta`, `id`, `schemas` are not data. */
export function changedTopLevel(before: ScimResource, after: ScimResource): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter(
    (key) =>
      key !== 'meta' &&
      key !== 'id' &&
      key !== 'schemas' &&
      JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}
