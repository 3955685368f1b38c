import { invalidSyntax, invalidValue } from '../errors.js';
import type { FilterNode } from '../filter/ast.js';
import { parseFilter, type ParseFilterOptions } from '../filter/parse.js';
import { isPlainObject } from '../resource/normalise.js';
import { URN } from '../urns.js';
import { parsePagination, type PaginationLimits } from './pagination.js';
import { parseSortOrder, type SortOrder } from './sort.js';

/** Pagination limits, plus the filter's length/depth/term limits (defaults of `parseFilter` where absent). */
export interface SearchLimits extends PaginationLimits {
  filter?: ParseFilterOptions;
}

/** The query of a list or search request, from GET parameters or a SearchRequest body alike. */
export interface SearchParams {
  filter?: FilterNode;
  attributes: string[];
  excludedAttributes: string[];
  sortBy?: string;
  sortOrder: SortOrder;
  startIndex: number;
  count: number;
  /** RFC 9865: set (possibly empty, meaning "first page") when the client asked for cursor pagination. */
  cursor?: string;
}

/**
 * Reads the query parameters of `GET /{type}` (RFC 7644 §3.4.2): `filter`, `attributes`, `excludedAttributes`
 * (comma-separated), `sortBy`, `sortOrder`, `startIndex`, `count`, and RFC 9865 `cursor`. Parameter names are
 * matched case-insensitively; a repeated parameter uses its first value.
 */
export function parseSearchQuery(
  query: Readonly<Record<string, unknown>>,
  limits: SearchLimits,
): SearchParams {
  const get = (name: string): unknown => {
    const key = Object.keys(query).find((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : query[key];
    return Array.isArray(value) ? (value as unknown[])[0] : value;
  };
  return build(
    {
      filter: get('filter'),
      attributes: get('attributes'),
      excludedAttributes: get('excludedAttributes'),
      sortBy: get('sortBy'),
      sortOrder: get('sortOrder'),
      startIndex: get('startIndex'),
      count: get('count'),
      cursor: get('cursor'),
    },
    limits,
  );
}

/**
 * Validates a SearchRequest body of `POST /.search` (RFC 7644 §3.4.3): the SearchRequest schema URN, then the
 * same parameters as a GET, with `attributes` / `excludedAttributes` as arrays (a comma-separated string is accepted).
 */
export function parseSearchRequest(body: unknown, limits: SearchLimits): SearchParams {
  if (!isPlainObject(body)) throw invalidSyntax('A search request body must be a JSON object.');
  const schemas = body.schemas;
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.SearchRequest.toLowerCase())
  ) {
    throw invalidSyntax(`A search request must have "schemas": ["${URN.SearchRequest}"].`);
  }
  const get = (name: string): unknown => {
    const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : body[key];
  };
  return build(
    {
      filter: get('filter'),
      attributes: get('attributes'),
      excludedAttributes: get('excludedAttributes'),
      sortBy: get('sortBy'),
      sortOrder: get('sortOrder'),
      startIndex: get('startIndex'),
      count: get('count'),
      cursor: get('cursor'),
    },
    limits,
  );
}

interface RawSearch {
  filter: unknown;
  attributes: unknown;
  excludedAttributes: unknown;
  sortBy: unknown;
  sortOrder: unknown;
  startIndex: unknown;
  count: unknown;
  cursor: unknown;
}

function build(raw: RawSearch, limits: SearchLimits): SearchParams {
  const { startIndex, count } = parsePagination({ startIndex: raw.startIndex, count: raw.count }, limits);
  const params: SearchParams = {
    attributes: nameList(raw.attributes, 'attributes'),
    excludedAttributes: nameList(raw.excludedAttributes, 'excludedAttributes'),
    sortOrder: parseSortOrder(optionalString(raw.sortOrder, 'sortOrder')),
    startIndex,
    count,
  };
  const filter = optionalString(raw.filter, 'filter');
  if (filter !== undefined && filter.trim() !== '') params.filter = parseFilter(filter, limits.filter);
  const sortBy = optionalString(raw.sortBy, 'sortBy');
  if (sortBy) params.sortBy = sortBy;
  const cursor = optionalString(raw.cursor, 'cursor');
  if (cursor !== undefined) params.cursor = cursor;
  return params;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(`"${name}" must be a string.`);
  return value;
}

function nameList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  const parts =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? value
        : undefined;
  if (!parts) throw invalidValue(`"${name}" must be a list of attribute names.`);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}
