import { invalidValue } from '../errors.js';

export interface PaginationLimits {
  /** Page size when the client names none. */
  defaultCount: number;
  /** The server's cap, advertised as `filter.maxResults`. */
  maxResults: number;
}

export interface Pagination {
  startIndex: number;
  count: number;
}

/**
 * RFC 7644 §3.4.2.4: `startIndex` is 1-based and a value below 1 is read as 1; `count` below 0 is read as 0
 * (`count=0` asks for `totalResults` only); the server caps `count` at its maximum. Values arrive as query
 * strings or JSON numbers; anything that is not an integer is a 400 invalidValue.
 */
export function parsePagination(
  params: { startIndex?: unknown; count?: unknown },
  limits: PaginationLimits,
): Pagination {
  const startIndex = readInteger(params.startIndex, 'startIndex') ?? 1;
  const count = readInteger(params.count, 'count') ?? limits.defaultCount;
  return { startIndex: Math.max(1, startIndex), count: Math.min(Math.max(0, count), limits.maxResults) };
}

export function readInteger(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(n))
    throw invalidValue(`"${name}" must be an integer, but ${JSON.stringify(value)} was sent.`);
  return n;
}
