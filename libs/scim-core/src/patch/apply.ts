import { invalidValue, isScimError, limitExceeded, mutability, noTarget, type ScimError } from '../errors.js';
import { DEFAULT_PATCH_LIMITS, type PatchLimits } from '../limits.js';
import type { FilterNode } from '../filter/ast.js';
import { evaluateCompiled } from '../filter/evaluate.js';
import { hasUrnPrefix, resolveAttributePath, type ResolvedPath } from '../schema/attribute-path.js';
import type { ExtensionBinding, ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';
import {
  checkSinglePrimary,
  describe,
  isPlainObject,
  normaliseElement,
  normaliseMembers,
  normaliseSimple,
  normaliseValue,
} from '../resource/normalise.js';
import type { MemberRef, MembershipDelta, ScimResource } from '../resource/types.js';
import { checkRequired, containerFor, orderResource, schemasOf } from '../resource/validate.js';
import { cloneJson, deepEqual, extensionEntries } from '../resource/values.js';
import { MembershipChanges } from './members.js';
import { equalityTerms, parsePatchPath, type PatchPath } from './path.js';
import { parsePatchRequest, type PatchOperation } from './request.js';

type JsonObject = Record<string, unknown>;

export interface ApplyPatchOptions {
  /**
   * The current values of the type's writable external attribute ({@link ResourceType.writableExternalAttribute}:
   * a group's members). Needed only when {@link patchNeedsMembers} says so (a filter on something other than
   * `value`); otherwise changes are computed as deltas without them.
   */
  members?: readonly MemberRef[];
  /** The cost limits (docs/api.md "Limits"); default `DEFAULT_PATCH_LIMITS`. */
  limits?: PatchLimits;
}

export interface PatchResult {
  /** The patched resource (canonical; external attributes such as `members` are not in it). */
  resource: ScimResource;
  /** Canonical names of the attributes whose value changed (`active`, `name`, `urn:…:User:manager`, `members`), for audit events. */
  changed: string[];
  /**
   * Set delta for the type's writable external attribute (Group `members`), when any operation touched it. A type
   * has at most one; operations on a readOnly external attribute (User `groups`) are refused (400 mutability).
   */
  members?: MembershipDelta;
}

/**
 * Applies a PATCH (RFC 7644 §3.5.2) to a resource: operations in order, atomically (the input is never
 * modified; the first failing operation throws and nothing is applied), with the IdP shapes of the interop
 * reference: op names in any case, no-path add/replace with dotted and URN keys, readOnly `id`/`meta` in
 * values ignored, `members` removal by value list or `[value eq …]`, filtered add/replace that creates the
 * element Entra expects, and a PATCH that changes nothing succeeding.
 *
 * @param request a `PatchRequest` from `parsePatchRequest`, or the raw body (then validated here).
 * @throws ScimError 400 noTarget / invalidPath / mutability / invalidValue / invalidSyntax; the detail starts
 *   with the failing operation, e.g. `Operations[1] (replace "emails[type eq \"work\"].value"): …`.
 */
export function applyPatch(
  type: ResourceType,
  current: ScimResource,
  request: unknown,
  options: ApplyPatchOptions = {},
): PatchResult {
  const limits = options.limits ?? DEFAULT_PATCH_LIMITS;
  const patch = parsePatchRequest(request, limits);
  const resource = cloneJson(current);
  const attachedMembers = extractExternal(type, resource);
  const external = type.writableExternalAttribute;
  const membership = new MembershipChanges(options.members ?? attachedMembers);
  const engine = new PatchEngine(
    type,
    resource,
    membership,
    new VisitBudget(limits.maxValueVisits),
    limits.maxAttributeValues,
  );
  patch.Operations.forEach((operation, index) => {
    try {
      engine.apply(operation);
      checkRequired(type, resource);
    } catch (error) {
      if (!isScimError(error)) throw error;
      const where = operation.path ? ` "${operation.path}"` : '';
      throw error.withDetailPrefix(`Operations[${index}] (${operation.op}${where}): `);
    }
  });
  resource.schemas = schemasOf(type, resource);
  checkAttributeSizes(type, resource, limits.maxAttributeValues);
  const delta = membership.toDelta();
  if (delta) checkMemberChanges(delta, limits.maxMemberChanges);
  const changed = changedAttributes(type, current, resource);
  if (external && delta && membersChanged(delta, options.members ?? attachedMembers))
    changed.push(external.name);
  return { resource: orderResource(resource), changed, ...(delta ? { members: delta } : {}) };
}

/**
 * True when applying this PATCH needs the current values of an external attribute (a group's members): a `remove`
 * whose filter on it cannot be reduced to a list of ids (`members[display co "x"]`, `members[type eq "Group"]`).
 * The api loads members only then.
 */
export function patchNeedsMembers(
  type: ResourceType,
  request: unknown,
  limits: PatchLimits = DEFAULT_PATCH_LIMITS,
): boolean {
  const patch = parsePatchRequest(request, limits);
  return patch.Operations.some((operation) => {
    if (operation.op !== 'remove' || !operation.path) return false;
    const open = operation.path.indexOf('[');
    if (open < 0) return false;
    const target = resolveAttributePath(type, operation.path.slice(0, open));
    if (!target?.attribute || !type.isExternal(target.attribute)) return false;
    const path = parsePatchPath(type, operation.path);
    return !path.filter || memberIds(path.filter.ast, target.attribute) === undefined;
  });
}

/**
 * Removes external attributes (members the api may have attached) from the working copy; returns the values of
 * the writable one, if attached.
 */
function extractExternal(type: ResourceType, resource: ScimResource): MemberRef[] | undefined {
  let members: MemberRef[] | undefined;
  for (const attribute of type.externalAttributes) {
    const value = resource[attribute.name];
    if (attribute === type.writableExternalAttribute && Array.isArray(value))
      members = normaliseMembers(type, attribute, value, attribute.name);
    delete resource[attribute.name];
  }
  return members;
}

function changedAttributes(type: ResourceType, before: ScimResource, after: ScimResource): string[] {
  const changed: string[] = [];
  for (const attribute of type.coreAttributes) {
    if (
      attribute.name === 'meta' ||
      attribute.name === 'schemas' ||
      attribute.name === 'id' ||
      type.isExternal(attribute)
    )
      continue;
    if (!deepEqual(before[attribute.name], after[attribute.name])) changed.push(attribute.name);
  }
  for (const extension of type.extensions) {
    const a = containerFor(before, extension, false);
    const b = containerFor(after, extension, false);
    for (const attribute of extension.schema.attributes) {
      if (!deepEqual(a?.[attribute.name], b?.[attribute.name]))
        changed.push(`${extension.schema.id}:${attribute.name}`);
    }
  }
  return changed;
}

function membersChanged(delta: MembershipDelta, current: readonly MemberRef[] | undefined): boolean {
  if (!current) return delta.replaceAll !== undefined || delta.add.length > 0 || delta.remove.length > 0;
  const ids = new Set(current.map((m) => m.value));
  if (delta.replaceAll)
    return delta.replaceAll.length !== ids.size || delta.replaceAll.some((m) => !ids.has(m.value));
  return delta.add.some((m) => !ids.has(m.value)) || delta.remove.some((id) => ids.has(id));
}

/**
 * RFC 7644 leaves sizes to the service provider: a multi-valued attribute holds at most `max` values after a write,
 * so one organisation cannot grow a document (and every later read and PATCH of it) without bound.
 */
export function checkAttributeSizes(type: ResourceType, resource: ScimResource, max: number): void {
  const check = (
    container: JsonObject | undefined,
    attributes: readonly AttributeDefinition[],
    prefix: string,
  ) => {
    if (!container) return;
    for (const attribute of attributes) {
      const value = container[attribute.name];
      if (attribute.multiValued && Array.isArray(value) && value.length > max)
        throw attributeTooLarge(`${prefix}${attribute.name}`, value.length, max);
    }
  };
  check(resource, type.coreAttributes, '');
  for (const extension of type.extensions)
    check(containerFor(resource, extension, false), extension.schema.attributes, `${extension.schema.id}:`);
}

function attributeTooLarge(name: string, values: number, max: number): ScimError {
  return limitExceeded(
    'attribute_too_many_values',
    400,
    'invalidValue',
    `"${name}" would hold ${values} values; at most ${max} are accepted.`,
  );
}

/** Members added plus removed by one request, at most `max` (advertised in docs/api.md "Limits"). */
export function checkMemberChanges(delta: MembershipDelta, max: number): void {
  const changes = (delta.replaceAll?.length ?? 0) + delta.add.length + delta.remove.length;
  if (changes > max)
    throw limitExceeded(
      'patch_too_many_values',
      413,
      undefined,
      `The request changes ${changes} members; at most ${max} are accepted per request. Send several requests.`,
    );
}

/** Counts the values of multi-valued attributes that operations visit (`PatchLimits.maxValueVisits`). */
class VisitBudget {
  private used = 0;

  constructor(private readonly max: number) {}

  charge(values: number): void {
    this.used += values;
    if (this.used > this.max)
      throw limitExceeded(
        'patch_too_costly',
        400,
        'invalidValue',
        `The PATCH would visit more than ${this.max} attribute values (filtered operations visit every value); send fewer filtered operations per request.`,
      );
  }
}

/**
 * Ids named by a filter on an external attribute made only of `value eq "…"` (or `members.value eq "…"`) joined
 * by `or`; undefined for anything else.
 */
function memberIds(filter: FilterNode, attribute: AttributeDefinition): string[] | undefined {
  if (filter.type === 'or') {
    const left = memberIds(filter.left, attribute);
    const right = memberIds(filter.right, attribute);
    return left && right ? [...left, ...right] : undefined;
  }
  if (filter.type === 'compare' && filter.op === 'eq' && typeof filter.value === 'string') {
    const name = filter.attribute.toLowerCase();
    if (name === 'value' || name === `${attribute.name.toLowerCase()}.value`) return [filter.value];
  }
  return undefined;
}

class PatchEngine {
  /** Arrays this PATCH created, with the comparison keys of their values: appends stay linear in what they add. */
  private readonly owned = new WeakMap<unknown[], Set<string>>();

  constructor(
    private readonly type: ResourceType,
    private readonly resource: ScimResource,
    private readonly membership: MembershipChanges,
    private readonly budget: VisitBudget,
    private readonly maxAttributeValues: number,
  ) {}

  apply(operation: PatchOperation): void {
    if (!operation.path) {
      if (operation.op === 'remove')
        throw noTarget('"remove" needs a "path" naming what to remove (RFC 7644 §3.5.2.2).');
      this.applyWithoutPath(operation.op, operation.value);
      return;
    }
    const path = parsePatchPath(this.type, operation.path);
    this.applyAt(operation.op, path, operation.value, false);
  }

  /**
   * RFC 7644 §3.5.2.1/3 without `path`: `value` is an object of attribute → value. Keys may be dotted
   * (`name.givenName`) or URN-qualified, as Entra's aadOptscim062020 sends (interop table #4); readOnly keys
   * (`id`, `meta`, `groups`) are ignored because Okta and Entra echo them (#5).
   */
  private applyWithoutPath(op: 'add' | 'replace', value: unknown): void {
    if (!isPlainObject(value))
      throw invalidValue(
        `Without "path", "value" must be an object of attributes, but ${describe(value)} was sent.`,
      );
    for (const [key, item] of Object.entries(value)) {
      if (key.toLowerCase() === 'schemas') continue;
      const target = resolveAttributePath(this.type, key);
      if (!target) {
        if (hasUrnPrefix(key)) continue; // data for a schema this server does not register
        throw invalidValue(`"${key}" is not an attribute of ${this.type.name}.`);
      }
      if (!target.attribute) {
        this.applyToExtension(op, target.extension as ExtensionBinding, item, true);
        continue;
      }
      if (isIgnoredOnInput(target)) continue;
      this.applyAt(op, { text: key, target }, item, true);
    }
  }

  private applyToExtension(
    op: 'add' | 'replace' | 'remove',
    extension: ExtensionBinding,
    value: unknown,
    lenient: boolean,
  ): void {
    if (op === 'remove') {
      delete this.resource[extension.schema.id];
      return;
    }
    if (value === null) {
      if (op === 'replace') delete this.resource[extension.schema.id];
      return;
    }
    if (!isPlainObject(value))
      throw invalidValue(
        `"${extension.schema.id}" must be an object of extension attributes, but ${describe(value)} was sent.`,
      );
    for (const [key, item] of extensionEntries(value)) {
      const attribute = this.type.extensionAttribute(extension, key);
      if (!attribute)
        throw invalidValue(`"${key}" is not an attribute of the extension ${extension.schema.id}.`);
      const target: ResolvedPath = { extension, attribute, sub: undefined };
      if (lenient && isIgnoredOnInput(target)) continue;
      this.applyAt(op, { text: `${extension.schema.id}:${attribute.name}`, target }, item, lenient);
    }
  }

  private applyAt(
    op: 'add' | 'replace' | 'remove',
    path: PatchPath,
    value: unknown,
    fromValueObject: boolean,
  ): void {
    const { target } = path;
    if (!target.attribute) {
      this.applyToExtension(op, target.extension as ExtensionBinding, value, false);
      return;
    }
    const attribute = target.attribute;
    const leaf = path.valueSub ?? target.sub ?? attribute;
    if (attribute.mutability === 'writeOnly' || leaf.mutability === 'writeOnly') return; // password: accepted, never stored
    if (this.type.isExternal(attribute)) {
      this.applyToExternal(op, path, value);
      return;
    }
    if (attribute.mutability === 'readOnly' || leaf.mutability === 'readOnly') {
      if (fromValueObject) return;
      throw mutability(`"${path.text}" is readOnly and cannot be modified (RFC 7643 §2.2).`);
    }
    const container = containerFor(this.resource, target.extension, op !== 'remove');
    if (!container) return; // removing from an extension with no data: nothing to do
    if (path.filter) this.applyFiltered(op, path, container, attribute, value);
    else if (target.sub) this.applySub(op, path, container, attribute, target.sub, value);
    else this.applyWhole(op, path, container, attribute, value);
    if (target.extension && Object.keys(container).length === 0)
      delete this.resource[target.extension.schema.id];
  }

  /** `path` names a whole attribute (`active`, `name`, `emails`, `urn:…:User:manager`). */
  private applyWhole(
    op: 'add' | 'replace' | 'remove',
    path: PatchPath,
    container: JsonObject,
    attribute: AttributeDefinition,
    value: unknown,
  ): void {
    const name = attribute.name;
    const before = container[name];
    if (op === 'remove') {
      if (attribute.multiValued && value !== undefined && value !== null && Array.isArray(before)) {
        // `remove` with a value list removes just those values (Entra's member-removal shape, generalised).
        const doomed = normaliseValue(this.type, attribute, value, path.text) as unknown[] | undefined;
        this.budget.charge(before.length);
        const matcher = new ElementMatcher(this.type, attribute, doomed ?? []);
        const kept = (before as unknown[]).filter((element) => !matcher.matches(element));
        this.checkImmutable(attribute, before, kept.length > 0 ? kept : undefined, path);
        set(container, name, kept.length > 0 ? kept : undefined);
        return;
      }
      this.checkImmutable(attribute, before, undefined, path);
      delete container[name];
      return;
    }
    // More values than the attribute may ever hold is refused before any of them is normalised or compared.
    if (attribute.multiValued && Array.isArray(value) && value.length > this.maxAttributeValues)
      throw attributeTooLarge(path.text, value.length, this.maxAttributeValues);
    const normalised = normaliseValue(this.type, attribute, value, path.text);
    let next: unknown;
    if (attribute.multiValued) {
      const incoming = (normalised as unknown[] | undefined) ?? [];
      if (op === 'replace' || !Array.isArray(before)) {
        next = incoming.length > 0 ? incoming : op === 'replace' ? undefined : before;
      } else {
        // RFC 7644 §3.5.2.1: add appends; an equal value already present is not duplicated.
        const merged = this.appendable(before as unknown[], attribute.mutability === 'immutable');
        const keys = this.owned.get(merged) as Set<string>;
        for (const element of incoming) {
          const key = canonicalJson(element);
          if (keys.has(key)) continue;
          keys.add(key);
          merged.push(element);
        }
        // `incoming` was checked for a single primary when normalised; one new primary demotes the others.
        next = incoming.some((e) => isPlainObject(e) && e.primary === true)
          ? this.chargeAll(withSinglePrimary(merged, incoming))
          : merged;
      }
      if (Array.isArray(next) && next !== before && op === 'replace') checkSinglePrimary(next, path.text);
    } else if (attribute.type === 'complex' && isPlainObject(before) && isPlainObject(normalised)) {
      // RFC 7644 §3.5.2.1/3: sub-attributes not in the value are left unchanged, for add and replace alike.
      next = { ...before, ...normalised };
      if (isPlainObject(value))
        for (const [key, v] of Object.entries(value))
          if (v === null) delete (next as JsonObject)[this.type.subAttribute(attribute, key)?.name ?? key];
    } else {
      next = normalised;
    }
    this.checkImmutable(attribute, before, next, path);
    set(container, name, next);
  }

  /** `path` names a sub-attribute without a filter (`name.givenName`, `emails.type`). */
  private applySub(
    op: 'add' | 'replace' | 'remove',
    path: PatchPath,
    container: JsonObject,
    attribute: AttributeDefinition,
    sub: AttributeDefinition,
    value: unknown,
  ): void {
    const name = attribute.name;
    const before = container[name];
    if (!attribute.multiValued) {
      const current = isPlainObject(before) ? { ...before } : {};
      if (op === 'remove' || value === null) delete current[sub.name];
      else current[sub.name] = value;
      const next = normaliseValue(this.type, attribute, current, path.text);
      this.checkImmutable(attribute, before, next, path);
      set(container, name, next);
      return;
    }
    // A sub-attribute of every value of a multi-valued attribute.
    const elements = Array.isArray(before) ? (before as JsonObject[]) : [];
    this.budget.charge(elements.length);
    if (op === 'remove') {
      const kept = elements.map((e) => withoutKey(e, sub.name)).filter((e) => Object.keys(e).length > 0);
      set(container, name, kept.length > 0 ? kept : undefined);
      return;
    }
    const subValue = normaliseSimple(sub, value, path.text);
    const next =
      elements.length > 0
        ? elements.map((e) => ({ ...e, [sub.name]: subValue }))
        : [{ [sub.name]: subValue }];
    const normalised = next
      .map((e) => normaliseElement(this.type, attribute, e, path.text))
      .filter((e) => e !== undefined);
    checkSinglePrimary(normalised, path.text);
    set(container, name, normalised.length > 0 ? normalised : undefined);
  }

  /** `path` has a value filter: `emails[type eq "work"]` or `emails[type eq "work"].value`. */
  private applyFiltered(
    op: 'add' | 'replace' | 'remove',
    path: PatchPath,
    container: JsonObject,
    attribute: AttributeDefinition,
    value: unknown,
  ): void {
    const filter = path.filter as NonNullable<PatchPath['filter']>;
    const name = attribute.name;
    const before = container[name];
    const elements: unknown[] = attribute.multiValued
      ? Array.isArray(before)
        ? [...(before as unknown[])]
        : []
      : isPlainObject(before)
        ? [before]
        : [];
    this.budget.charge(elements.length);
    const matches = elements.map((e) => isPlainObject(e) && evaluateCompiled(filter.compiled, e));
    const sub = path.valueSub;
    if (op === 'remove') {
      // Nothing matched: nothing to remove. Succeeding keeps IdP retries idempotent (a second identical remove).
      const next: unknown[] = [];
      elements.forEach((element, i) => {
        if (!matches[i]) next.push(element);
        else if (sub) {
          const trimmed = withoutKey(element as JsonObject, sub.name);
          if (Object.keys(trimmed).length > 0) next.push(trimmed);
        }
      });
      this.store(container, attribute, next, path);
      return;
    }
    const newPrimaries: unknown[] = [];
    if (!matches.includes(true)) {
      // RFC 7644 §3.5.2.3 says noTarget; Entra expects `Replace phoneNumbers[type eq "work"].value` on a user
      // without a work phone to create it (interop table #9), else the whole atomic PATCH fails.
      const terms = equalityTerms(this.type, attribute, filter.ast);
      if (!terms)
        throw noTarget(
          `No value of "${name}" matches the filter, and the filter does not say how to create one (use eq terms joined by "and").`,
        );
      const created = sub
        ? { ...terms, [sub.name]: value }
        : { ...terms, ...(isPlainObject(value) ? value : { value }) };
      const element = normaliseElement(this.type, attribute, created, path.text);
      if (element === undefined) return;
      elements.push(element);
      newPrimaries.push(element);
    } else {
      elements.forEach((element, i) => {
        if (!matches[i]) return;
        const current = element as JsonObject;
        let updated: unknown;
        if (sub) {
          updated = normaliseElement(
            this.type,
            attribute,
            value === null ? withoutKey(current, sub.name) : { ...current, [sub.name]: value },
            path.text,
          );
        } else if (op === 'replace') {
          // The value replaces the matched element (RFC 7644 §3.5.2.3); the filter's eq terms are kept so the element stays addressable.
          const terms = equalityTerms(this.type, attribute, filter.ast) ?? {};
          updated =
            value === null
              ? undefined
              : normaliseElement(
                  this.type,
                  attribute,
                  { ...terms, ...asObject(value, path.text) },
                  path.text,
                );
        } else {
          updated = normaliseElement(
            this.type,
            attribute,
            { ...current, ...asObject(value, path.text) },
            path.text,
          );
        }
        elements[i] = updated;
        if (updated !== undefined) newPrimaries.push(updated);
      });
    }
    const next = elements.filter((e) => e !== undefined);
    this.store(
      container,
      attribute,
      attribute.multiValued ? withSinglePrimary(next, newPrimaries) : next,
      path,
    );
  }

  private store(
    container: JsonObject,
    attribute: AttributeDefinition,
    elements: unknown[],
    path: PatchPath,
  ): void {
    const before = container[attribute.name];
    const next = attribute.multiValued ? (elements.length > 0 ? elements : undefined) : elements[0];
    if (attribute.multiValued && Array.isArray(next)) checkSinglePrimary(next, path.text);
    this.checkImmutable(attribute, before, next, path);
    set(container, attribute.name, next);
  }

  /**
   * The array to append to: the one this PATCH already made (its keys kept), or a copy of the stored one, made
   * once per attribute and PATCH, so a run of single-value adds costs what it adds, not size × operations.
   */
  private appendable(before: unknown[], copyAlways: boolean): unknown[] {
    // An immutable attribute is compared with its value before the operation, so it is never appended in place.
    if (this.owned.has(before) && !copyAlways) return before;
    this.budget.charge(before.length);
    const copy = [...before];
    this.owned.set(copy, new Set(copy.map(canonicalJson)));
    return copy;
  }

  private chargeAll<T extends unknown[]>(elements: T): T {
    this.budget.charge(elements.length);
    return elements;
  }

  /** RFC 7643 §2.2 immutable: may be set once when unassigned, never changed or removed afterwards. */
  private checkImmutable(
    attribute: AttributeDefinition,
    before: unknown,
    after: unknown,
    path: PatchPath,
  ): void {
    if (attribute.mutability !== 'immutable' || before === undefined || deepEqual(before, after)) return;
    throw mutability(`"${path.text}" is immutable: it cannot change once set.`);
  }

  /**
   * An external attribute (Group `members`): never rewritten as an array; each operation becomes part of the set
   * delta. A readOnly one (User `groups`) is the other side of a writable one, which the message names.
   */
  private applyToExternal(op: 'add' | 'replace' | 'remove', path: PatchPath, value: unknown): void {
    const attribute = path.target.attribute as AttributeDefinition;
    if (attribute.mutability === 'readOnly')
      throw mutability(
        `"${path.text}" is readOnly: change memberships through the ${owners(attribute)} resource.`,
      );
    if (path.target.sub || (path.valueSub && op !== 'remove')) {
      throw mutability(
        `"${path.text}": the sub-attributes of a member are immutable; add or remove the member instead.`,
      );
    }
    if (path.filter) {
      if (op !== 'remove')
        throw mutability(`"${path.text}": members cannot be modified in place; add or remove them instead.`);
      if (path.valueSub)
        throw mutability(
          `"${path.text}": the sub-attributes of a member are immutable; remove the member instead.`,
        );
      const ids = memberIds(path.filter.ast, attribute);
      if (ids) {
        this.membership.remove(ids);
        return;
      }
      const current = this.membership.currentMembers;
      if (!current)
        throw new Error(
          'applyPatch: this member filter needs the current members; check patchNeedsMembers() and pass options.members',
        );
      const compiled = path.filter.compiled;
      this.budget.charge(current.length);
      this.membership.remove(
        current.filter((m) => evaluateCompiled(compiled, m as unknown as JsonObject)).map((m) => m.value),
      );
      return;
    }
    if (op === 'remove') {
      if (value === undefined || value === null) {
        this.membership.replaceAll([]); // RFC 7644 §3.5.2.2: remove without a filter removes all values
        return;
      }
      // Entra's default shape: remove with a value list and no filter removes exactly those members (interop table #6).
      this.membership.remove(
        normaliseMembers(this.type, attribute, value, attribute.name).map((m) => m.value),
      );
      return;
    }
    const members = normaliseMembers(this.type, attribute, value, attribute.name);
    if (op === 'replace') this.membership.replaceAll(members);
    else this.membership.add(members);
  }
}

/** The resource types a readOnly external attribute references (User `groups` → `Group`): where it is changed. */
function owners(attribute: AttributeDefinition): string {
  const ref = attribute.subAttributes?.find((s) => s.name === '$ref');
  const types = (ref?.referenceTypes ?? []).filter((t) => t !== 'external' && t !== 'uri');
  return types.length > 0 ? types.join(' or ') : 'referenced';
}

function isIgnoredOnInput(target: ResolvedPath): boolean {
  const attribute = target.attribute as AttributeDefinition;
  const leaf = target.sub ?? attribute;
  return attribute.mutability === 'readOnly' || leaf.mutability === 'readOnly';
}

function set(container: JsonObject, key: string, value: unknown): void {
  if (value === undefined) delete container[key];
  else container[key] = value;
}

function withoutKey(object: JsonObject, key: string): JsonObject {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

function asObject(value: unknown, path: string): JsonObject {
  if (isPlainObject(value)) return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { value };
  throw invalidValue(`"${path}" needs an object value, but ${describe(value)} was sent.`);
}

/**
 * RFC 7644 §3.5.2: setting `primary` true on a value makes the server set it false on the others. If the
 * operation itself brings more than one primary value, that stays an error (checked by the caller).
 */
function withSinglePrimary(elements: unknown[], incoming: readonly unknown[]): unknown[] {
  const newPrimary = incoming.filter((e) => isPlainObject(e) && e.primary === true);
  if (newPrimary.length !== 1) return elements;
  return elements.map((e) =>
    isPlainObject(e) && e.primary === true && !newPrimary.includes(e) ? { ...e, primary: false } : e,
  );
}

/**
 * "Is this one of the values to remove?" in O(1) per element. Two values are the same if their `value`s are equal
 * (case-insensitively unless caseExact) when the value to remove has one, else if they are deeply equal.
 */
class ElementMatcher {
  private readonly byValue = new Set<string>();
  private readonly whole = new Set<string>();
  private readonly valueSub: AttributeDefinition | undefined;

  constructor(type: ResourceType, attribute: AttributeDefinition, doomed: readonly unknown[]) {
    this.valueSub = attribute.type === 'complex' ? type.subAttribute(attribute, 'value') : undefined;
    for (const d of doomed) {
      if (this.valueSub && isPlainObject(d) && d.value !== undefined)
        this.byValue.add(this.valueKey(d.value));
      else this.whole.add(canonicalJson(d));
    }
  }

  matches(element: unknown): boolean {
    if (
      this.byValue.size > 0 &&
      isPlainObject(element) &&
      element.value !== undefined &&
      this.byValue.has(this.valueKey(element.value))
    )
      return true;
    return this.whole.size > 0 && this.whole.has(canonicalJson(element));
  }

  private valueKey(value: unknown): string {
    if (typeof value === 'string') return `s:${this.valueSub?.caseExact ? value : value.toLowerCase()}`;
    return `j:${canonicalJson(value)}`;
  }
}

/** JSON with object keys sorted: equal strings exactly when `deepEqual` holds, for hash-set membership. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (value instanceof Date) return `D${value.getTime()}`;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as JsonObject)[k])}`).join(',')}}`;
}
