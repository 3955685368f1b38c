// The filter semantics of @scimbridge/scim-core, checked against a real MongoDB-wire server: documents stored
// with toStored, selected with find(filterToMongo(...)), must be exactly the ones evaluateFilter selects.
import {
  createRegistry,
  evaluateFilter,
  filterToMongoSync,
  fromStored,
  parseFilter,
  toStored,
  validateCreate,
  type StoredResource,
} from '@scimbridge/scim-core';
import fc from 'fast-check';
import { MongoClient, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userArbitrary, userFilterArbitrary } from '../../libs/scim-core/test/support/generators.js';

const registry = createRegistry();
const users = registry.resourceType('User');

let client: MongoClient;
let dbName: string;
let collection: Collection<StoredResource>;
let docs: StoredResource[];

beforeAll(async () => {
  client = new MongoClient(inject('mongodbUri'));
  await client.connect();
  dbName = `scim_core_equivalence_${process.pid}_${Date.now()}`;
  collection = client.db(dbName).collection<StoredResource>('users');
  const generated = fc.sample(userArbitrary, { numRuns: 80, seed: 7_644 });
  docs = generated.map((g, i) => {
    const { resource } = validateCreate(users, g.body);
    return toStored(
      users,
      { ...resource, id: `u${String(i).padStart(3, '0')}` },
      { created: g.created, lastModified: g.lastModified, version: 1 },
    );
  });
  await collection.insertMany(docs);
});

afterAll(async () => {
  await client?.db(dbName).dropDatabase();
  await client?.close();
});

/**
 * Runs the translation on the server the way the api does: an exact query is the answer; a superset query
 * (value filters whose conditions meet on one element, which FerretDB v1 cannot express) is narrowed with the evaluator.
 */
async function compare(
  text: string,
): Promise<{ viaServer: string[]; inMemory: string[]; candidates: string[] }> {
  const ast = parseFilter(text);
  const { query, exact } = filterToMongoSync(ast, users);
  const found = await collection.find(query).toArray();
  const candidates = found.map((d) => d._id).sort();
  const viaServer = (exact ? found : found.filter((d) => evaluateFilter(ast, users, fromStored(users, d))))
    .map((d) => d._id)
    .sort();
  const inMemory = docs
    .filter((d) => evaluateFilter(ast, users, fromStored(users, d)))
    .map((d) => d._id)
    .sort();
  return { viaServer, inMemory, candidates };
}

describe('scim-core filters on the MongoDB-wire server', () => {
  it('stores what toStored produces (no key with "." or "$") and reads it back unchanged', async () => {
    const first = docs[0] as StoredResource;
    const stored = await collection.findOne({ _id: first._id });
    expect(stored).toEqual(first);
  });

  const corpus = [
    'userName eq "a"',
    'userName sw "A"',
    'userName co "."',
    'userName ew "$"',
    'userName gt "b"',
    'displayName pr and not (title pr)',
    'emails[type eq "work" and value co "a"]',
    'emails[type eq "work"].value eq "a"',
    'emails[not (primary eq true)]',
    'nickName eq "A"',
    'title co "*"',
    'name.givenName sw "é"',
    'externalId eq "a"',
    'externalId ne "a"',
    'active eq "True"',
    'meta.lastModified gt "2020-01-02T00:00:00Z"',
    'meta.created le "2020-01-02T12:00:00Z" or active eq false',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr',
    'userName eq "$where"',
    'title eq null',
  ];
  for (const text of corpus) {
    it(`${text}: the server selects what the evaluator selects`, async () => {
      const { viaServer, inMemory, candidates } = await compare(text);
      expect(viaServer).toEqual(inMemory);
      expect(candidates).toEqual(expect.arrayContaining(inMemory));
    });
  }

  it('agrees with the evaluator for random filters (property)', async () => {
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(userFilterArbitrary, async (text) => {
        const { viaServer, inMemory, candidates } = await compare(text);
        expect(viaServer, text).toEqual(inMemory);
        expect(candidates, text).toEqual(expect.arrayContaining(inMemory));
        if (inMemory.length > 0 && inMemory.length < docs.length) discriminating++;
      }),
      { numRuns: 150, seed: 9_865 },
    );
    expect(discriminating).toBeGreaterThan(20);
  });
});
