import { invalidValue } from '../errors.js';
import { parseDateTime } from '../filter/compile.js';
import type { ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';
import { isComputedReference } from '../stored/keys.js';
import type { MemberRef } from './types.js';

type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Normalises one client-supplied attribute value to its canonical stored-and-returned form, with the
 * tolerances of the interop reference (§1.4): `null` means unassigned (#20), string booleans in any case (#2),
 * a single object for a multi-valued attribute (#18, OneLogin `emails`), a plain string for a complex
 * attribute with a `value` sub-attribute (Entra/OneLogin `manager`). Sub-attribute names are matched
 * case-insensitively and emitted in canonical case; readOnly sub-attributes are dropped (RFC 7644 §3.5.1).
 *
 * Returns undefined for "unassigned" (null, "", [], an object with nothing assigned).
 * @throws ScimError 400 invalidValue naming the attribute and what was expected.
 */
export function normaliseValue(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  path: string,
): unknown {
  if (value === null || value === undefined) return undefined;
  if (attribute.multiValued) {
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    const out: unknown[] = [];
    for (const item of items) {
      const normalised = normaliseSingle(type, attribute, item, path);
      if (normalised !== undefined) out.push(normalised);
    }
    if (out.length === 0) return undefined;
    if (attribute.type === 'complex') checkSinglePrimary(out, path);
    return out;
  }
  if (Array.isArray(value)) {
    // Some clients wrap single values in a one-element array; anything longer is a real mistake.
    if (value.length === 1) return normaliseSingle(type, attribute, value[0], path);
    if (value.length === 0) return undefined;
    throw invalidValue(`"${path}" is single-valued, but an array of ${value.length} values was sent.`);
  }
  return normaliseSingle(type, attribute, value, path);
}

/** Normalises one value of an attribute (one element when the attribute is multi-valued). */
export function normaliseElement(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  path: string,
): unknown {
  return normaliseSingle(type, attribute, value, path);
}

function normaliseSingle(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  path: string,
): unknown {
  if (value === null || value === undefined) return undefined;
  if (attribute.type === 'complex') return normaliseComplex(type, attribute, value, path);
  return normaliseSimple(attribute, value, path);
}

/** Normalises a simple (non-complex) value against its definition. */
export function normaliseSimple(attribute: AttributeDefinition, value: unknown, path: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (attribute.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value !== 'string')
        throw invalidValue(`"${path}" must be a string, but ${describe(value)} was sent.`);
      return value === '' ? undefined : value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      // Entra without aadOptscim062020 sends "True"/"False" (interop table #2).
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw invalidValue(`"${path}" must be a boolean (true or false), but ${describe(value)} was sent.`);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      throw invalidValue(`"${path}" must be an integer, but ${describe(value)} was sent.`);
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      throw invalidValue(`"${path}" must be a number, but ${describe(value)} was sent.`);
    case 'dateTime': {
      const ms =
        typeof value === 'string'
          ? parseDateTime(value)
          : value instanceof Date
            ? value.getTime()
            : undefined;
      if (ms === undefined)
        throw invalidValue(
          `"${path}" must be an xsd:dateTime such as "2011-05-13T04:42:34Z", but ${describe(value)} was sent.`,
        );
      return new Date(ms).toISOString();
    }
    case 'complex':
      throw invalidValue(`"${path}" is complex.`);
  }
}

function normaliseComplex(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  path: string,
): JsonObject | undefined {
  let object: JsonObject;
  if (isPlainObject(value)) {
    object = value;
  } else if (
    (typeof value === 'string' || typeof value === 'number') &&
    type.subAttribute(attribute, 'value')
  ) {
    // `"manager": "26118915-6090-4610-87e4-49d8ca9f808d"` (interop: manager given as a plain id).
    object = { value: typeof value === 'number' ? String(value) : value };
  } else {
    throw invalidValue(`"${path}" must be an object with sub-attributes, but ${describe(value)} was sent.`);
  }
  const out: JsonObject = {};
  for (const [key, raw] of Object.entries(object)) {
    const sub = type.subAttribute(attribute, key);
    if (!sub)
      throw invalidValue(
        `"${path}.${key}" is not a sub-attribute of "${path}" (known: ${attribute.subAttributes?.map((s) => s.name).join(', ')}).`,
      );
    // readOnly sub-attributes (manager.displayName, groups.*) and server-computed `$ref`s are ignored on input.
    if (sub.mutability === 'readOnly' || isComputedReference(sub)) continue;
    const normalised = normaliseSimple(sub, raw, `${path}.${sub.name}`);
    if (normalised !== undefined) out[sub.name] = normalised;
  }
  if (Object.keys(out).length === 0) return undefined;
  for (const sub of attribute.subAttributes ?? []) {
    if (
      sub.required &&
      sub.mutability !== 'readOnly' &&
      !isComputedReference(sub) &&
      out[sub.name] === undefined
    ) {
      throw invalidValue(`"${path}.${sub.name}" is required when "${path}" is given.`);
    }
  }
  return out;
}

/** RFC 7643 §2.4: the primary attribute value `true` MUST appear no more than once. */
export function checkSinglePrimary(elements: readonly unknown[], path: string): void {
  let primaries = 0;
  for (const element of elements) if (isPlainObject(element) && element.primary === true) primaries++;
  if (primaries > 1)
    throw invalidValue(`"${path}" has ${primaries} values marked primary; at most one may be.`);
}

/**
 * Normalises the values of an external attribute (Group `members`, RFC 7643 §4.2): each needs a non-empty `value`;
 * `type` is made canonical (the case of the `type` sub-attribute's canonical values, else of the `$ref`'s
 * reference types: `User`/`Group`) and, when missing, inferred from a `$ref` that has the endpoint of one of
 * the reference types (`…/Groups/g1` → `Group`); `$ref: null` (Entra) is fine. Duplicates collapse.
 */
export function normaliseMembers(
  type: ResourceType,
  attribute: AttributeDefinition,
  value: unknown,
  path: string,
): MemberRef[] {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  const referenceType = referenceTypeOf(type, attribute);
  const byValue = new Map<string, MemberRef>();
  for (const item of items) {
    if (item === null || item === undefined) continue;
    const object: JsonObject = typeof item === 'string' ? { value: item } : isPlainObject(item) ? item : {};
    if (!isPlainObject(item) && typeof item !== 'string')
      throw invalidValue(
        `Each of "${path}" must be an object like {"value": "<id>"}, but ${describe(item)} was sent.`,
      );
    const member: Partial<MemberRef> = {};
    let ref: unknown;
    for (const [key, raw] of Object.entries(object)) {
      const sub = type.subAttribute(attribute, key);
      if (!sub)
        throw invalidValue(
          `"${path}.${key}" is not a sub-attribute of "${path}" (known: ${(attribute.subAttributes ?? []).map((s) => s.name).join(', ')}).`,
        );
      if (sub.name === '$ref') ref = raw;
      else if (raw !== null && raw !== undefined) {
        if (typeof raw !== 'string')
          throw invalidValue(`"${path}.${sub.name}" must be a string, but ${describe(raw)} was sent.`);
        if (raw !== '') member[sub.name as 'value' | 'type' | 'display'] = raw;
      }
    }
    if (!member.value) throw invalidValue(`Each of "${path}" needs a non-empty "value" (the member's id).`);
    const canonicalType = referenceType(member.type, ref);
    const out: MemberRef = { value: member.value };
    if (canonicalType) out.type = canonicalType;
    if (member.display) out.display = member.display;
    byValue.set(out.value, out);
  }
  return [...byValue.values()];
}

/**
 * The canonical `type` of one value of an external attribute, from what the client sent as `type` or else as
 * `$ref`. A `$ref` names the reference type whose endpoint (from the type's registry) stands in it last
 * (`https://h/scim/v2/Groups/g1` → `Group`), and only where that is a valid `type`.
 */
function referenceTypeOf(
  type: ResourceType,
  attribute: AttributeDefinition,
): (typeValue: string | undefined, ref: unknown) => string | undefined {
  const typeSub = type.subAttribute(attribute, 'type');
  const refSub = attribute.subAttributes?.find(isComputedReference);
  const referenced = (refSub?.referenceTypes ?? []).filter((t) => t !== 'external' && t !== 'uri');
  const canonical = typeSub?.canonicalValues ?? referenced;
  const endpoints = type.endpoints;
  const inferable = typeSub
    ? referenced.flatMap((name) => {
        const endpoint = endpoints[name];
        const valid = !typeSub.canonicalValues || typeSub.canonicalValues.includes(name);
        return endpoint && valid ? [{ name, segment: `${endpoint.toLowerCase()}/` }] : [];
      })
    : [];
  return (typeValue, ref) => {
    if (typeValue) {
      const lower = typeValue.toLowerCase();
      return canonical.find((c) => c.toLowerCase() === lower) ?? typeValue;
    }
    if (typeof ref !== 'string') return undefined;
    const lowerRef = ref.toLowerCase();
    let best: { name: string; at: number } | undefined;
    for (const { name, segment } of inferable) {
      const at = lowerRef.lastIndexOf(segment);
      if (at >= 0 && (!best || at > best.at)) best = { name, at };
    }
    return best?.name;
  };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
