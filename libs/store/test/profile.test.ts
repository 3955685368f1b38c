import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  FERRETDB_PROFILE,
  MONGODB_PROFILE,
  detectStoreProfile,
  credentialById,
  documentById,
  findInOrganisation,
  flatKeyField,
  profileFromBuildInfo,
  profileIndexes,
  withFlatKeys,
  serverFromBuildInfo,
  uuidv7,
} from '../src/index.js';

let connection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(inject('mongodbUri'), { dbName: `profile_${process.pid}` })
    .asPromise();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('store profile', () => {
  it('detects the embedded FerretDB from its buildInfo (the test server), unless overridden', async () => {
    // The suites run on FerretDB unless MONGODB_URI names another server: compare with what it says itself.
    const info = await connection.db!.admin().command({ buildInfo: 1 });
    const expected = 'ferretdbVersion' in info ? 'ferretdb' : 'mongodb';
    const detected = await detectStoreProfile(connection);
    expect(detected.server).toBe(expected);
    expect(detected.source).toBe('buildInfo');
    expect(await detectStoreProfile(connection, 'mongodb')).toMatchObject({
      server: 'mongodb',
      source: 'override',
      elemMatch: true,
    });
    expect(await detectStoreProfile(connection, 'ferretdb')).toMatchObject({
      server: 'ferretdb',
      source: 'override',
      elemMatch: false,
    });
  });

  it('tells MongoDB from FerretDB by the fields FerretDB adds to buildInfo', () => {
    // FerretDB v1.24 answers MongoDB's version numbers and adds its own fields.
    expect(serverFromBuildInfo({ version: '7.0.42', ferretdbVersion: 'v1.24.2', ferretdbFeatures: {} })).toBe(
      'ferretdb',
    );
    expect(
      serverFromBuildInfo({ version: '7.0.14', gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188' }),
    ).toBe('mongodb');
    expect(profileFromBuildInfo({ version: '8.0.4' })).toMatchObject({
      server: 'mongodb',
      version: '8.0.4',
      elemMatch: true,
      atomicReadModifyWrite: true,
      secondaryIndexes: true,
    });
    expect(profileFromBuildInfo({ version: '7.0.42', ferretdbVersion: 'v1.24.2' })).toMatchObject({
      server: 'ferretdb',
      version: 'v1.24.2',
      elemMatch: false,
      atomicReadModifyWrite: false,
      secondaryIndexes: false,
    });
    expect(FERRETDB_PROFILE.note).toMatch(/^embedded FerretDB v1 is for evaluation: no secondary indexes/);
  });

  it('writes a credential by its hash and id on MongoDB (the tokens shard key) and by _id alone on FerretDB', async () => {
    expect(credentialById(MONGODB_PROFILE, 'tok-1', 'h1')).toEqual({ hash: 'h1', _id: 'tok-1' });
    expect(credentialById(FERRETDB_PROFILE, 'tok-1', 'h1')).toEqual({ _id: 'tok-1' });
    const tokens = connection.collection<{ _id: string; hash: string; lastUsedAt?: Date }>('profile_tokens');
    await tokens.insertMany([
      { _id: 'tok-1', hash: 'h1' },
      { _id: 'tok-2', hash: 'h2' },
    ]);
    for (const profile of [MONGODB_PROFILE, FERRETDB_PROFILE]) {
      const at = new Date(Math.floor(Date.now() / 1000) * 1000);
      const result = await tokens.updateOne(credentialById(profile, 'tok-1', 'h1'), {
        $set: { lastUsedAt: at },
      });
      expect(result.matchedCount).toBe(1);
      expect((await tokens.findOne({ _id: 'tok-1' }))?.lastUsedAt).toEqual(at);
    }
    expect((await tokens.findOne({ _id: 'tok-2' }))?.lastUsedAt).toBeUndefined();
  });

  it('looks a document up with the organisation first on MongoDB and by _id alone on FerretDB, same answer', async () => {
    expect(documentById(MONGODB_PROFILE, 'org-a', 'x')).toEqual({ orgId: 'org-a', _id: 'x' });
    expect(Object.keys(documentById(MONGODB_PROFILE, 'org-a', 'x'))[0]).toBe('orgId');
    expect(documentById(FERRETDB_PROFILE, 'org-a', 'x')).toEqual({ _id: 'x' });
    const docs = connection.collection<{ _id: string; orgId: string }>('profile_lookups');
    const id = uuidv7();
    await docs.insertOne({ _id: id, orgId: 'org-a' });
    for (const profile of [MONGODB_PROFILE, FERRETDB_PROFILE]) {
      expect(await findInOrganisation(docs, id, 'org-a', profile)).toEqual({ _id: id, orgId: 'org-a' });
      expect(await findInOrganisation(docs, id, 'org-b', profile)).toBeNull();
    }
  });

  it('keeps top-level copies of nested key fields on FerretDB only, and filters on them there with the same answers', async () => {
    const doc = {
      _id: uuidv7(),
      orgId: 'org-a',
      emails: [{ valueKey: 'ann@x' }, { valueKey: 'ann@y' }, { valueKey: 'ann@x' }, { type: 'home' }],
    };
    expect(withFlatKeys(MONGODB_PROFILE, 'users', doc)).toBe(doc);
    expect(withFlatKeys(FERRETDB_PROFILE, 'users', doc)).toEqual({ ...doc, emailKeys: ['ann@x', 'ann@y'] });
    expect(withFlatKeys(FERRETDB_PROFILE, 'users', { _id: 'n', orgId: 'o' })).toEqual({
      _id: 'n',
      orgId: 'o',
      emailKeys: [],
    });
    // Other collections have no copies; another field is its own filter.
    expect(withFlatKeys(FERRETDB_PROFILE, 'groups', doc)).toBe(doc);
    expect(flatKeyField(MONGODB_PROFILE, 'users', 'emails.valueKey')).toBe('emails.valueKey');
    expect(flatKeyField(FERRETDB_PROFILE, 'users', 'emails.valueKey')).toBe('emailKeys');
    expect(flatKeyField(FERRETDB_PROFILE, 'users', 'userNameKey')).toBe('userNameKey');
    expect(profileIndexes(MONGODB_PROFILE)).toEqual([]);
    expect(profileIndexes(FERRETDB_PROFILE).map((i) => i.key)).toEqual([{ orgId: 1, emailKeys: 1 }]);

    const users = connection.collection<Record<string, unknown> & { _id: string }>('profile_flat');
    const other = { _id: uuidv7(), orgId: 'org-b', emails: [{ valueKey: 'ann@y' }] };
    await users.insertMany([
      withFlatKeys(FERRETDB_PROFILE, 'users', doc),
      withFlatKeys(FERRETDB_PROFILE, 'users', other),
    ]);
    for (const profile of [MONGODB_PROFILE, FERRETDB_PROFILE]) {
      const field = flatKeyField(profile, 'users', 'emails.valueKey');
      const ids = async (orgId: string, key: string) =>
        (await users.find({ orgId, [field]: key }).toArray()).map((d) => d._id);
      expect(await ids('org-a', 'ann@y')).toEqual([doc._id]);
      expect(await ids('org-b', 'ann@y')).toEqual([other._id]);
      expect(await ids('org-a', 'ann@z')).toEqual([]);
    }
  });
});
