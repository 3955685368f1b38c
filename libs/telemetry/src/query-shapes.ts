import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The query-shape audit (issue 15, docs/query-shapes.md): with `SCIMBRIDGE_QUERY_SHAPES_DIR` set, every process
 * that attaches command monitoring (`observeMongoCommands`, or `recordQueryShapes` for an in-process test app)
 * appends each distinct normalised shape of the commands it sends to `<dir>/<service>-<pid>.jsonl`, one JSON line
 * per shape. The checker (test/query-shapes) tests every recorded shape against the declared indexes. No value
 * is ever recorded: only field names, operators, sort directions and whether a limit was given.
 */
export const QUERY_SHAPES_DIR_ENV = 'SCIMBRIDGE_QUERY_SHAPES_DIR';

/**
 * A filter's shape: each field maps to `eq` (a value or `$eq`), to its operators joined by `,` in sorted order
 * (`$gte,$lt`, `$in`, `$exists`, `$ne`), or to `{ $elemMatch: FilterShape }` for a query on array elements;
 * `$or`, `$and` and `$nor` map to their branches' shapes.
 */
export interface FilterShape {
  [field: string]: string | FilterShape | FilterShape[];
}

export interface QueryShape {
  /** Which process sent it: `scim-api`, `scim-worker`, `scim-controller`, `scim-api (in-process)`, … */
  service: string;
  /**
   * The store profile (libs/store profile.ts) the sender chose its query shapes with, when it has one: the audit
   * checks the MongoDB profile's shapes as they are and the FerretDB profile's against their MongoDB counterparts
   * (docs/query-shapes.md). Absent: the sender's queries are the same on both servers.
   */
  profile?: string;
  /** '' for a command on the database itself (`buildInfo`, `dropDatabase`, …). */
  collection: string;
  /** find, findAndModify, update, delete, aggregate, count, distinct, insert, or the command name. */
  operation: string;
  filter?: FilterShape;
  /** Sort fields in order, with their directions. */
  sort?: [string, number][];
  /** Projected field names (sorted). */
  projection?: string[];
  /** A limit was given (find, delete of one, `findAndModify` is always one document). */
  limit?: boolean;
  /** An update or delete of every match (`multi: true` / `limit: 0`). */
  multi?: boolean;
  upsert?: boolean;
  /** distinct: the field. */
  key?: string;
  /** aggregate: the stage names in order (the filter and sort come from the leading `$match` / `$sort`). */
  stages?: string[];
}

/** Connection housekeeping and cursor continuations: not queries of their own. */
const NOT_QUERIES = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'ping',
  'endSessions',
  'saslStart',
  'saslContinue',
  'getMore',
  'killCursors',
]);

const LOGICAL = new Set(['$or', '$and', '$nor']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

const isOperatorObject = (value: unknown): value is Record<string, unknown> =>
  isPlainObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => k.startsWith('$'));

/** The shape of a MongoDB query filter: field names and operators, no values. Keys are sorted. */
export function filterShape(filter: unknown): FilterShape {
  const shape: FilterShape = {};
  if (!isPlainObject(filter)) return shape;
  for (const field of Object.keys(filter).sort()) {
    const value = filter[field];
    if (LOGICAL.has(field)) {
      shape[field] = Array.isArray(value) ? value.map((branch) => filterShape(branch)) : [];
    } else if (field.startsWith('$')) {
      shape[field] = 'expr'; // $expr, $text, $where, $comment: opaque
    } else {
      shape[field] = predicateShape(value);
    }
  }
  return shape;
}

function predicateShape(value: unknown): string | FilterShape {
  if (!isOperatorObject(value)) return 'eq';
  const elemMatch = value.$elemMatch;
  if (Object.keys(value).length === 1 && elemMatch !== undefined) {
    // `{$elemMatch: {$gt: 1}}` matches values, `{$elemMatch: {type: 'work'}}` sub-documents.
    return isOperatorObject(elemMatch) && !Object.keys(elemMatch).some((k) => LOGICAL.has(k))
      ? { $elemMatch: { '': operators(elemMatch) } }
      : { $elemMatch: filterShape(elemMatch) };
  }
  return operators(value);
}

function operators(value: Record<string, unknown>): string {
  const ops = Object.keys(value)
    .filter((op) => op !== '$options') // belongs to $regex
    .map((op) =>
      op === '$eq'
        ? 'eq'
        : op === '$exists' && value[op] === false
          ? '$exists:false'
          : op === '$regex' && isPrefixPattern(value.$regex, value.$options)
            ? '$regex:prefix'
            : op,
    );
  return [...new Set(ops)].sort().join(',');
}

/**
 * Whether a `$regex` is one MongoDB bounds on an index as a prefix range (its "simple regex" rule): anchored with
 * `^` (not multi-line), case-sensitive (no options), starting with at least one literal character (a letter or
 * digit, or an escaped non-alphanumeric one), and without an alternation. The shape records only this verdict
 * (`$regex:prefix`), never the pattern.
 */
export function isPrefixPattern(pattern: unknown, options: unknown): boolean {
  const source = typeof pattern === 'string' ? pattern : pattern instanceof RegExp ? pattern.source : null;
  const flags =
    (typeof options === 'string' ? options : '') + (pattern instanceof RegExp ? pattern.flags : '');
  if (source === null || flags.length > 0 || !source.startsWith('^')) return false;
  if (/(^|[^\\])(\\\\)*\|/.test(source)) return false; // an unescaped `|`
  const first = source.slice(1, 3);
  if (first.length === 0) return false;
  if (first[0] === '\\') return first.length === 2 && !/[A-Za-z0-9]/.test(first[1]!);
  // A literal made optional by a quantifier bounds nothing.
  return !'.*+?()[]{}|^$'.includes(first[0]!) && !(source.length > 2 && '*?{'.includes(source[2]!));
}

/**
 * The sort as `[field, direction]` pairs. The driver (v7) hands `commandStarted` a find's sort as a `Map` (it keeps
 * the key order that way); an aggregate's `$sort` stage and hand-built commands are plain objects.
 */
function sortShape(sort: unknown): [string, number][] | undefined {
  const entries =
    sort instanceof Map
      ? [...(sort as Map<unknown, unknown>).entries()].map(([k, v]) => [String(k), v] as const)
      : isPlainObject(sort)
        ? Object.entries(sort)
        : [];
  if (entries.length === 0) return undefined;
  return entries.map(([field, direction]) => [field, direction === -1 || direction === 'desc' ? -1 : 1]);
}

function projectionShape(projection: unknown): string[] | undefined {
  if (!isPlainObject(projection) || Object.keys(projection).length === 0) return undefined;
  return Object.keys(projection).sort();
}

const present = <T>(value: T | undefined | false): value is T => value !== undefined && value !== false;

function compact(shape: QueryShape): QueryShape {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(shape)) if (present(v)) out[k] = v;
  return out as unknown as QueryShape;
}

/**
 * The shapes of one command as the driver sends it (`commandStarted`'s `commandName` and `command`): one per
 * statement of a bulk `update` or `delete`, none for housekeeping and cursor continuations.
 */
export function commandShapes(
  commandName: string,
  command: Record<string, unknown>,
  service: string,
): QueryShape[] {
  if (NOT_QUERIES.has(commandName)) return [];
  const target = command[commandName];
  const collection = typeof target === 'string' ? target : '';
  const base = { service, collection };
  switch (commandName) {
    case 'find':
      return [
        compact({
          ...base,
          operation: 'find',
          filter: filterShape(command.filter),
          sort: sortShape(command.sort),
          projection: projectionShape(command.projection),
          limit: command.limit !== undefined || command.singleBatch === true,
        }),
      ];
    case 'findAndModify':
      return [
        compact({
          ...base,
          operation: 'findAndModify',
          filter: filterShape(command.query),
          sort: sortShape(command.sort),
          projection: projectionShape(command.fields),
          limit: true,
          upsert: command.upsert === true,
        }),
      ];
    case 'update':
      return statements(command.updates).map((u) =>
        compact({
          ...base,
          operation: 'update',
          filter: filterShape(u.q),
          multi: u.multi === true,
          upsert: u.upsert === true,
        }),
      );
    case 'delete':
      return statements(command.deletes).map((d) =>
        compact({
          ...base,
          operation: 'delete',
          filter: filterShape(d.q),
          multi: d.limit === 0 || d.limit === undefined,
        }),
      );
    case 'count':
      return [
        compact({
          ...base,
          operation: 'count',
          filter: filterShape(command.query),
          limit: command.limit !== undefined,
        }),
      ];
    case 'distinct':
      return [
        compact({
          ...base,
          operation: 'distinct',
          key: typeof command.key === 'string' ? command.key : '',
          filter: filterShape(command.query),
        }),
      ];
    case 'aggregate': {
      const pipeline = Array.isArray(command.pipeline) ? (command.pipeline as Record<string, unknown>[]) : [];
      const stages = pipeline.map((stage) => Object.keys(stage)[0] ?? '');
      const first = pipeline[0];
      const match = first && '$match' in first ? first.$match : undefined;
      const next = pipeline[match === undefined ? 0 : 1];
      const sort = next && '$sort' in next ? next.$sort : undefined;
      const limited = stages.includes('$limit');
      return [
        compact({
          ...base,
          operation: 'aggregate',
          filter: filterShape(match),
          sort: sortShape(sort),
          limit: limited,
          stages,
        }),
      ];
    }
    case 'insert':
      return [{ ...base, operation: 'insert' }];
    default:
      return [{ ...base, operation: commandName }];
  }
}

function statements(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

/** A canonical text of a shape (without its service), the key of docs/query-shapes.md's table. */
export function shapeKey(shape: QueryShape): string {
  const { service: _service, profile: _profile, ...rest } = shape;
  return JSON.stringify(rest);
}

interface CommandStartedSource {
  on(
    event: 'commandStarted',
    listener: (event: { commandName: string; command: Record<string, unknown> }) => void,
  ): unknown;
}

export interface RecordQueryShapesOptions {
  service: string;
  /** Only commands for which this returns true are recorded (an in-process app: those sent inside a request). */
  include?: () => boolean;
  /** Default: `SCIMBRIDGE_QUERY_SHAPES_DIR`; nothing is recorded when neither is set. */
  dir?: string;
  /** The store profile the sender's query shapes come from (`StoreProfile.server`), recorded with each shape. */
  profile?: string;
}

/**
 * Appends every distinct shape the client sends to `<dir>/<service>-<pid>.jsonl` (deduplicated in memory, one
 * synchronous append per new shape: a few hundred per process over a whole test run). The client must have been
 * created with `monitorCommands: true`. Returns false when recording is off.
 */
export function recordQueryShapes(client: CommandStartedSource, options: RecordQueryShapesOptions): boolean {
  const dir = options.dir ?? process.env[QUERY_SHAPES_DIR_ENV];
  if (!dir) return false;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${options.service.replace(/[^\w.-]+/g, '_')}-${process.pid}.jsonl`);
  const seen = new Set<string>();
  client.on('commandStarted', (event) => {
    if (options.include && !options.include()) return;
    for (const shape of commandShapes(event.commandName, event.command, options.service)) {
      const line = JSON.stringify(options.profile ? { ...shape, profile: options.profile } : shape);
      if (seen.has(line)) continue;
      seen.add(line);
      try {
        appendFileSync(file, `${line}\n`);
      } catch {
        // Recording is a test aid: it never fails the service.
      }
    }
  });
  return true;
}
