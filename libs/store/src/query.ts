/**
 * A condition matching any of `values`: the value itself when there is one, `$in` otherwise. The same query to
 * MongoDB (an `$in` of one is an equality to its planner); FerretDB pushes an equality down to its backend but
 * reads the whole collection for any `$in` (docs/testing.md "Known limits of the test server"), and a page of
 * one resource (an IdP's lookup) is the common case.
 */
export function anyOf<T>(values: readonly T[]): T | { $in: T[] } {
  return values.length === 1 ? values[0]! : { $in: [...values] };
}
