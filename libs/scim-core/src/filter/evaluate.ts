import type { ResourceType } from '../schema/registry.js';
import { normaliseKey } from '../stored/keys.js';
import type { FilterNode } from './ast.js';
import {
  compileFilter,
  parseDateTime,
  type CompiledFilter,
  type ComparableValue,
  type Target,
} from './compile.js';

type JsonObject = Record<string, unknown>;

/**
 * Evaluates a filter against one SCIM resource in memory (canonical attribute names, as produced by validation,
 * PATCH or `fromStored`). Same semantics as `filterToMongo`: multi-valued attributes match when any value
 * matches, `ne` is "not eq" (an unassigned attribute is not equal to anything), caseExact=false strings
 * compare lower-cased. External attributes (`members`, `groups`) are read from the resource if the caller
 * attached them.
 */
export function evaluateFilter(filter: FilterNode, type: ResourceType, resource: JsonObject): boolean {
  return evaluateCompiled(compileFilter(filter, type), resource);
}

/** Evaluates an already compiled filter; `root` is the resource, or an element for filters compiled with a scope. */
export function evaluateCompiled(filter: CompiledFilter, root: JsonObject): boolean {
  switch (filter.kind) {
    case 'const':
      return filter.value;
    case 'and':
      return filter.items.every((item) => evaluateCompiled(item, root));
    case 'or':
      return filter.items.some((item) => evaluateCompiled(item, root));
    case 'not':
      return !evaluateCompiled(filter.item, root);
    case 'present':
      return collect(root, filter.target.wire).some(isPresent);
    case 'compare':
      return collect(root, filter.target.wire).some((value) =>
        compareOne(filter.target, filter.op, value, filter.value),
      );
    case 'element':
      return collect(root, filter.target.wire).some(
        (element) => isObject(element) && hasAny(element) && evaluateCompiled(filter.item, element),
      );
    case 'external': {
      const elements = collect(root, [filter.attribute.name]);
      const compiled = filter.compiledElement;
      if (!compiled) return elements.some(isPresent);
      return elements.some((element) => isObject(element) && evaluateCompiled(compiled, element));
    }
  }
}

/** All values at a path, descending through arrays the way MongoDB's dotted paths do. */
function collect(root: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const segment of path) {
    const next: unknown[] = [];
    for (const value of current) {
      if (!isObject(value)) continue;
      const child = value[segment];
      if (Array.isArray(child)) next.push(...(child as unknown[]));
      else if (child !== undefined && child !== null) next.push(child);
    }
    current = next;
  }
  return current;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasAny(value: JsonObject): boolean {
  return Object.values(value).some(isPresent);
}

/** RFC 7644 §3.4.2.2 `pr`: "has a non-empty value, or … contains a non-empty node for complex attributes". */
function isPresent(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.some(isPresent);
  if (isObject(value) && !(value instanceof Date)) return hasAny(value);
  return true;
}

function compareOne(target: Target, op: string, actual: unknown, expected: ComparableValue): boolean {
  let a: ComparableValue;
  switch (target.comparison) {
    case 'date': {
      const ms =
        actual instanceof Date
          ? actual.getTime()
          : typeof actual === 'string'
            ? parseDateTime(actual)
            : undefined;
      if (ms === undefined) return false;
      a = ms;
      break;
    }
    case 'key':
    case 'fold':
      if (typeof actual !== 'string') return false;
      a = normaliseKey(actual);
      break;
    case 'exact':
      if (typeof actual !== typeof expected) return false;
      a = actual as ComparableValue;
      break;
  }
  switch (op) {
    case 'eq':
      return a === expected;
    case 'co':
      return typeof a === 'string' && a.includes(expected as string);
    case 'sw':
      return typeof a === 'string' && a.startsWith(expected as string);
    case 'ew':
      return typeof a === 'string' && a.endsWith(expected as string);
    case 'gt':
      return a > expected;
    case 'ge':
      return a >= expected;
    case 'lt':
      return a < expected;
    case 'le':
      return a <= expected;
    default:
      return false;
  }
}
