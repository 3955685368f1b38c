import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  createRegistry,
  DEFAULT_FILTER_LIMITS,
  DEFAULT_PATCH_LIMITS,
  filterToMongo,
  parseFilter,
  ScimError,
  type ScimResource,
} from '../src/index.js';

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

function user(emails = 0): ScimResource {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: 'u1',
    userName: 'bjensen',
    ...(emails
      ? { emails: Array.from({ length: emails }, (_, i) => ({ value: `e${i}@x.test`, type: 'work' })) }
      : {}),
  };
}

function refusal(run: () => unknown): ScimError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function refusalAsync(run: () => Promise<unknown>): Promise<ScimError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('filter cost limits', () => {
  const terms = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "u${i}"`).join(' or ');

  it('accepts a filter at the term limit and refuses one past it, naming both figures', () => {
    expect(() => parseFilter(terms(DEFAULT_FILTER_LIMITS.maxTerms))).not.toThrow();
    const error = refusal(() => parseFilter(terms(DEFAULT_FILTER_LIMITS.maxTerms + 1)));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidFilter', refusal: 'filter_too_complex' });
    expect(error.detail).toContain(
      `${DEFAULT_FILTER_LIMITS.maxTerms + 1} terms, limit ${DEFAULT_FILTER_LIMITS.maxTerms}`,
    );
    expect(refusal(() => parseFilter(terms(3), { maxTerms: 2 })).refusal).toBe('filter_too_complex');
  });

  it('answers identical membership sub-filters once, one look-up at a time', async () => {
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const resolveExternal = async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return { _id: { $in: ['g1'] } };
    };
    const filter = parseFilter(Array.from({ length: 40 }, () => 'members pr').join(' or '));
    const translation = await filterToMongo(filter, groups, { resolveExternal });
    expect(calls).toBe(1);
    expect(translation.query).toMatchObject({ $or: expect.any(Array) });
    const distinct = parseFilter(
      ['a', 'b', 'c', 'd'].map((v) => `members[value eq "${v}"]`).join(' or ') + ' or members pr',
    );
    calls = 0;
    const error = await refusalAsync(() => filterToMongo(distinct, groups, { resolveExternal }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidFilter', refusal: 'filter_too_complex' });
    expect(calls).toBe(0);
    const four = parseFilter(['a', 'b', 'c', 'd'].map((v) => `members[value eq "${v}"]`).join(' or '));
    await filterToMongo(four, groups, { resolveExternal });
    expect(calls).toBe(4);
    expect(maxInFlight).toBe(1);
  });
});

describe('PATCH cost limits', () => {
  /** Attributes of up to 20 000 values, to exercise the other limits on large attributes. */
  const large = { ...DEFAULT_PATCH_LIMITS, maxAttributeValues: 20_000 };
  const addEmail = (i: number) => ({
    op: 'add',
    path: 'emails',
    value: [{ value: `n${i}@x.test`, type: 'home' }],
  });

  it('accepts the most operations allowed and refuses one more with 413', () => {
    const ops = Array.from({ length: DEFAULT_PATCH_LIMITS.maxOperations }, (_, i) => addEmail(i));
    expect(applyPatch(users, user(), patch(...ops)).resource.emails).toHaveLength(
      DEFAULT_PATCH_LIMITS.maxOperations,
    );
    const error = refusal(() => applyPatch(users, user(), patch(...ops, addEmail(-1))));
    expect(error).toMatchObject({ status: 413, refusal: 'patch_too_many_operations' });
    expect(error.detail).toContain(`${DEFAULT_PATCH_LIMITS.maxOperations + 1} operations`);
  });

  it('refuses an operation with more values than allowed', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `v${i}@x.test` }));
    expect(() =>
      applyPatch(users, user(), patch({ op: 'add', path: 'emails', value: values(10_000) }), {
        limits: large,
      }),
    ).not.toThrow();
    const error = refusal(() =>
      applyPatch(users, user(), patch({ op: 'add', path: 'emails', value: values(10_001) }), {
        limits: large,
      }),
    );
    expect(error).toMatchObject({ status: 413, refusal: 'patch_too_many_values' });
  });

  it('refuses a result with more values in one attribute than allowed, and a value list longer than that at once', () => {
    const max = DEFAULT_PATCH_LIMITS.maxAttributeValues;
    const error = refusal(() => applyPatch(users, user(max - 1), patch(addEmail(1), addEmail(2))));
    expect(error).toMatchObject({
      status: 400,
      scimType: 'invalidValue',
      refusal: 'attribute_too_many_values',
    });
    expect(error.detail).toContain(`${max + 1} values; at most ${max}`);
    expect(applyPatch(users, user(max - 1), patch(addEmail(1))).resource.emails).toHaveLength(max);
    const list = Array.from({ length: max + 1 }, (_, i) => ({ value: `l${i}@x.test` }));
    const early = refusal(() => applyPatch(users, user(), patch({ op: 'add', path: 'emails', value: list })));
    expect(early).toMatchObject({ refusal: 'attribute_too_many_values' });
  });

  it('appends linearly: 1,000 single-value adds to a 9,000-value attribute dedupe and finish quickly', () => {
    const ops = Array.from({ length: 1_000 }, (_, i) => ({
      op: 'add',
      path: 'emails',
      value: [{ value: `e${i % 500}@x.test`, type: 'work' }],
    }));
    const started = process.hrtime.bigint();
    const result = applyPatch(users, user(9_000), patch(...ops), { limits: large });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Every added value already exists (e0..e499 are among e0..e8999): nothing is duplicated.
    expect(result.resource.emails).toHaveLength(9_000);
    expect(result.changed).toEqual([]);
    // Quadratic matching (1,000 × 9,000 deep comparisons) took seconds; linear takes a few ms. Generous bound.
    expect(ms).toBeLessThan(1_000);
  });

  it('removes by value list with hash matching, case-insensitively on value', () => {
    const doomed = Array.from({ length: 5_000 }, (_, i) => ({ value: `E${i}@X.TEST` }));
    const result = applyPatch(users, user(10_000), patch({ op: 'remove', path: 'emails', value: doomed }), {
      limits: large,
    });
    expect(result.resource.emails).toHaveLength(5_000);
    expect((result.resource.emails as { value: string }[])[0]!.value).toBe('e5000@x.test');
  });

  it('refuses filtered operations whose visits exceed the budget, and allows them within it', () => {
    const filtered = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        op: 'replace',
        path: `emails[value eq "e${i}@x.test"].type`,
        value: 'home',
      }));
    const perOp = 10_000;
    const allowed = Math.floor(DEFAULT_PATCH_LIMITS.maxValueVisits / perOp);
    expect(() =>
      applyPatch(users, user(perOp), patch(...filtered(allowed)), { limits: large }),
    ).not.toThrow();
    const error = refusal(() =>
      applyPatch(users, user(perOp), patch(...filtered(allowed + 1)), { limits: large }),
    );
    expect(error).toMatchObject({ status: 400, refusal: 'patch_too_costly' });
  });

  it('refuses more member changes than allowed in one request', () => {
    const members = (n: number, prefix = 'm') =>
      Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}` }));
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g', displayName: 'G' };
    const limits = { ...DEFAULT_PATCH_LIMITS, maxMemberChanges: 1_500 };
    const ok = applyPatch(groups, group, patch({ op: 'add', path: 'members', value: members(1_500) }), {
      limits,
    });
    expect(ok.members?.add).toHaveLength(1_500);
    const error = refusal(() =>
      applyPatch(
        groups,
        group,
        patch(
          { op: 'add', path: 'members', value: members(1_000) },
          { op: 'remove', path: 'members', value: members(501, 'r') },
        ),
        { limits },
      ),
    );
    expect(error).toMatchObject({ status: 413, refusal: 'patch_too_many_values' });
  });
});
