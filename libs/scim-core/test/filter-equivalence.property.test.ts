import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  escapeRegex,
  evaluateCompiled,
  type CompiledFilter,
  evaluateFilter,
  filterToMongo,
  filterToMongoSync,
  fromStored,
  parseFilter,
  toStored,
  validateCreate,
  type MongoFilter,
} from '../src/index.js';
import {
  text,
  multiValuedUserArbitrary,
  userArbitrary,
  userFilterArbitrary,
  valueFilterArbitrary,
  type GeneratedUser,
} from './support/generators.js';
import { mingoQuery } from './support/mingo.js';

const matches = (doc: Record<string, unknown>, query: MongoFilter) => mingoQuery(query).test(doc);

const registry = createRegistry();
const users = registry.resourceType('User');
const groups = registry.resourceType('Group');

function store(generated: GeneratedUser[]) {
  return generated.map((g, i) => {
    const { resource } = validateCreate(users, g.body);
    return toStored(
      users,
      { ...resource, id: `u${String(i).padStart(3, '0')}` },
      { created: g.created, lastModified: g.lastModified, version: 1 },
    );
  });
}

describe('filter back ends agree', () => {
  it('selects the same users in memory and through the Mongo translation, for random users and filters', () => {
    let discriminating = 0;
    fc.assert(
      fc.property(
        fc.array(userArbitrary, { minLength: 1, maxLength: 12 }),
        userFilterArbitrary,
        (generated, text) => {
          const docs = store(generated);
          const ast = parseFilter(text);
          const inMemory = docs
            .filter((d) => evaluateFilter(ast, users, fromStored(users, d)))
            .map((d) => d._id);
          // With $elemMatch (MongoDB) the translation is always exact.
          const withElemMatch = filterToMongoSync(ast, users, { elemMatch: true });
          expect(withElemMatch.exact).toBe(true);
          expect(
            docs.filter((d) => matches(d, withElemMatch.query)).map((d) => d._id),
            `${text}\n${JSON.stringify(withElemMatch.query)}`,
          ).toEqual(inMemory);
          // Without it (FerretDB) the query is exact or a superset that the evaluator narrows down.
          const relaxed = filterToMongoSync(ast, users);
          const candidates = docs.filter((d) => matches(d, relaxed.query));
          expect(
            candidates.map((d) => d._id),
            `superset for ${text}`,
          ).toEqual(expect.arrayContaining(inMemory));
          if (relaxed.exact)
            expect(
              candidates.map((d) => d._id),
              `${text}\n${JSON.stringify(relaxed.query)}`,
            ).toEqual(inMemory);
          if (inMemory.length > 0 && inMemory.length < docs.length) discriminating++;
        },
      ),
      { numRuns: 600 },
    );
    // Guard against a vacuous property: many generated filters must select some users but not all.
    expect(discriminating).toBeGreaterThan(100);
  });

  it('translates `sw` on a keyed attribute to an anchored, escaped, case-sensitive prefix of the lower-cased key, with the same answer', () => {
    // The form MongoDB bounds on the `{orgId, userNameKey}` index (docs/query-shapes.md): `^` + the escaped,
    // lower-cased value and no `i` option. Values and names are drawn from regex metacharacters and mixed case.
    let discriminating = 0;
    fc.assert(
      fc.property(
        fc.array(userArbitrary, { minLength: 1, maxLength: 12 }),
        fc.oneof(text(2), text(4)),
        (generated, value) => {
          const docs = store(generated);
          const ast = parseFilter(`userName sw ${JSON.stringify(value)}`);
          for (const elemMatch of [true, false]) {
            const { query, exact } = filterToMongoSync(ast, users, { elemMatch });
            expect(exact).toBe(true);
            expect(query).toEqual({ userNameKey: { $regex: `^${escapeRegex(value.toLowerCase())}` } });
            const inMemory = docs
              .filter((d) => evaluateFilter(ast, users, fromStored(users, d)))
              .map((d) => d._id);
            expect(
              docs.filter((d) => matches(d, query)).map((d) => d._id),
              JSON.stringify(query),
            ).toEqual(inMemory);
            if (elemMatch && inMemory.length > 0 && inMemory.length < docs.length) discriminating++;
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(discriminating).toBeGreaterThan(20);
  });

  it('agrees on value filters over multi-valued complex attributes: $elemMatch exact, the relaxed form a superset', () => {
    let discriminating = 0;
    // Cases where conditions met on different elements fool the relaxed query: $elemMatch is what tells them apart.
    let sameElementMatters = 0;
    fc.assert(
      fc.property(
        fc.array(multiValuedUserArbitrary, { minLength: 1, maxLength: 10 }),
        valueFilterArbitrary,
        (generated, text) => {
          const docs = store(generated);
          const ast = parseFilter(text);
          const inMemory = docs
            .filter((d) => evaluateFilter(ast, users, fromStored(users, d)))
            .map((d) => d._id);
          const mongodb = filterToMongoSync(ast, users, { elemMatch: true });
          expect(mongodb.exact).toBe(true);
          expect(
            docs.filter((d) => matches(d, mongodb.query)).map((d) => d._id),
            `${text}\n${JSON.stringify(mongodb.query)}`,
          ).toEqual(inMemory);
          const ferretdb = filterToMongoSync(ast, users);
          const candidates = docs.filter((d) => matches(d, ferretdb.query)).map((d) => d._id);
          expect(candidates, `superset for ${text}\n${JSON.stringify(ferretdb.query)}`).toEqual(
            expect.arrayContaining(inMemory),
          );
          if (ferretdb.exact)
            expect(candidates, `${text}\n${JSON.stringify(ferretdb.query)}`).toEqual(inMemory);
          if (inMemory.length > 0 && inMemory.length < docs.length) discriminating++;
          if (candidates.length > inMemory.length) sameElementMatters++;
        },
      ),
      { numRuns: 800 },
    );
    expect(discriminating).toBeGreaterThan(200);
    expect(sameElementMatters).toBeGreaterThan(20);
  });

  it('answers member filters through the resolver with the same result as evaluating attached members', async () => {
    const memberships = [
      { groupId: 'g1', member: { value: 'u1', type: 'User', display: 'Babs' } },
      { groupId: 'g1', member: { value: 'g2', type: 'Group' } },
      { groupId: 'g2', member: { value: 'u2', type: 'User', display: 'Kim' } },
    ];
    const groupDocs = ['g1', 'g2', 'g3'].map((id) =>
      toStored(groups, { id, displayName: id.toUpperCase() }, { version: 1 }),
    );
    const membersOf = (id: string) => memberships.filter((m) => m.groupId === id).map((m) => m.member);
    const filters = [
      'members.value eq "u1"',
      'members[type eq "Group"]',
      'members pr',
      'not (members pr)',
      'members[display co "bab" or value eq "u2"] and displayName sw "g"',
      'members.value ne "u1"',
      'members eq "g2"',
    ];
    for (const text of filters) {
      const ast = parseFilter(text);
      const { query } = await filterToMongo(ast, groups, {
        resolveExternal: ({ compiled }) => {
          const ids = groupDocs
            .filter((g) =>
              membersOf(g._id).some((m) => (compiled ? evaluateCompiledElement(compiled, m) : true)),
            )
            .map((g) => g._id);
          return Promise.resolve({ _id: { $in: ids } } satisfies MongoFilter);
        },
      });
      const viaMongo = groupDocs.filter((d) => matches(d, query)).map((d) => d._id);
      const inMemory = groupDocs
        .filter((d) => evaluateFilter(ast, groups, fromStored(groups, d, { members: membersOf(d._id) })))
        .map((d) => d._id);
      expect(viaMongo, text).toEqual(inMemory);
    }
  });
});

function evaluateCompiledElement(compiled: CompiledFilter, member: object): boolean {
  return evaluateCompiled(compiled, member as Record<string, unknown>);
}
