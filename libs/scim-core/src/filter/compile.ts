import { invalidFilter } from '../errors.js';
import {
  pathText,
  resolveAttributePath,
  resolveRelative,
  type ResolvedPath,
} from '../schema/attribute-path.js';
import type { ExtensionBinding, ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';
import {
  isComputedReference,
  keyFieldName,
  normaliseKey,
  storedExtensionField,
  storedSubName,
  storedTopField,
} from '../stored/keys.js';
import type { CompareOperator, FilterLiteral, FilterNode } from './ast.js';

/**
 * A filter resolved against a resource type: attributes looked up, literals coerced to the attribute's type,
 * `ne` rewritten as `not eq`, `eq null` as `not pr`. Both back ends (in-memory evaluation and MongoDB
 * translation) consume this one form, so they cannot disagree on what a filter means.
 */
export type CompiledFilter =
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'and' | 'or'; readonly items: readonly CompiledFilter[] }
  | { readonly kind: 'not'; readonly item: CompiledFilter }
  | {
      readonly kind: 'compare';
      readonly target: Target;
      readonly op: Exclude<CompareOperator, 'ne'>;
      readonly value: ComparableValue;
    }
  | { readonly kind: 'present'; readonly target: Target }
  | {
      readonly kind: 'element';
      readonly target: Target;
      readonly multiValued: boolean;
      readonly item: CompiledFilter;
    }
  | {
      readonly kind: 'external';
      readonly attribute: AttributeDefinition;
      readonly element: FilterNode | null;
      readonly compiledElement: CompiledFilter | null;
    };

/** How the values of an attribute are reached, in the SCIM resource (`wire`) and in the stored document (`stored`). */
export interface Target {
  readonly wire: readonly string[];
  readonly stored: string;
  readonly definition: AttributeDefinition;
  /** The canonical attribute path, for messages. */
  readonly text: string;
  /** How string values compare (see `Comparison`). */
  readonly comparison: Comparison;
  /**
   * True when the stored path runs through an array of sub-documents (`emails.valueKey`): FerretDB v1 answers
   * `$ne` wrongly on such paths, so negations there are written as `$nor`.
   */
  readonly throughArray: boolean;
}

/**
 * - `exact`: caseExact strings, numbers, booleans: compared as is.
 * - `key`: caseExact=false with a stored normalised key: both sides lower-cased (`stored` points at the key field).
 * - `fold`: caseExact=false without a key: lower-cased in memory, case-insensitive anchored regex in MongoDB.
 * - `date`: dateTime: compared as epoch milliseconds (stored as BSON Date).
 */
export type Comparison = 'exact' | 'key' | 'fold' | 'date';

/** A literal after coercion: strings are already lower-cased for `key`/`fold`; dates are epoch ms. */
export type ComparableValue = string | number | boolean;

/**
 * Compiles a parsed filter for a resource type. `scope` compiles a filter relative to a complex attribute
 * (the inside of `emails[...]`, or a PATCH value filter).
 *
 * @throws ScimError 400 invalidFilter for unknown attributes, unsupported operator/type pairs and bad literals.
 */
export function compileFilter(node: FilterNode, type: ResourceType, scope?: ResolvedPath): CompiledFilter {
  return new Compiler(type).compile(node, scope);
}

class Compiler {
  constructor(private readonly type: ResourceType) {}

  compile(node: FilterNode, scope: ResolvedPath | undefined): CompiledFilter {
    switch (node.type) {
      case 'and':
      case 'or':
        return combine(node.type, [this.compile(node.left, scope), this.compile(node.right, scope)]);
      case 'not':
        return negate(this.compile(node.filter, scope));
      case 'present':
        return this.compilePresent(node.attribute, scope);
      case 'compare':
        return this.compileCompare(node, scope);
      case 'valuePath':
        return this.compileValuePath(node, scope);
    }
  }

  private resolve(text: string, scope: ResolvedPath | undefined): ResolvedPath {
    const resolved = scope ? resolveRelative(this.type, scope, text) : resolveAttributePath(this.type, text);
    if (!resolved?.attribute) {
      const where = scope?.attribute ? ` of "${pathText(scope)}"` : ` of resource type ${this.type.name}`;
      throw invalidFilter(`"${text}" is not a filterable attribute${where}.`);
    }
    return resolved;
  }

  private compilePresent(text: string, scope: ResolvedPath | undefined): CompiledFilter {
    const path = this.resolve(text, scope);
    const attribute = path.attribute as AttributeDefinition;
    this.checkFilterable(path);
    if (!scope && this.type.isExternal(attribute)) {
      const element = path.sub ? ({ type: 'present', attribute: path.sub.name, position: 0 } as const) : null;
      return this.external(attribute, element);
    }
    if (!scope && !path.extension && attribute.name === 'schemas') return { kind: 'const', value: true };
    if (!scope && !path.extension && attribute.name === 'meta' && path.sub?.name === 'resourceType')
      return { kind: 'const', value: true };
    return { kind: 'present', target: this.target(path, scope, false) };
  }

  private compileCompare(
    node: Extract<FilterNode, { type: 'compare' }>,
    scope: ResolvedPath | undefined,
  ): CompiledFilter {
    let path = this.resolve(node.attribute, scope);
    const attribute = path.attribute as AttributeDefinition;
    if (!path.sub && attribute.type === 'complex') {
      // A complex attribute compared without a sub-attribute is compared on its `value`
      // (`emails co "example.com"` in the RFC 7644 §3.4.2.2 examples).
      const value = this.type.subAttribute(attribute, 'value');
      if (!value)
        throw invalidFilter(`"${pathText(path)}" is a complex attribute: compare one of its sub-attributes.`);
      path = { ...path, sub: value };
    }
    this.checkFilterable(path);
    if (node.value === null) {
      // RFC 7643 §2.5: null is equivalent to unassigned, so `eq null` is "not present" and `ne null` is "present".
      if (node.op !== 'eq' && node.op !== 'ne')
        throw invalidFilter(
          `"${node.op} null" is not meaningful for "${pathText(path)}": use "pr" or "eq null".`,
        );
      const present = this.compilePresent(pathTextRelative(path, scope), scope);
      return node.op === 'eq' ? negate(present) : present;
    }
    if (!scope && this.type.isExternal(attribute)) {
      const sub = path.sub as AttributeDefinition;
      return this.external(attribute, {
        type: 'compare',
        attribute: sub.name,
        op: node.op,
        value: node.value,
        position: node.position,
      });
    }
    if (!scope && !path.extension && attribute.name === 'schemas')
      return this.compileSchemasCompare(node.op, node.value);
    if (!scope && !path.extension && attribute.name === 'meta' && path.sub?.name === 'resourceType') {
      const value = coerce(path.sub, node.value, node.op, pathText(path));
      return { kind: 'const', value: staticCompare(this.type.name, node.op, value, true) };
    }
    const leaf = path.sub ?? attribute;
    const op = node.op === 'ne' ? 'eq' : node.op;
    checkOperator(leaf, op, pathText(path));
    const target = this.target(path, scope, true);
    if (target.comparison === 'fold' && (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le')) {
      throw invalidFilter(
        `"${op}" on "${pathText(path)}" is not supported: the attribute is case-insensitive and has no normalised key; use eq, co, sw, ew or pr.`,
      );
    }
    let value = coerce(leaf, node.value, op, pathText(path));
    if (typeof value === 'string' && (target.comparison === 'key' || target.comparison === 'fold'))
      value = normaliseKey(value);
    const compiled: CompiledFilter = { kind: 'compare', target, op, value };
    return node.op === 'ne' ? negate(compiled) : compiled;
  }

  private compileValuePath(
    node: Extract<FilterNode, { type: 'valuePath' }>,
    scope: ResolvedPath | undefined,
  ): CompiledFilter {
    if (scope)
      throw invalidFilter(
        `value filters cannot be nested ("${node.attribute}[...]" inside "${pathText(scope)}[...]").`,
      );
    const path = this.resolve(node.attribute, undefined);
    const attribute = path.attribute as AttributeDefinition;
    if (path.sub || attribute.type !== 'complex') {
      throw invalidFilter(
        `"${pathText(path)}[...]" needs a complex attribute before "[", like emails[type eq "work"].`,
      );
    }
    if (this.type.isExternal(attribute)) return this.external(attribute, node.filter);
    const item = this.compile(node.filter, path);
    return {
      kind: 'element',
      target: this.target(path, undefined, false),
      multiValued: attribute.multiValued,
      item,
    };
  }

  private external(attribute: AttributeDefinition, element: FilterNode | null): CompiledFilter {
    const scope: ResolvedPath = { extension: undefined, attribute, sub: undefined };
    const compiledElement = element ? this.compile(element, scope) : null;
    return { kind: 'external', attribute, element, compiledElement };
  }

  /** `schemas` is never stored: it is the core URN plus one URN per extension with data, so compare statically. */
  private compileSchemasCompare(op: CompareOperator, literal: FilterLiteral): CompiledFilter {
    const value = typeof literal === 'string' ? literal : String(literal);
    const positive = op === 'ne' ? 'eq' : op;
    const matches = (urn: string) => staticCompare(urn, positive, value, false);
    let result: CompiledFilter;
    if (matches(this.type.schema.id)) {
      result = { kind: 'const', value: true };
    } else {
      result = combine(
        'or',
        this.type.extensions
          .filter((e) => matches(e.schema.id))
          .map((e): CompiledFilter => ({ kind: 'present', target: extensionTarget(e) })),
      );
    }
    return op === 'ne' ? negate(result) : result;
  }

  private checkFilterable(path: ResolvedPath): void {
    const leaf = (path.sub ?? path.attribute) as AttributeDefinition;
    if (leaf.returned === 'never' || (path.attribute as AttributeDefinition).returned === 'never') {
      throw invalidFilter(
        `"${pathText(path)}" cannot be used in a filter: it is never returned (RFC 7643 §7).`,
      );
    }
    if (
      !path.extension &&
      path.attribute?.name === 'meta' &&
      (path.sub?.name === 'location' || path.sub?.name === 'version')
    ) {
      throw invalidFilter(`"${pathText(path)}" is computed on output and cannot be used in a filter.`);
    }
    if (
      path.sub &&
      isComputedReference(path.sub) &&
      !this.type.isExternal(path.attribute as AttributeDefinition)
    ) {
      throw invalidFilter(
        `"${pathText(path)}" is computed from "value"; filter on "${(path.attribute as AttributeDefinition).name}.value" instead.`,
      );
    }
  }

  private target(path: ResolvedPath, scope: ResolvedPath | undefined, forCompare: boolean): Target {
    const attribute = path.attribute as AttributeDefinition;
    const leaf = path.sub ?? attribute;
    const comparison = comparisonOf(this.type, leaf);
    const wire: string[] = [];
    let stored: string;
    if (scope) {
      const sub = path.sub as AttributeDefinition;
      wire.push(sub.name);
      stored = storedSubName(sub);
    } else {
      if (path.extension) wire.push(path.extension.schema.id);
      wire.push(attribute.name);
      stored = storedTopField(path.extension, attribute);
      if (path.sub) {
        wire.push(path.sub.name);
        stored += `.${storedSubName(path.sub)}`;
      }
    }
    if (forCompare && comparison === 'key') stored = replaceLast(stored, keyFieldName(leaf.name));
    const throughArray =
      !scope && attribute.multiValued && attribute.type === 'complex' && path.sub !== undefined;
    return { wire, stored, definition: leaf, text: pathText(path), comparison, throughArray };
  }
}

function pathTextRelative(path: ResolvedPath, scope: ResolvedPath | undefined): string {
  return scope ? (path.sub as AttributeDefinition).name : pathText(path);
}

function replaceLast(stored: string, last: string): string {
  const dot = stored.lastIndexOf('.');
  return dot < 0 ? last : `${stored.slice(0, dot + 1)}${last}`;
}

function extensionTarget(extension: ExtensionBinding): Target {
  return {
    wire: [extension.schema.id],
    stored: storedExtensionField(extension),
    definition: {
      name: extension.schema.id,
      type: 'complex',
      multiValued: false,
      description: '',
      required: false,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
    },
    text: extension.schema.id,
    comparison: 'exact',
    throughArray: false,
  };
}

export function comparisonOf(type: ResourceType, leaf: AttributeDefinition): Comparison {
  if (leaf.type === 'dateTime') return 'date';
  if (leaf.type !== 'string' && leaf.type !== 'reference' && leaf.type !== 'binary') return 'exact';
  if (leaf.caseExact) return 'exact';
  return type.hasNormalisedKey(leaf) ? 'key' : 'fold';
}

function checkOperator(leaf: AttributeDefinition, op: Exclude<CompareOperator, 'ne'>, text: string): void {
  const ordering = op === 'gt' || op === 'ge' || op === 'lt' || op === 'le';
  const substring = op === 'co' || op === 'sw' || op === 'ew';
  // RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary attributes SHALL give invalidFilter.
  if (ordering && (leaf.type === 'boolean' || leaf.type === 'binary')) {
    throw invalidFilter(`"${op}" cannot compare the ${leaf.type} attribute "${text}".`);
  }
  if (substring && leaf.type !== 'string' && leaf.type !== 'reference' && leaf.type !== 'binary') {
    throw invalidFilter(`"${op}" needs a string attribute; "${text}" is ${leaf.type}.`);
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** Parses an xsd:dateTime (RFC 7643 §2.3.5) to epoch milliseconds; undefined if it is not one. */
export function parseDateTime(value: string): number | undefined {
  if (!ISO_DATE_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function coerce(
  leaf: AttributeDefinition,
  literal: FilterLiteral,
  op: string,
  text: string,
): ComparableValue {
  switch (leaf.type) {
    case 'boolean':
      if (typeof literal === 'boolean') return literal;
      // Entra sends `roles[primary eq "True"]`: string booleans in any case (interop table #2).
      if (typeof literal === 'string' && /^(true|false)$/i.test(literal))
        return literal.toLowerCase() === 'true';
      throw invalidFilter(
        `"${text}" is a boolean: compare it with true or false, not ${JSON.stringify(literal)}.`,
      );
    case 'integer':
    case 'decimal': {
      const n =
        typeof literal === 'number'
          ? literal
          : typeof literal === 'string' && literal.trim() !== ''
            ? Number(literal)
            : NaN;
      if (!Number.isFinite(n) || (leaf.type === 'integer' && !Number.isInteger(n) && op === 'eq')) {
        throw invalidFilter(
          `"${text}" is ${leaf.type === 'integer' ? 'an integer' : 'a decimal'}: ${JSON.stringify(literal)} is not a number it can equal.`,
        );
      }
      return n;
    }
    case 'dateTime': {
      const ms = typeof literal === 'string' ? parseDateTime(literal) : undefined;
      if (ms === undefined)
        throw invalidFilter(
          `"${text}" is a dateTime: ${JSON.stringify(literal)} is not an xsd:dateTime like "2011-05-13T04:42:34Z".`,
        );
      return ms;
    }
    default:
      // Strings: a number or boolean literal is compared as its text (`externalId eq 12345`).
      return typeof literal === 'string' ? literal : String(literal);
  }
}

/** Compares a value known at compile time (resource type name, schema URNs) with the filter's semantics. */
function staticCompare(
  actual: string,
  op: Exclude<CompareOperator, 'ne'> | 'ne',
  expected: ComparableValue,
  caseExact: boolean,
): boolean {
  const a = caseExact ? actual : actual.toLowerCase();
  const e = caseExact ? String(expected) : String(expected).toLowerCase();
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

function combine(kind: 'and' | 'or', parts: CompiledFilter[]): CompiledFilter {
  const items: CompiledFilter[] = [];
  for (const part of parts) {
    if (part.kind === 'const') {
      if (part.value === (kind === 'or')) return part; // true in an `or`, false in an `and`, decides it
      continue;
    }
    if (part.kind === kind) items.push(...part.items);
    else items.push(part);
  }
  if (items.length === 0) return { kind: 'const', value: kind === 'and' };
  if (items.length === 1) return items[0] as CompiledFilter;
  return { kind, items };
}

function negate(item: CompiledFilter): CompiledFilter {
  if (item.kind === 'const') return { kind: 'const', value: !item.value };
  if (item.kind === 'not') return item.item;
  return { kind: 'not', item };
}
