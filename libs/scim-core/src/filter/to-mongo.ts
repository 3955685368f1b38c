import { invalidFilter } from '../errors.js';
import type { ResourceType } from '../schema/registry.js';
import type { FilterNode } from './ast.js';
import { compileFilter, type CompiledFilter, type Target } from './compile.js';

/** A MongoDB query document over the stored shape. Plain data: this library never imports a driver. */
export type MongoFilter = { [field: string]: unknown };

/**
 * What the api answers for attributes held outside the resource document (Group `members`, User `groups`):
 * a query fragment over the resource collection selecting the resources that have at least one element
 * (membership) satisfying `filter` (relative to the element: `value eq "…"`, `type eq "User"`), or at least
 * one element at all when `filter` is null. Typically `{ _id: { $in: [...ids from the membership collection] } }`.
 */
export interface ExternalFilterRequest {
  /** Canonical attribute name: `members` or `groups`. */
  readonly attribute: string;
  /** The element filter as parsed (sub-attribute names relative to the element), or null for "has any". */
  readonly filter: FilterNode | null;
  /** The same filter compiled, for callers that evaluate it in memory (`evaluateCompiled`). */
  readonly compiled: CompiledFilter | null;
}

export type ExternalFilterResolver = (request: ExternalFilterRequest) => Promise<MongoFilter>;

export interface FilterToMongoOptions {
  resolveExternal?: ExternalFilterResolver;
}

/** Matches nothing: `_id` always exists, and no value is in the empty set. */
const MATCH_NOTHING: MongoFilter = { _id: { $in: [] } };

/**
 * Translates a filter to a MongoDB query over the stored shape (see `toStored`). Case-insensitive attributes with
 * a stored key compare on the key (index-friendly); others use an anchored, fully escaped case-insensitive regex.
 * Literal values are only ever placed in value position (`$eq`, `$regex`, …): a value such as `"$where"` stays a string.
 * Attributes held outside the document are answered by `options.resolveExternal`.
 *
 * @throws ScimError 400 invalidFilter for unknown attributes or an external attribute without a resolver.
 */
export async function filterToMongo(filter: FilterNode, type: ResourceType, options: FilterToMongoOptions = {}): Promise<MongoFilter> {
  const compiled = compileFilter(filter, type);
  const requests: Extract<CompiledFilter, { kind: 'external' }>[] = [];
  collectExternal(compiled, requests);
  if (requests.length === 0) return translate(compiled, '', noExternal);
  const resolve = options.resolveExternal;
  if (!resolve) return translate(compiled, '', noExternal);
  const answers = await Promise.all(
    requests.map((r) => resolve({ attribute: r.attribute.name, filter: r.element, compiled: r.compiledElement })),
  );
  const byNode = new Map<CompiledFilter, MongoFilter>(requests.map((r, i) => [r, answers[i] as MongoFilter]));
  return translate(compiled, '', (node) => byNode.get(node) as MongoFilter);
}

/**
 * Synchronous translation for filters that touch only attributes stored in the document (the common case:
 * `userName eq`, `externalId eq`, `displayName eq`). Throws invalidFilter if the filter needs the resolver.
 */
export function filterToMongoSync(filter: FilterNode, type: ResourceType): MongoFilter {
  return translate(compileFilter(filter, type), '', noExternal);
}

/** Translates an already compiled filter (shared with the PATCH engine and the api's own callers). */
export function compiledToMongo(compiled: CompiledFilter, external: (node: Extract<CompiledFilter, { kind: 'external' }>) => MongoFilter = noExternal): MongoFilter {
  return translate(compiled, '', external);
}

function noExternal(node: Extract<CompiledFilter, { kind: 'external' }>): MongoFilter {
  throw invalidFilter(`Filtering on "${node.attribute.name}" is not available here: it is not stored in the resource document.`);
}

function collectExternal(node: CompiledFilter, into: Extract<CompiledFilter, { kind: 'external' }>[]): void {
  switch (node.kind) {
    case 'external':
      into.push(node);
      return;
    case 'and':
    case 'or':
      for (const item of node.items) collectExternal(item, into);
      return;
    case 'not':
      collectExternal(node.item, into);
      return;
    default:
      return;
  }
}

type ExternalAnswer = (node: Extract<CompiledFilter, { kind: 'external' }>) => MongoFilter;

function translate(node: CompiledFilter, prefix: string, external: ExternalAnswer): MongoFilter {
  switch (node.kind) {
    case 'const':
      return node.value ? {} : MATCH_NOTHING;
    case 'and':
      return { $and: node.items.map((item) => translate(item, prefix, external)) };
    case 'or':
      return { $or: node.items.map((item) => translate(item, prefix, external)) };
    case 'not':
      return negateQuery(node.item, prefix, external);
    case 'present':
      return { [prefix + node.target.stored]: { $exists: true } };
    case 'compare':
      return { [prefix + node.target.stored]: condition(node) };
    case 'element': {
      const field = prefix + node.target.stored;
      if (node.multiValued) return { [field]: { $elemMatch: translate(node.item, '', external) } };
      // A single-valued complex attribute (name[givenName eq "x"]): the attribute must exist, then the filter applies inside it.
      return { $and: [{ [field]: { $exists: true } }, translate(node.item, `${field}.`, external)] };
    }
    case 'external':
      return external(node);
  }
}

function negateQuery(item: CompiledFilter, prefix: string, external: ExternalAnswer): MongoFilter {
  if (item.kind === 'compare' && item.op === 'eq' && item.target.comparison !== 'fold') {
    return { [prefix + item.target.stored]: { $ne: mongoValue(item.target, item.value) } };
  }
  if (item.kind === 'present') return { [prefix + item.target.stored]: { $exists: false } };
  return { $nor: [translate(item, prefix, external)] };
}

function condition(node: Extract<CompiledFilter, { kind: 'compare' }>): MongoFilter {
  const { target, op, value } = node;
  const fold = target.comparison === 'fold';
  switch (op) {
    case 'eq':
      if (fold) return regex(`^${escapeRegex(value as string)}\\z`, true);
      return { $eq: mongoValue(target, value) };
    case 'co':
      return regex(escapeRegex(value as string), fold);
    case 'sw':
      return regex(`^${escapeRegex(value as string)}`, fold);
    case 'ew':
      return regex(`${escapeRegex(value as string)}\\z`, fold);
    case 'gt':
      return { $gt: mongoValue(target, value) };
    case 'ge':
      return { $gte: mongoValue(target, value) };
    case 'lt':
      return { $lt: mongoValue(target, value) };
    case 'le':
      return { $lte: mongoValue(target, value) };
  }
}

function regex(pattern: string, caseInsensitive: boolean): MongoFilter {
  return caseInsensitive ? { $regex: pattern, $options: 'i' } : { $regex: pattern };
}

function mongoValue(target: Target, value: string | number | boolean): unknown {
  return target.comparison === 'date' ? new Date(value as number) : value;
}

/**
 * Escapes every regex metacharacter of PCRE (MongoDB) and RE2 (FerretDB) so that `co`/`sw`/`ew` values match
 * literally. `\z` (not `$`) anchors the end: PCRE's `$` also matches before a trailing newline.
 */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
