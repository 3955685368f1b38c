import { invalidFilter, limitExceeded } from '../errors.js';
import { DEFAULT_FILTER_LIMITS } from '../limits.js';
import type { ResourceType } from '../schema/registry.js';
import { formatFilter, type FilterNode } from './ast.js';
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
  /** Canonical name of one of the type's external attributes (`members`, `groups`). */
  readonly attribute: string;
  /** The element filter as parsed (sub-attribute names relative to the element), or null for "has any". */
  readonly filter: FilterNode | null;
  /** The same filter compiled, for callers that evaluate it in memory (`evaluateCompiled`). */
  readonly compiled: CompiledFilter | null;
}

export type ExternalFilterResolver = (request: ExternalFilterRequest) => Promise<MongoFilter>;

export interface FilterToMongoOptions {
  resolveExternal?: ExternalFilterResolver;
  /** Distinct external look-ups one filter may need (identical sub-filters count once); default 4. */
  maxExternalLookups?: number;
  /**
   * Use `$elemMatch` on sub-documents for value filters (`emails[type eq "work" and value co "@x"]`). MongoDB
   * supports it; FerretDB v1 (the test server) does not, so the default writes a superset query instead and
   * reports `exact: false`.
   */
  elemMatch?: boolean;
}

/**
 * The translation of a filter. When `exact` is false the query selects a superset of the matching resources
 * (a value filter whose conditions must hold on the same element, without `$elemMatch`): the caller keeps the
 * candidates for which `evaluateFilter` is true, and counts/paginates after that.
 */
export interface MongoTranslation {
  query: MongoFilter;
  exact: boolean;
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
export async function filterToMongo(
  filter: FilterNode,
  type: ResourceType,
  options: FilterToMongoOptions = {},
): Promise<MongoTranslation> {
  const compiled = compileFilter(filter, type);
  const requests: ExternalNode[] = [];
  collectExternal(compiled, requests);
  const resolve = options.resolveExternal;
  if (requests.length === 0 || !resolve) return compiledToMongo(compiled, options);
  // `members pr or members pr or …` asks one question many times: each distinct one is answered once, in turn,
  // so one filter never fans out into parallel reads of the membership collection.
  const distinct = new Map<string, ExternalNode>();
  for (const r of requests) {
    const key = externalKey(r);
    if (!distinct.has(key)) distinct.set(key, r);
  }
  const max = options.maxExternalLookups ?? DEFAULT_FILTER_LIMITS.maxMembershipLookups;
  if (distinct.size > max)
    throw limitExceeded(
      'filter_too_complex',
      400,
      'invalidFilter',
      `Filter too complex: ${distinct.size} distinct conditions on members or groups, limit ${max}.`,
    );
  const answers = new Map<string, MongoFilter>();
  for (const [key, r] of distinct)
    answers.set(
      key,
      await resolve({ attribute: r.attribute.name, filter: r.element, compiled: r.compiledElement }),
    );
  return compiledToMongo(compiled, options, (node) => answers.get(externalKey(node)) as MongoFilter);
}

function externalKey(node: ExternalNode): string {
  return `${node.attribute.name}\u0000${node.element ? formatFilter(node.element) : ''}`;
}

/**
 * Synchronous translation for filters that touch only attributes stored in the document (the common case:
 * `userName eq`, `externalId eq`, `displayName eq`). Throws invalidFilter if the filter needs the resolver.
 */
export function filterToMongoSync(
  filter: FilterNode,
  type: ResourceType,
  options: Omit<FilterToMongoOptions, 'resolveExternal'> = {},
): MongoTranslation {
  return compiledToMongo(compileFilter(filter, type), options);
}

type ExternalNode = Extract<CompiledFilter, { kind: 'external' }>;
type ExternalAnswer = (node: ExternalNode) => MongoFilter;

/** Translates an already compiled filter (shared with the api's own callers). */
export function compiledToMongo(
  compiled: CompiledFilter,
  options: Pick<FilterToMongoOptions, 'elemMatch'> = {},
  external: ExternalAnswer = noExternal,
): MongoTranslation {
  const { q, exact } = new Translator(options.elemMatch ?? false, external).translate(compiled, '');
  return { query: q, exact };
}

function noExternal(node: ExternalNode): MongoFilter {
  throw invalidFilter(
    `Filtering on "${node.attribute.name}" is not available here: it is not stored in the resource document.`,
  );
}

function collectExternal(node: CompiledFilter, into: ExternalNode[]): void {
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

interface Translated {
  /** The query: exactly the matching resources when `exact`, else a superset of them. */
  q: MongoFilter;
  exact: boolean;
}

class Translator {
  constructor(
    private readonly elemMatch: boolean,
    private readonly external: ExternalAnswer,
  ) {}

  translate(node: CompiledFilter, prefix: string): Translated {
    switch (node.kind) {
      case 'const':
        return { q: node.value ? {} : MATCH_NOTHING, exact: true };
      case 'and':
      case 'or': {
        const parts = node.items.map((item) => this.translate(item, prefix));
        const exact = parts.every((p) => p.exact);
        const queries = parts.map((p) => p.q);
        // A superset part that matches everything adds nothing to an `and`, and makes an `or` match everything.
        if (node.kind === 'and') {
          const useful = queries.filter((q) => Object.keys(q).length > 0);
          return {
            q: useful.length === 0 ? {} : useful.length === 1 ? (useful[0] as MongoFilter) : { $and: useful },
            exact,
          };
        }
        if (queries.some((q) => Object.keys(q).length === 0)) return { q: {}, exact };
        return { q: { $or: queries }, exact };
      }
      case 'not': {
        const inner = this.translate(node.item, prefix);
        // not(superset) is not a superset; without a subset translation, "everything" is the honest superset.
        if (!inner.exact) return { q: {}, exact: false };
        return { q: negateQuery(node.item, prefix, inner.q), exact: true };
      }
      case 'present':
        return { q: { [prefix + node.target.stored]: { $exists: true } }, exact: true };
      case 'compare':
        return { q: { [prefix + node.target.stored]: condition(node) }, exact: true };
      case 'element':
        return this.element(node, prefix);
      case 'external':
        return { q: this.external(node), exact: true };
    }
  }

  private element(node: Extract<CompiledFilter, { kind: 'element' }>, prefix: string): Translated {
    const field = prefix + node.target.stored;
    if (!node.multiValued) {
      // A single-valued complex attribute (name[givenName eq "x"]): it must exist, then the filter applies inside it.
      const inner = this.translate(node.item, `${field}.`);
      return { q: { $and: [{ [field]: { $exists: true } }, inner.q] }, exact: inner.exact };
    }
    if (this.elemMatch) {
      const inner = this.translate(node.item, '');
      return { q: { [field]: { $elemMatch: inner.q } }, exact: inner.exact };
    }
    // Without $elemMatch: "some element satisfies A or B" is exactly "some element satisfies A, or some satisfies B",
    // and a single positive condition on a dotted path is exact; conditions that must meet on one element are not.
    const relaxed = relax(node.item, `${field}.`);
    return {
      q: Object.keys(relaxed.q).length === 0 ? { [field]: { $exists: true } } : relaxed.q,
      exact: relaxed.exact,
    };
  }
}

/** A superset of "some element satisfies `node`" over dotted paths, exact for disjunctions of positive conditions. */
function relax(node: CompiledFilter, prefix: string): Translated {
  switch (node.kind) {
    case 'present':
      return { q: { [prefix + node.target.stored]: { $exists: true } }, exact: true };
    case 'compare':
      return { q: { [prefix + node.target.stored]: condition(node) }, exact: true };
    case 'or': {
      const parts = node.items.map((item) => relax(item, prefix));
      if (parts.some((p) => Object.keys(p.q).length === 0)) return { q: {}, exact: false };
      return { q: { $or: parts.map((p) => p.q) }, exact: parts.every((p) => p.exact) };
    }
    case 'and': {
      const useful = node.items.map((item) => relax(item, prefix).q).filter((q) => Object.keys(q).length > 0);
      return {
        q: useful.length === 0 ? {} : useful.length === 1 ? (useful[0] as MongoFilter) : { $and: useful },
        exact: false,
      };
    }
    default:
      return { q: {}, exact: false };
  }
}

function negateQuery(item: CompiledFilter, prefix: string, translated: MongoFilter): MongoFilter {
  if (
    item.kind === 'compare' &&
    item.op === 'eq' &&
    item.target.comparison !== 'fold' &&
    !item.target.throughArray
  ) {
    return { [prefix + item.target.stored]: { $ne: mongoValue(item.target, item.value) } };
  }
  if (item.kind === 'present') return { [prefix + item.target.stored]: { $exists: false } };
  return { $nor: [translated] };
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
