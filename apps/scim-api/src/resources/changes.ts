import { deepEqual, type ScimResource } from '@scimbridge/scim-core';

/**
 * Top-level attributes whose value differs (for the audit event of a PUT); `meta`, `id`, `schemas` are not data.
 * Compared structurally: the stored resource and the request list an object's members in different orders, and an
 * unchanged PUT must change nothing (no version, no event).
 */
export function changedTopLevel(before: ScimResource, after: ScimResource): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter(
    (key) => key !== 'meta' && key !== 'id' && key !== 'schemas' && !deepEqual(before[key], after[key]),
  );
}
