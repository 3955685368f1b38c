import { URN } from '../urns.js';

/** RFC 7644 §3.4.2 ListResponse; with RFC 9865 §2.2 cursor fields when cursor pagination is used. */
export interface ListResponse<T> {
  schemas: [typeof URN.ListResponse];
  totalResults: number;
  startIndex?: number;
  itemsPerPage: number;
  nextCursor?: string;
  previousCursor?: string;
  Resources: T[];
}

export interface ListResponseInput {
  totalResults: number;
  /** Index pagination: the 1-based index of the first result. Omitted for cursor pagination. */
  startIndex?: number;
  nextCursor?: string;
  previousCursor?: string;
}

/**
 * Builds a ListResponse. `totalResults`, `startIndex` and `itemsPerPage` are integers (Okta rejects strings);
 * `Resources` is always present, empty for no match (Okta, Entra and OneLogin probe with a non-existent userName
 * and expect `200` with `totalResults: 0`).
 */
export function listResponse<T>(resources: readonly T[], input: ListResponseInput): ListResponse<T> {
  const body: ListResponse<T> = {
    schemas: [URN.ListResponse],
    totalResults: Math.trunc(input.totalResults),
    itemsPerPage: resources.length,
    Resources: [...resources],
  };
  if (input.startIndex !== undefined) body.startIndex = Math.trunc(input.startIndex);
  if (input.nextCursor !== undefined) body.nextCursor = input.nextCursor;
  if (input.previousCursor !== undefined) body.previousCursor = input.previousCursor;
  return body;
}
