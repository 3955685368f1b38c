import { invalidPath, isScimError } from '../errors.js';
import type { FilterNode } from '../filter/ast.js';
import { compileFilter, type CompiledFilter } from '../filter/compile.js';
import { parseValueFilter } from '../filter/parse.js';
import { pathText, resolveAttributePath, type ResolvedPath } from '../schema/attribute-path.js';
import type { ResourceType } from '../schema/registry.js';
import type { AttributeDefinition } from '../schema/types.js';

/**
 * A PATCH `path` (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`) resolved against a resource type.
 * - `emails` / `name.givenName` / `urn:…:enterprise:2.0:User:manager`: `target` only;
 * - `emails[type eq "work"]`: `target` = emails, `filter`;
 * - `emails[type eq "work"].value`: also `valueSub` = value.
 * - `urn:…:enterprise:2.0:User`: `target.attribute` undefined (the whole extension).
 */
export interface PatchPath {
  readonly text: string;
  readonly target: ResolvedPath;
  readonly filter?: { readonly ast: FilterNode; readonly compiled: CompiledFilter };
  readonly valueSub?: AttributeDefinition;
}

/** @throws ScimError 400 invalidPath for malformed paths, bad filters and attributes the type does not have. */
export function parsePatchPath(type: ResourceType, text: string): PatchPath {
  const open = text.indexOf('[');
  if (open < 0) {
    if (text.includes(']')) throw invalidPath(`"${text}" has "]" without "[".`);
    const target = resolveAttributePath(type, text);
    if (!target) throw invalidPath(`"${text}" is not an attribute of ${type.name}.`);
    return { text, target };
  }
  const close = matchingBracket(text, open);
  const attributeText = text.slice(0, open);
  const target = resolveAttributePath(type, attributeText);
  if (!target?.attribute) throw invalidPath(`"${attributeText}" is not an attribute of ${type.name}.`);
  if (target.sub || target.attribute.type !== 'complex') {
    throw invalidPath(
      `"${attributeText}[...]" needs a complex attribute before "[", like emails[type eq "work"].`,
    );
  }
  let ast: FilterNode;
  let compiled: CompiledFilter;
  try {
    ast = parseValueFilter(text.slice(open + 1, close), open + 1);
    compiled = compileFilter(ast, type, target);
  } catch (error) {
    if (isScimError(error)) throw invalidPath(`"${text}": ${error.detail}`);
    throw error;
  }
  const rest = text.slice(close + 1);
  if (rest === '') return { text, target, filter: { ast, compiled } };
  if (!rest.startsWith('.')) throw invalidPath(`"${text}": only ".subAttribute" may follow "]".`);
  const valueSub = type.subAttribute(target.attribute, rest.slice(1));
  if (!valueSub) throw invalidPath(`"${rest.slice(1)}" is not a sub-attribute of "${pathText(target)}".`);
  return { text, target, filter: { ast, compiled }, valueSub };
}

/** Index of the `]` closing the `[` at `open`, skipping quoted strings (a value may contain `]`). */
function matchingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === ']') {
      return i;
    } else if (c === '[') {
      throw invalidPath(`"${text}": value filters cannot be nested.`);
    }
  }
  throw invalidPath(`"${text}" has "[" without a closing "]".`);
}

/**
 * The attribute values a value filter pins down when it is a conjunction of `eq` comparisons
 * (`type eq "work"`, `type eq "work" and primary eq true`): used to create the element that a filtered
 * add/replace did not find (Entra, interop table #9). Undefined when the filter is anything else.
 */
export function equalityTerms(
  type: ResourceType,
  parent: AttributeDefinition,
  filter: FilterNode,
): Record<string, unknown> | undefined {
  const terms: Record<string, unknown> = {};
  const visit = (node: FilterNode): boolean => {
    if (node.type === 'and') return visit(node.left) && visit(node.right);
    if (node.type !== 'compare' || node.op !== 'eq' || node.value === null) return false;
    const local = node.attribute.includes('.')
      ? node.attribute.slice(node.attribute.lastIndexOf('.') + 1)
      : node.attribute;
    const sub = type.subAttribute(parent, local);
    if (!sub) return false;
    terms[sub.name] =
      sub.type === 'boolean' && typeof node.value === 'string'
        ? node.value.toLowerCase() === 'true'
        : node.value;
    return true;
  };
  return visit(filter) ? terms : undefined;
}
