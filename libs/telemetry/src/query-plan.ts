import type { FilterShape, QueryShape } from './query-shapes.js';

/**
 * The index-selection half of the query-shape audit (docs/query-shapes.md): whether MongoDB would serve a recorded
 * shape from a declared index, and whether a cluster sharded by organisation could target it. Pure: it sees shapes
 * and declarations, never a server.
 */
export interface DeclaredIndex {
  collection: string;
  key: Record<string, 1 | -1>;
  options?: { unique?: boolean; sparse?: boolean };
  serves?: string;
}

export interface CollectionPolicy {
  /**
   * The field every query must pin by equality to be targeted on one shard (`orgId` for a collection sharded by
   * hashed `orgId`; `_id` where the id is the organisation id), or null for a collection that is not
   * organisation-scoped.
   */
  orgField: string | null;
  /** The shard key; its index exists on a sharded collection (sh.shardCollection requires it). */
  shardKey?: Record<string, 1 | -1>;
  /**
   * Fields a query may filter on after the index scan: low-cardinality state flags (`scim.deletedAt`, `deletedAt`)
   * that exclude few documents of the range the index bounds. Every other predicate must be bounded by the index.
   */
  residual?: readonly string[];
}

export interface ShapePlan {
  ok: boolean;
  problems: string[];
  /** The index chosen for each `$or` branch (one entry without `$or`), as key text: `{orgId: 1, userNameKey: 1}`. */
  indexes: string[];
  /** Why the work is bounded, in words. */
  bounded: string;
}

/** How a predicate bounds an index scan: points, an interval, or not at all (a pattern, `$exists`, `$ne`, …). */
type Kind = 'eq' | 'range' | 'regex' | 'presence' | 'other';
type Branch = Map<string, Kind>;

const RANGE = new Set(['$gt', '$gte', '$lt', '$lte']);
const POINTS = new Set(['eq', '$in', '$all']);

function kindOf(ops: string): Kind {
  const list = ops.split(',');
  if (list.some((op) => POINTS.has(op))) return 'eq';
  // An anchored case-sensitive prefix (`$regex:prefix`, see `isPrefixPattern`) is an index range on MongoDB.
  if (list.some((op) => RANGE.has(op) || op === '$regex:prefix')) return 'range';
  if (list.includes('$regex')) return 'regex';
  if (list.includes('$exists')) return 'presence';
  return 'other';
}

/** The filter as conjunctive branches (`$or` expanded, `$and` merged), each field with how it is bounded. */
export function branchesOf(filter: FilterShape | undefined, prefix = ''): Branch[] {
  let branches: Branch[] = [new Map<string, Kind>()];
  const and = (others: Branch[]) => {
    const next: Branch[] = [];
    for (const a of branches) for (const b of others) next.push(merge(a, b));
    branches = next.slice(0, 256);
  };
  for (const [field, value] of Object.entries(filter ?? {})) {
    if (field === '$or') and((value as FilterShape[]).flatMap((branch) => branchesOf(branch, prefix)));
    else if (field === '$and') for (const part of value as FilterShape[]) and(branchesOf(part, prefix));
    else if (field === '$nor' || field.startsWith('$'))
      continue; // residual: bounds nothing
    else if (typeof value === 'string') and([new Map([[prefix + field, kindOf(value)]])]);
    else if (typeof value === 'object' && value !== null && '$elemMatch' in value) {
      const inner = (value as { $elemMatch: FilterShape }).$elemMatch;
      const own = inner[''];
      if (typeof own === 'string') and([new Map([[prefix + field, kindOf(own)]])]);
      else and(branchesOf(inner, `${prefix}${field}.`));
    }
  }
  return branches;
}

function merge(a: Branch, b: Branch): Branch {
  const out = new Map(a);
  const rank = { eq: 2, range: 1, regex: 0, presence: 0, other: 0 } as const;
  for (const [field, kind] of b) {
    const before = out.get(field);
    if (before === undefined || rank[kind] > rank[before]) out.set(field, kind);
  }
  return out;
}

export const keyText = (key: Record<string, number>): string =>
  `{${Object.entries(key)
    .map(([f, d]) => `${f}: ${d}`)
    .join(', ')}}`;

interface Candidate {
  index: DeclaredIndex;
  problems: string[];
  /** Index keys with bounds (equality prefix + range). */
  bounds: number;
  pointLookup: boolean;
  usable: boolean;
}

/** MongoDB's index selection for one conjunctive branch: equality prefix, then sort, then one range (ESR). */
function evaluate(
  index: DeclaredIndex,
  branch: Branch,
  sort: [string, number][] | undefined,
  residual: ReadonlySet<string>,
): Candidate {
  const keys = Object.entries(index.key);
  const problems: string[] = [];
  const served = new Set<string>();
  let i = 0;
  while (i < keys.length && branch.get(keys[i]![0]) === 'eq') served.add(keys[i++]![0]);
  const eqPrefix = i;
  const pointLookup = index.options?.unique === true && eqPrefix === keys.length;
  let boundedByRange = false;
  const wanted = (sort ?? []).filter(([field]) => branch.get(field) !== 'eq');
  if (wanted.length > 0 && !pointLookup) {
    const next = keys.slice(i, i + wanted.length);
    const same = (sign: number) =>
      next.length === wanted.length &&
      next.every(([f, d], j) => f === wanted[j]![0] && d === sign * wanted[j]![1]);
    if (same(1) || same(-1)) {
      // A range on the first sort field is bounded by the same scan.
      if (branch.get(wanted[0]![0]) === 'range') {
        boundedByRange = true;
        served.add(wanted[0]![0]);
      }
      i += wanted.length;
    } else {
      problems.push(
        `sort {${wanted.map(([f, d]) => `${f}: ${d}`).join(', ')}} is not served by ${keyText(index.key)} after its equality prefix (in-memory sort)`,
      );
    }
  }
  if (!boundedByRange && i < keys.length && branch.get(keys[i]![0]) === 'range') {
    boundedByRange = true;
    served.add(keys[i++]![0]);
  }
  const bounds = eqPrefix + (boundedByRange ? 1 : 0);
  const firstKind = branch.get(keys[0]![0]);
  const usable = firstKind === 'eq' || firstKind === 'range';
  if (usable && !pointLookup) {
    const later = new Set(keys.slice(i).map(([f]) => f));
    for (const [field, kind] of branch) {
      if (served.has(field) || residual.has(field)) continue;
      if (kind === 'eq' && later.has(field)) {
        // Equality on a key the scan can no longer bound: after a range, a sort key or an unconstrained key.
        problems.push(
          `equality on ${field} is not in the bounded prefix of ${keyText(index.key)} (ESR: equality, sort, range)`,
        );
      } else {
        problems.push(
          `${kind === 'eq' ? 'equality' : kind} on ${field} is not bounded by ${keyText(index.key)} (filtered after the scan)`,
        );
      }
    }
  }
  return { index, problems, bounds, pointLookup, usable };
}

const QUERY_OPERATIONS = new Set([
  'find',
  'findAndModify',
  'update',
  'delete',
  'count',
  'distinct',
  'aggregate',
]);

/**
 * Checks one shape: every `$or` branch (with the predicates around the `$or`) must be served by an index whose key
 * prefix is bounded by the filter (no collection scan) and that bounds every predicate of the branch except the
 * collection's residual fields (equality prefix, then the sort, then at most one range: ESR), unless a unique index
 * pins one document; any sort must come from that index; and on an organisation-scoped collection every branch must pin the
 * organisation field by equality (targeted on the shard key). Inserts pass (targeted by the document's own key);
 * anything that is not a query fails (admin commands belong on the allow-list).
 */
export function checkShape(
  shape: QueryShape,
  indexes: readonly DeclaredIndex[],
  policies: Readonly<Record<string, CollectionPolicy>>,
): ShapePlan {
  if (shape.operation === 'insert') {
    return { ok: true, problems: [], indexes: [], bounded: 'one document per insert' };
  }
  if (!QUERY_OPERATIONS.has(shape.operation)) {
    return {
      ok: false,
      problems: [`${shape.operation} is not a query (admin command)`],
      indexes: [],
      bounded: '',
    };
  }
  const policy = policies[shape.collection];
  if (!policy) {
    return {
      ok: false,
      problems: [`collection ${shape.collection || '(none)'} has no declared policy or indexes`],
      indexes: [],
      bounded: '',
    };
  }
  const own: DeclaredIndex[] = [
    { collection: shape.collection, key: { _id: 1 }, options: { unique: true }, serves: 'primary key' },
    ...(policy.shardKey
      ? [
          {
            collection: shape.collection,
            key: policy.shardKey,
            options: { unique: true },
            serves: 'shard key',
          },
        ]
      : []),
    ...indexes.filter((index) => index.collection === shape.collection),
  ];
  const problems: string[] = [];
  const chosen: string[] = [];
  const bounds: string[] = [];
  const branches = branchesOf(shape.filter);
  for (const [n, branch] of branches.entries()) {
    const label = branches.length > 1 ? `$or branch ${n + 1}: ` : '';
    if (policy.orgField && branch.get(policy.orgField) !== 'eq') {
      problems.push(
        `${label}no equality on ${policy.orgField}: not targeted on the shard key (scatter-gather)`,
      );
    }
    const residual = new Set(policy.residual ?? []);
    const candidates = own
      .map((index) => evaluate(index, branch, shape.sort, residual))
      .filter((c) => c.usable);
    if (candidates.length === 0) {
      problems.push(`${label}no index is bounded by the filter (collection scan)`);
      continue;
    }
    candidates.sort(
      (a, b) =>
        a.problems.length - b.problems.length ||
        Number(b.pointLookup) - Number(a.pointLookup) ||
        b.bounds - a.bounds,
    );
    const best = candidates[0]!;
    chosen.push(keyText(best.index.key));
    problems.push(...best.problems.map((p) => label + p));
    const bounded = Object.keys(best.index.key).slice(0, Math.max(best.bounds, 1));
    bounds.push(
      best.pointLookup
        ? `one document (unique ${keyText(best.index.key)})`
        : `index range on ${bounded.join(', ')}${shape.limit ? ', limited' : ''}`,
    );
  }
  return { ok: problems.length === 0, problems, indexes: chosen, bounded: [...new Set(bounds)].join('; ') };
}

/** A one-line text of a shape without its service: the row key of docs/query-shapes.md. */
export function shapeText(shape: QueryShape): string {
  const parts = [shape.operation, shape.collection || '(database)'];
  if (shape.filter) parts.push(filterText(shape.filter));
  if (shape.sort) parts.push(`sort {${shape.sort.map(([f, d]) => `${f}: ${d}`).join(', ')}}`);
  if (shape.projection) parts.push(`project [${shape.projection.join(', ')}]`);
  if (shape.key) parts.push(`key ${shape.key}`);
  if (shape.stages) parts.push(`stages [${shape.stages.join(', ')}]`);
  if (shape.limit) parts.push('limit');
  if (shape.multi) parts.push('multi');
  if (shape.upsert) parts.push('upsert');
  return parts.join(' ');
}

export function filterText(filter: FilterShape): string {
  return `{${Object.entries(filter)
    .map(([field, value]) => {
      if (Array.isArray(value)) return `${field}: [${value.map(filterText).join(', ')}]`;
      if (typeof value === 'string') return `${field}: ${value}`;
      const inner = (value as { $elemMatch: FilterShape }).$elemMatch;
      return `${field}: $elemMatch ${typeof inner[''] === 'string' ? inner[''] : filterText(inner)}`;
    })
    .join(', ')}}`;
}
