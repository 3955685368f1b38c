// Runs a query of filterToMongo's through mingo (npm), a well-kept implementation of MongoDB's query language, so
// that the property tests compare the translation with MongoDB's semantics rather than with our reading of them.
// The one adaptation is the regex dialect: MongoDB runs PCRE, mingo JavaScript's RegExp. The translation anchors
// the end with PCRE's `\z` (its `$` also matches before a trailing newline); JavaScript has no `\z` (it reads it as
// "z"), and its `$` without the `m` flag is exactly `\z`. Every other construct the translation writes (`^`, escaped
// metacharacters, the `i` option) means the same in both.
import { Query } from 'mingo';

type Doc = Record<string, unknown>;

/** The operators filterToMongo may emit: a new one must be looked at here (and its dialect checked) first. */
const OPERATORS = new Set([
  '$and',
  '$or',
  '$nor',
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$exists',
  '$regex',
  '$options',
  '$elemMatch',
]);

/** PCRE → JavaScript: `\z` becomes an end anchor; escapes are read pairwise so `\\z` (a backslash, then z) stays. */
export function pcreToJs(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = pattern[i + 1];
    out += next === 'z' ? '(?![\\s\\S])' : `\\${next ?? ''}`;
    i++;
  }
  return out;
}

function adapt(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(adapt);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Doc = {};
  for (const [key, inner] of Object.entries(value as Doc)) {
    if (key.startsWith('$') && !OPERATORS.has(key))
      throw new Error(`mingo adapter: unexpected operator ${key}`);
    if (key === '$regex') {
      if (typeof inner !== 'string') throw new Error('mingo adapter: $regex must be a string');
      const options = (value as Doc).$options;
      if (options !== undefined && options !== 'i')
        throw new Error(`mingo adapter: $options ${JSON.stringify(options)}`);
      out.$regex = pcreToJs(inner);
    } else out[key] = adapt(inner);
  }
  return out;
}

/** A compiled query: `test(doc)` as MongoDB would answer `find(query)` for that one document. */
export function mingoQuery(query: Doc): { test(doc: Doc): boolean } {
  return new Query(adapt(query) as Doc);
}
