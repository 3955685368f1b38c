/** `meta` as rendered on the wire (RFC 7643 §3.1). */
export interface ScimMeta {
  resourceType: string;
  created?: string;
  lastModified?: string;
  location?: string;
  version?: string;
}

/**
 * A SCIM resource in wire shape with canonical attribute names: core attributes at the top level, extension
 * attributes under the extension's schema URN (`"urn:…:enterprise:2.0:User": {…}`).
 */
export interface ScimResource {
  schemas?: string[];
  id?: string;
  externalId?: string;
  meta?: ScimMeta;
  [attribute: string]: unknown;
}

/** One member of a group as the api stores it in the membership collection (`$ref` is computed on output). */
export interface MemberRef {
  value: string;
  /** `User` or `Group` (RFC 7643 §4.2 canonical values); absent when the client did not say. */
  type?: string;
  /** readOnly per RFC 7643 §4.2: what the client sent, usable as a hint; the api may compute it instead. */
  display?: string;
}

/**
 * A change to a group's membership as a set delta, so the store applies it atomically (`$addToSet`-style
 * inserts and deletes on the membership collection) instead of rewriting a member array (interop table #22).
 * With `replaceAll` the group's members become exactly that list and `add`/`remove` are empty.
 */
export interface MembershipDelta {
  add: MemberRef[];
  remove: string[];
  replaceAll?: MemberRef[];
}
