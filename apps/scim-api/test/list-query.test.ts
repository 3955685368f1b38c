import { describe, expect, it } from 'vitest';
import { conjunction } from '../src/resources/list.js';

// The list query's shape decides what FerretDB pushes down to its backend (docs/testing.md "Known limits"): a
// flat document has its equality conditions pushed, anything under a top-level `$and` is read in full.
describe('conjunction of scope and filter', () => {
  const scope = { orgId: 'o1', 'scim.deletedAt': null, 'scim.managed': true };

  it('merges a filter of plain fields into one flat document', () => {
    expect(conjunction(scope, { userNameKey: 'a@x' })).toEqual({ ...scope, userNameKey: 'a@x' });
  });

  it('keeps $and when the filter repeats a scope field, so neither condition replaces the other', () => {
    const filter = { orgId: 'o2' };
    expect(conjunction(scope, filter)).toEqual({ $and: [scope, filter] });
  });

  it('keeps $and for a filter with a top-level operator', () => {
    const filter = { $or: [{ userNameKey: 'a' }, { externalId: 'b' }] };
    expect(conjunction(scope, filter)).toEqual({ $and: [scope, filter] });
  });

  it('treats inherited names as fields, not as collisions with the prototype', () => {
    expect(conjunction({ orgId: 'o1' }, { constructor: 1 })).toEqual({ orgId: 'o1', constructor: 1 });
  });
});
