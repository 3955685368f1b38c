import { describe, expect, it } from 'vitest';
import { checkShape, shapeText, type CollectionPolicy, type DeclaredIndex } from '../src/query-plan.js';
import type { QueryShape } from '../src/query-shapes.js';

const indexes: DeclaredIndex[] = [
  { collection: 'users', key: { orgId: 1, userNameKey: 1 }, options: { unique: true } },
  { collection: 'users', key: { orgId: 1, externalId: 1 } },
  { collection: 'events', key: { orgId: 1, occurredAt: 1, action: 1 } },
  { collection: 'events', key: { dispatchedAt: 1, occurredAt: 1 } },
  { collection: 'tokens', key: { hash: 1 }, options: { unique: true } },
];
const shardKey = { orgId: 1, _id: 1 } as const;
const policies: Record<string, CollectionPolicy> = {
  users: { orgField: 'orgId', shardKey, residual: ['scim.managed'] },
  events: { orgField: 'orgId', shardKey },
  tokens: { orgField: 'orgId', shardKey },
  relay: { orgField: null },
};
const find = (
  collection: string,
  filter: QueryShape['filter'],
  extra: Partial<QueryShape> = {},
): QueryShape => ({
  service: 'test',
  collection,
  operation: 'find',
  filter,
  ...extra,
});
const check = (shape: QueryShape) => checkShape(shape, indexes, policies);

describe('checkShape: shapes that pass', () => {
  it('an anchored case-sensitive prefix (`sw` on a stored key) is an index range; any other pattern is not', () => {
    const prefix = check(find('users', { orgId: 'eq', userNameKey: '$regex:prefix', 'scim.managed': 'eq' }));
    expect(prefix).toMatchObject({ ok: true, indexes: ['{orgId: 1, userNameKey: 1}'] });
    expect(prefix.bounded).toBe('index range on orgId, userNameKey');
    expect(check(find('users', { orgId: 'eq', userNameKey: '$regex' })).problems).toEqual([
      'regex on userNameKey is not bounded by {orgId: 1, _id: 1} (filtered after the scan)',
    ]);
  });

  it('an equality lookup on a unique compound index is one document', () => {
    const plan = check(find('users', { orgId: 'eq', userNameKey: 'eq' }, { sort: [['_id', 1]] }));
    expect(plan).toMatchObject({ ok: true, indexes: ['{orgId: 1, userNameKey: 1}'] });
    expect(plan.bounded).toBe('one document (unique {orgId: 1, userNameKey: 1})');
  });

  it('residual predicates outside the index are fine; the shard-key index serves orgId + _id', () => {
    expect(check(find('users', { orgId: 'eq', externalId: 'eq', 'scim.managed': 'eq' })).ok).toBe(true);
    const page = check(find('users', { orgId: 'eq', _id: '$gt' }, { sort: [['_id', 1]], limit: true }));
    expect(page).toMatchObject({
      ok: true,
      indexes: ['{orgId: 1, _id: 1}'],
      bounded: 'index range on orgId, _id, limited',
    });
    expect(check(find('users', { orgId: 'eq', _id: '$in' })).ok).toBe(true);
  });

  it('equality, then sort, then range (ESR), and a sort read backwards', () => {
    expect(
      check(find('events', { orgId: 'eq', occurredAt: '$gte,$lt' }, { sort: [['occurredAt', -1]] })).ok,
    ).toBe(true);
    expect(
      check(
        find(
          'events',
          { orgId: 'eq' },
          {
            sort: [
              ['occurredAt', 1],
              ['action', 1],
            ],
          },
        ),
      ).ok,
    ).toBe(true);
  });

  it('every $or branch indexed and targeted', () => {
    const plan = check(find('users', { orgId: 'eq', $or: [{ externalId: 'eq' }, { userNameKey: 'eq' }] }));
    expect(plan).toMatchObject({
      ok: true,
      indexes: ['{orgId: 1, externalId: 1}', '{orgId: 1, userNameKey: 1}'],
    });
  });

  it('$elemMatch fields are dotted paths; a collection that is not organisation-scoped needs no orgId', () => {
    const withEmails = [
      ...indexes,
      { collection: 'users', key: { orgId: 1, 'emails.valueKey': 1 } as const },
    ];
    const shape = find('users', { orgId: 'eq', emails: { $elemMatch: { valueKey: 'eq' } } });
    expect(checkShape(shape, withEmails, policies)).toMatchObject({
      ok: true,
      indexes: ['{orgId: 1, emails.valueKey: 1}'],
    });
    const typed = find('users', { orgId: 'eq', emails: { $elemMatch: { type: 'eq', valueKey: 'eq' } } });
    expect(checkShape(typed, withEmails, policies).problems).toEqual([
      'equality on emails.type is not bounded by {orgId: 1, emails.valueKey: 1} (filtered after the scan)',
    ]);
    const relay = checkShape(
      find('relay', { at: '$lt' }),
      [{ collection: 'relay', key: { at: 1 } }],
      policies,
    );
    expect(relay.ok).toBe(true);
  });

  it('inserts pass', () => {
    expect(check({ service: 's', collection: 'users', operation: 'insert' }).ok).toBe(true);
  });
});

describe('checkShape: shapes that must fail', () => {
  it('missing orgId: not targeted, even when an index serves it', () => {
    const byId = check(find('users', { _id: 'eq' }));
    expect(byId.ok).toBe(false);
    expect(byId.problems).toEqual(['no equality on orgId: not targeted on the shard key (scatter-gather)']);
    const byHash = check(find('tokens', { hash: 'eq' }));
    expect(byHash.problems[0]).toMatch(/no equality on orgId/);
    expect(check(find('users', { orgId: '$in', userNameKey: 'eq' })).ok).toBe(true); // $in is equality on points
    expect(check(find('users', { orgId: '$ne', userNameKey: 'eq' })).problems[0]).toMatch(
      /no equality on orgId/,
    );
  });

  it('a collection scan: no index whose first key is bounded', () => {
    const plan = check(find('users', { orgId: 'eq', displayName: 'eq' }));
    expect(plan.problems).toEqual([
      'equality on displayName is not bounded by {orgId: 1, _id: 1} (filtered after the scan)',
    ]);
    expect(check(find('users', { orgId: 'eq', externalId: 'eq', title: '$regex' })).problems).toEqual([
      'regex on title is not bounded by {orgId: 1, externalId: 1} (filtered after the scan)',
    ]);
    expect(check(find('users', { orgId: 'eq', externalId: 'eq', title: '$exists' })).problems).toEqual([
      'presence on title is not bounded by {orgId: 1, externalId: 1} (filtered after the scan)',
    ]);
    const scan = check(find('relay', {}));
    expect(scan.problems).toEqual(['no index is bounded by the filter (collection scan)']);
    const negated = checkShape(
      find('relay', { at: '$ne' }),
      [{ collection: 'relay', key: { at: 1 } }],
      policies,
    );
    expect(negated.problems).toEqual(['no index is bounded by the filter (collection scan)']);
  });

  it('range before equality', () => {
    const plan = check(find('events', { orgId: 'eq', occurredAt: '$gt', action: 'eq' }));
    expect(plan.ok).toBe(false);
    expect(plan.problems).toEqual([
      'equality on action is not in the bounded prefix of {orgId: 1, occurredAt: 1, action: 1} (ESR: equality, sort, range)',
    ]);
  });

  it('sort not covered by the index after its equality prefix', () => {
    const plan = check(find('users', { orgId: 'eq', externalId: 'eq' }, { sort: [['meta.created', 1]] }));
    expect(plan.ok).toBe(false);
    expect(plan.problems.join()).toMatch(/sort \{meta.created: 1\} is not served/);
    // Mixed directions cannot be read from one index.
    expect(
      check(
        find(
          'events',
          { orgId: 'eq' },
          {
            sort: [
              ['occurredAt', 1],
              ['action', -1],
            ],
          },
        ),
      ).ok,
    ).toBe(false);
  });

  it('an $or branch without an index (or without orgId)', () => {
    const plan = check(find('users', { orgId: 'eq', $or: [{ externalId: 'eq' }, { displayName: 'eq' }] }));
    expect(plan.problems).toEqual([
      '$or branch 2: equality on displayName is not bounded by {orgId: 1, _id: 1} (filtered after the scan)',
    ]);
    const unindexed = checkShape(
      find('relay', { $or: [{ at: '$lt' }, { other: 'eq' }] }),
      [{ collection: 'relay', key: { at: 1 } }],
      policies,
    );
    expect(unindexed.problems).toEqual(['$or branch 2: no index is bounded by the filter (collection scan)']);
    const untargeted = check(
      find('users', { $or: [{ orgId: 'eq', externalId: 'eq' }, { userNameKey: 'eq' }] }),
    );
    expect(untargeted.problems).toContain(
      '$or branch 2: no equality on orgId: not targeted on the shard key (scatter-gather)',
    );
  });

  it('admin commands and unknown collections fail unless allow-listed', () => {
    expect(check({ service: 's', collection: 'users', operation: 'createIndexes' }).problems).toEqual([
      'createIndexes is not a query (admin command)',
    ]);
    expect(check(find('devices', { orgId: 'eq' })).problems[0]).toMatch(/no declared policy/);
  });
});

describe('shapeText', () => {
  it('is one readable line', () => {
    expect(
      shapeText(
        find(
          'users',
          { orgId: 'eq', emails: { $elemMatch: { valueKey: 'eq' } }, $or: [{ a: 'eq' }] },
          { sort: [['_id', 1]], limit: true },
        ),
      ),
    ).toBe('find users {orgId: eq, emails: $elemMatch {valueKey: eq}, $or: [{a: eq}]} sort {_id: 1} limit');
  });
});
