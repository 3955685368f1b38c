import { invalidCursor } from '../errors.js';
import type { MongoFilter } from '../filter/to-mongo.js';
import type { SortSpec } from './sort.js';

/** Position after the last resource of a page: its sort value and id (the tie-breaker). */
export interface CursorPosition {
  /** The stored sort field's value of the last resource (undefined when it had none, or for the `_id` order). */
  sortValue?: string | number | boolean | Date | null;
  id: string;
}

/**
 * RFC 9865 cursors are opaque to clients: base64url of a small JSON array `[version, id, tag, value]`. Dates are
 * tagged so they come back as Dates and compare correctly in the range query.
 */
export function encodeCursor(position: CursorPosition): string {
  const value = position.sortValue;
  const tagged = value instanceof Date ? ['d', value.getTime()] : value === undefined ? ['u'] : ['v', value];
  return Buffer.from(JSON.stringify([1, position.id, ...tagged]), 'utf8').toString('base64url');
}

/** @throws ScimError 400 invalidCursor (RFC 9865 §4) when the cursor was not produced by {@link encodeCursor}. */
export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('The cursor is not one this server issued.');
  }
  if (!Array.isArray(parsed) || parsed[0] !== 1 || typeof parsed[1] !== 'string')
    throw invalidCursor('The cursor is not one this server issued.');
  const id = parsed[1];
  switch (parsed[2]) {
    case 'u':
      return { id };
    case 'd':
      if (typeof parsed[3] === 'number') return { id, sortValue: new Date(parsed[3]) };
      break;
    case 'v': {
      const v: unknown = parsed[3];
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        return { id, sortValue: v };
      break;
    }
    default:
      break;
  }
  throw invalidCursor('The cursor is not one this server issued.');
}

/**
 * The range query selecting the resources after a cursor position in the given sort: `field > v or (field = v
 * and _id > id)` (reversed for descending). Resources without the sort field sort first in MongoDB's ascending
 * order; the query treats "missing" as smaller than every value so that they are paged too.
 */
export function cursorToMongo(sort: SortSpec, position: CursorPosition): MongoFilter {
  const after = sort.direction === 1 ? '$gt' : '$lt';
  if (sort.field === '_id') return { _id: { [after]: position.id } };
  const value = position.sortValue;
  if (value === undefined || value === null) {
    const missing = { $or: [{ [sort.field]: { $exists: false } }, { [sort.field]: null }] };
    if (sort.direction === 1)
      return {
        $or: [
          { $and: [missing, { _id: { $gt: position.id } }] },
          { [sort.field]: { $exists: true, $ne: null } },
        ],
      };
    return { $and: [missing, { _id: { $lt: position.id } }] };
  }
  const beyond: MongoFilter[] = [
    { [sort.field]: { [after]: value } },
    { [sort.field]: value, _id: { [after]: position.id } },
  ];
  if (sort.direction === -1) beyond.push({ [sort.field]: { $exists: false } });
  return { $or: beyond };
}

/** RFC 9865 §2.1: `cursor` present (even empty) selects cursor pagination; empty means the first page. */
export function isCursorRequest(params: { cursor?: unknown }): boolean {
  return typeof params.cursor === 'string';
}
