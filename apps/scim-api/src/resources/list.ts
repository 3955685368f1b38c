import {
  cursorToMongo,
  decodeCursor,
  encodeCursor,
  evaluateFilter,
  filterToMongo,
  invalidValue,
  isCursorRequest,
  listResponse,
  projectResource,
  sortSpec,
  limitExceeded,
  type ExternalFilterResolver,
  type ListResponse,
  type ResourceType,
  type ScimResource,
  type SearchParams,
  type StoredResource,
} from '@scimbridge/scim-core';
import type { mongo } from 'mongoose';
import type { ApiLimits } from '../limits.js';
import { NO_PROJECTION, type Projection } from './outcome.js';

/**
 * Candidates an inexact filter may load for in-memory narrowing before the request is refused as tooMany. Only
 * the FerretDB profile has inexact filters (no `$elemMatch`); on MongoDB every translation is exact.
 */
const MAX_INEXACT_CANDIDATES = 10_000;

export interface ListSource<D extends StoredResource> {
  type: ResourceType;
  collection: mongo.Collection<D>;
  /** Organisation scope and visibility, ANDed with every query. */
  scope: Record<string, unknown>;
  /** Filters on attributes held outside the document; a kind without such attributes has none. */
  resolveExternal?: ExternalFilterResolver;
  /**
   * Renders stored documents with a projection. May render a prefix only (a page of groups that stops before its
   * member budget is passed): the page then ends there.
   */
  render: (docs: D[], projection: Projection) => Promise<ScimResource[]>;
  limits: ApiLimits;
  /**
   * The store profile's `elemMatch`: value filters translate exactly with `$elemMatch` (MongoDB). Without it
   * (FerretDB v1) a value filter whose conditions must meet on one element is a superset, narrowed in memory.
   */
  elemMatch: boolean;
}

function readValue(doc: Record<string, unknown>, field: string): unknown {
  let value: unknown = doc;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = Array.isArray(value)
      ? (value[0] as Record<string, unknown> | undefined)?.[part]
      : (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * `scope AND filter` as one query document. When no field repeats and the filter has no top-level operator, the
 * two merge into one flat document (`{orgId, …, userNameKey}`): the same query to MongoDB, and the only form whose
 * equality conditions FerretDB pushes down to its backend (it pushes nothing under a top-level `$and`).
 */
export function conjunction(
  scope: Record<string, unknown>,
  filter: Record<string, unknown>,
): Record<string, unknown> {
  const keys = Object.keys(filter);
  const flat = keys.every((key) => !key.startsWith('$') && !Object.hasOwn(scope, key));
  return flat ? { ...scope, ...filter } : { $and: [scope, filter] };
}

/**
 * A list or search (RFC 7644 §3.4.2) translated into one MongoDB query: filter, sort (with `_id` tie-breaker so
 * pages are stable), index pagination or RFC 9865 cursors. Inexact translations (the FerretDB profile, without
 * `$elemMatch`) load the superset and keep what the core's evaluator accepts, and refuse cursors.
 */
export async function listResources<D extends StoredResource>(
  source: ListSource<D>,
  params: SearchParams,
): Promise<ListResponse<ScimResource>> {
  const { type, collection } = source;
  let query: Record<string, unknown> = { ...source.scope };
  let exact = true;
  let external = false;
  if (params.filter) {
    const resolve = source.resolveExternal;
    const translation = await filterToMongo(params.filter, type, {
      ...(resolve
        ? {
            resolveExternal: (request: Parameters<ExternalFilterResolver>[0]) => {
              external = true;
              return resolve(request);
            },
          }
        : {}),
      maxExternalLookups: source.limits.filter.maxMembershipLookups,
      elemMatch: source.elemMatch,
    });
    query = conjunction(source.scope, translation.query);
    exact = translation.exact;
  }
  const sort = sortSpec(type, params.sortBy, params.sortOrder);
  const filter = query as mongo.Filter<D>;

  if (isCursorRequest(params)) {
    if (!exact) throw invalidValue('Cursor pagination is not available for this filter; use startIndex.');
    const cursorQuery = params.cursor
      ? ({ $and: [query, cursorToMongo(sort, decodeCursor(params.cursor))] } as mongo.Filter<D>)
      : filter;
    const docs = await collection
      .find(cursorQuery)
      .sort(sort.mongo)
      .limit(params.count + 1)
      .toArray();
    const resources = await source.render(docs.slice(0, params.count) as D[], params);
    const page = docs.slice(0, resources.length);
    const last = page.at(-1);
    const body = listResponse(resources, {
      totalResults: page.length,
      ...((docs.length > params.count || resources.length < Math.min(docs.length, params.count)) && last
        ? {
            nextCursor: encodeCursor({
              id: String(last._id),
              ...(sort.field === '_id' ? {} : { sortValue: readValue(last, sort.field) as never }),
            }),
          }
        : {}),
    });
    // RFC 9865: totalResults is optional for cursor pages; counting would make every page cost O(tenant).
    delete (body as { totalResults?: number }).totalResults;
    return body;
  }

  if (!exact) {
    const candidates = await collection
      .find(filter)
      .sort(sort.mongo)
      .limit(MAX_INEXACT_CANDIDATES + 1)
      .toArray();
    if (candidates.length > MAX_INEXACT_CANDIDATES)
      throw limitExceeded(
        'too_many_candidates',
        400,
        'tooMany',
        `The filter needs more than ${MAX_INEXACT_CANDIDATES} candidates evaluated in memory; narrow it.`,
      );
    // The filter is evaluated on the whole resource (a filter may name attributes the projection leaves out), with
    // the computed attributes only when the filter names them; what is returned is projected afterwards.
    const whole = external
      ? NO_PROJECTION
      : { attributes: [], excludedAttributes: type.externalAttributes.map((a) => a.name) };
    const resources = await source.render(candidates as D[], whole);
    if (resources.length < candidates.length)
      throw limitExceeded(
        'too_many_candidates',
        400,
        'tooMany',
        'The filter matches resources too large to evaluate together; narrow it.',
      );
    const matching = resources.filter((r) => evaluateFilter(params.filter!, type, r));
    const page = matching
      .slice(params.startIndex - 1, params.startIndex - 1 + params.count)
      .map((r) => projectResource(type, r, params));
    return listResponse(page, { totalResults: matching.length, startIndex: params.startIndex });
  }

  const docs =
    params.count === 0
      ? []
      : await collection
          .find(filter)
          .sort(sort.mongo)
          .skip(params.startIndex - 1)
          .limit(params.count)
          .toArray();
  // A first page shorter than asked is the whole result: Okta's and Entra's lookups need no count query.
  const totalResults =
    params.startIndex === 1 && docs.length < params.count
      ? docs.length
      : await collection.countDocuments(filter);
  return listResponse(await source.render(docs as D[], params), {
    totalResults,
    startIndex: params.startIndex,
  });
}
