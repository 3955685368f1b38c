/**
 * Weak ETags from the integer resource version (RFC 7644 §3.14, RFC 9110 §8.8.3): `W/"3"`. The version is what
 * the store compares for optimistic concurrency; the ETag is only its rendering.
 */
export function etagFromVersion(version: number): string {
  return `W/"${version}"`;
}

/** Reads a version back from `W/"3"`, `"3"` or `3`; undefined if the tag is not one of ours. */
export function parseEtag(tag: string): number | undefined {
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(tag);
  return match ? Number(match[1]) : undefined;
}

/** A parsed `If-Match` / `If-None-Match` header: `*`, or a list of entity tags. */
export type EtagCondition = { any: true } | { any: false; versions: number[]; unparsed: string[] };

/**
 * Parses `If-Match` / `If-None-Match` (RFC 9110 §13.1.1–2): `*` or a comma-separated list of (weak or strong)
 * entity tags. Tags that are not ours are kept in `unparsed`: they can never match a resource of ours.
 */
export function parseEtagCondition(header: string | undefined): EtagCondition | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (trimmed === '') return undefined;
  if (trimmed === '*') return { any: true };
  const versions: number[] = [];
  const unparsed: string[] = [];
  for (const match of trimmed.matchAll(/(?:W\/)?"[^"]*"|[^,\s]+/g)) {
    const tag = match[0];
    const version = parseEtag(tag);
    if (version === undefined) unparsed.push(tag);
    else versions.push(version);
  }
  return { any: false, versions, unparsed };
}

/**
 * `If-Match` on PUT/PATCH/DELETE (RFC 7644 §3.14): true when the request may proceed. Weak comparison is used
 * because our tags are weak. A false result means `412 Precondition Failed`.
 */
export function ifMatchSatisfied(header: string | undefined, currentVersion: number | undefined): boolean {
  const condition = parseEtagCondition(header);
  if (!condition) return true;
  if (currentVersion === undefined) return false;
  return condition.any || condition.versions.includes(currentVersion);
}

/** `If-None-Match` on GET: true when the client's copy is current, i.e. answer `304 Not Modified`. */
export function ifNoneMatchMatches(header: string | undefined, currentVersion: number | undefined): boolean {
  const condition = parseEtagCondition(header);
  if (!condition || currentVersion === undefined) return false;
  return condition.any || condition.versions.includes(currentVersion);
}
