import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { describe, expect, inject, it } from 'vitest';
import {
  commandShapes,
  filterShape,
  isPrefixPattern,
  recordQueryShapes,
  shapeKey,
} from '../src/query-shapes.js';

describe('filterShape', () => {
  it('keeps field names and operators, never values', () => {
    expect(filterShape({ orgId: 'o1', userNameKey: 'alice' })).toEqual({ orgId: 'eq', userNameKey: 'eq' });
    expect(filterShape({ _id: { $in: ['a', 'b'] }, at: { $lt: new Date(), $gte: new Date() } })).toEqual({
      _id: '$in',
      at: '$gte,$lt',
    });
    expect(
      filterShape({ a: { $eq: 1 }, b: null, c: { nested: 1 }, d: [1, 2], e: { $exists: false } }),
    ).toEqual({
      a: 'eq',
      b: 'eq',
      c: 'eq',
      d: 'eq',
      e: '$exists:false',
    });
    expect(filterShape({ name: { $regex: 'x', $options: 'i' } })).toEqual({ name: '$regex' });
    expect(filterShape({ name: { $regex: '^al\\.ice' } })).toEqual({ name: '$regex:prefix' });
    expect(JSON.stringify(filterShape({ secret: 'do-not-record' }))).not.toContain('do-not-record');
  });

  it('sorts keys so the same query always has the same shape', () => {
    expect(JSON.stringify(filterShape({ b: 1, a: 2 }))).toBe(JSON.stringify(filterShape({ a: 3, b: 4 })));
  });

  it('keeps $or / $and branches and $elemMatch sub-queries', () => {
    expect(
      filterShape({
        orgId: 'o',
        $or: [{ externalId: 'x' }, { userNameKey: 'y' }],
        emails: { $elemMatch: { type: 'work', valueKey: { $in: ['a'] } } },
        tags: { $elemMatch: { $gt: 3 } },
      }),
    ).toEqual({
      $or: [{ externalId: 'eq' }, { userNameKey: 'eq' }],
      emails: { $elemMatch: { type: 'eq', valueKey: '$in' } },
      orgId: 'eq',
      tags: { $elemMatch: { '': '$gt' } },
    });
  });
});

describe('isPrefixPattern: the regexes MongoDB bounds as an index range', () => {
  it.each<[unknown, string | undefined, boolean]>([
    ['^alice', undefined, true],
    ['^j', '', true],
    ['^\\.hidden', undefined, true],
    ['^a\\|b', undefined, true],
    [/^abc/, undefined, true],
  ])('%s (options %s) is a prefix', (pattern, options, expected) => {
    expect(isPrefixPattern(pattern, options)).toBe(expected);
  });

  it.each<[unknown, string | undefined, string]>([
    ['alice', undefined, 'not anchored'],
    ['^alice', 'i', 'case-insensitive'],
    [/^abc/i, undefined, 'case-insensitive RegExp'],
    ['^a|b', undefined, 'an alternation'],
    ['^', undefined, 'no literal'],
    ['^.x', undefined, 'a wildcard first'],
    ['^a*', undefined, 'an optional first literal'],
    ['^\\d+', undefined, 'a character class first'],
    ['al\\z', undefined, 'anchored at the end only (ew)'],
    [42, undefined, 'not a pattern'],
  ])('%s (options %s) is not: %s', (pattern, options) => {
    expect(isPrefixPattern(pattern, options)).toBe(false);
  });
});

describe('commandShapes', () => {
  it('normalises find with sort, projection and limit', () => {
    const [shape] = commandShapes(
      'find',
      {
        find: 'users',
        filter: { orgId: 'o', _id: { $gt: 'x' } },
        sort: { _id: 1 },
        projection: { b: 1, a: 1 },
        limit: 10,
      },
      'scim-api',
    );
    expect(shape).toEqual({
      service: 'scim-api',
      collection: 'users',
      operation: 'find',
      filter: { _id: '$gt', orgId: 'eq' },
      sort: [['_id', 1]],
      projection: ['a', 'b'],
      limit: true,
    });
  });

  it('gives one shape per statement of a bulk update or delete', () => {
    const shapes = commandShapes(
      'update',
      {
        update: 'groups',
        updates: [
          { q: { _id: 'g' }, u: { $set: { a: 1 } } },
          { q: { orgId: 'o', memberId: 'm' }, u: { $inc: { v: 1 } }, multi: true, upsert: true },
        ],
      },
      'scim-worker',
    );
    expect(shapes.map((s) => [s.filter, s.multi, s.upsert])).toEqual([
      [{ _id: 'eq' }, undefined, undefined],
      [{ memberId: 'eq', orgId: 'eq' }, true, true],
    ]);
    const deletes = commandShapes(
      'delete',
      {
        delete: 'memberships',
        deletes: [
          { q: { orgId: 'o' }, limit: 0 },
          { q: { _id: 'x' }, limit: 1 },
        ],
      },
      's',
    );
    expect(deletes.map((s) => s.multi)).toEqual([true, undefined]);
  });

  it('takes an aggregate filter and sort from its leading $match and $sort', () => {
    const [shape] = commandShapes(
      'aggregate',
      {
        aggregate: 'memberships',
        pipeline: [
          { $match: { orgId: 'o', groupId: { $in: [] } } },
          { $sort: { memberId: 1 } },
          { $group: {} },
          { $limit: 5 },
        ],
      },
      's',
    );
    expect(shape).toMatchObject({
      operation: 'aggregate',
      filter: { groupId: '$in', orgId: 'eq' },
      sort: [['memberId', 1]],
      stages: ['$match', '$sort', '$group', '$limit'],
      limit: true,
    });
  });

  it('covers findAndModify, count, distinct, insert and admin commands, and skips housekeeping', () => {
    expect(
      commandShapes(
        'findAndModify',
        { findAndModify: 'users', query: { _id: 'x' }, sort: { a: -1 } },
        's',
      )[0],
    ).toMatchObject({
      filter: { _id: 'eq' },
      sort: [['a', -1]],
      limit: true,
    });
    expect(commandShapes('count', { count: 'users', query: { orgId: 'o' } }, 's')[0]).toMatchObject({
      operation: 'count',
      filter: { orgId: 'eq' },
    });
    expect(commandShapes('distinct', { distinct: 'users', key: 'orgId', query: {} }, 's')[0]).toMatchObject({
      key: 'orgId',
      filter: {},
    });
    expect(commandShapes('insert', { insert: 'users', documents: [{ secret: 1 }] }, 's')).toEqual([
      { service: 's', collection: 'users', operation: 'insert' },
    ]);
    expect(commandShapes('createIndexes', { createIndexes: 'users', indexes: [] }, 's')[0]).toMatchObject({
      operation: 'createIndexes',
    });
    expect(commandShapes('buildInfo', { buildInfo: 1 }, 's')[0]).toEqual({
      service: 's',
      collection: '',
      operation: 'buildInfo',
    });
    for (const name of ['hello', 'ping', 'getMore', 'killCursors', 'endSessions'])
      expect(commandShapes(name, { [name]: 1 }, 's')).toEqual([]);
  });

  it('keys a shape without its service', () => {
    const [a] = commandShapes('find', { find: 'u', filter: { x: 1 } }, 'one');
    const [b] = commandShapes('find', { find: 'u', filter: { x: 2 } }, 'two');
    expect(shapeKey(a!)).toBe(shapeKey(b!));
  });
});

describe('recordQueryShapes', () => {
  it('appends each distinct shape once per process, only for included commands', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shapes-'));
    const client = new EventEmitter();
    let inside = true;
    expect(recordQueryShapes(client, { service: 'scim-api (in-process)', dir, include: () => inside })).toBe(
      true,
    );
    const find = (orgId: string) => ({ commandName: 'find', command: { find: 'users', filter: { orgId } } });
    client.emit('commandStarted', find('a'));
    client.emit('commandStarted', find('b'));
    client.emit('commandStarted', { commandName: 'ping', command: { ping: 1 } });
    inside = false;
    client.emit('commandStarted', { commandName: 'find', command: { find: 'groups', filter: {} } });
    const [file] = readdirSync(dir);
    expect(file).toBe(`scim-api_in-process_-${process.pid}.jsonl`);
    const lines = readFileSync(join(dir, file!), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { service: 'scim-api (in-process)', collection: 'users', operation: 'find', filter: { orgId: 'eq' } },
    ]);
  });

  it('tags each shape with the store profile it was chosen under, outside the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shapes-'));
    const client = new EventEmitter();
    recordQueryShapes(client, { service: 'scim-worker', dir, profile: 'mongodb' });
    client.emit('commandStarted', {
      commandName: 'find',
      command: { find: 'users', filter: { orgId: 'o', _id: 'x' } },
    });
    const [line] = readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')
      .trim()
      .split('\n');
    const shape = JSON.parse(line!);
    expect(shape).toMatchObject({ profile: 'mongodb', filter: { _id: 'eq', orgId: 'eq' } });
    expect(shapeKey(shape)).toBe(shapeKey({ ...shape, profile: 'ferretdb' }));
  });

  it("records the sort of a find as the real driver sends it (a Map), and of an aggregate's $sort", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shapes-'));
    const client = new mongoose.mongo.MongoClient(inject('mongodbUri'), {
      monitorCommands: true,
      directConnection: true,
    });
    recordQueryShapes(client, { service: 'sorts', dir });
    await client.connect();
    try {
      const users = client.db(`sorts_${process.pid}`).collection('users');
      await users.find({ orgId: 'o' }).sort({ userNameKey: 1, _id: -1 }).limit(5).toArray();
      await users.aggregate([{ $match: { orgId: 'o' } }, { $sort: { at: -1 } }]).toArray();
      await users.findOneAndUpdate({ orgId: 'o' }, { $set: { x: 1 } }, { sort: { at: 1 } });
    } finally {
      await client.db(`sorts_${process.pid}`).dropDatabase();
      await client.close();
    }
    const shapes = readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { operation: string; collection: string; sort?: unknown });
    const of = (operation: string) =>
      shapes.find((x) => x.collection === 'users' && x.operation === operation);
    expect(of('find')?.sort).toEqual([
      ['userNameKey', 1],
      ['_id', -1],
    ]);
    expect(of('aggregate')?.sort).toEqual([['at', -1]]);
    expect(of('findAndModify')?.sort).toEqual([['at', 1]]);
  });

  it('records nothing when no directory is set', () => {
    const before = process.env.SCIMBRIDGE_QUERY_SHAPES_DIR;
    delete process.env.SCIMBRIDGE_QUERY_SHAPES_DIR;
    try {
      expect(recordQueryShapes(new EventEmitter(), { service: 's' })).toBe(false);
    } finally {
      if (before !== undefined) process.env.SCIMBRIDGE_QUERY_SHAPES_DIR = before;
    }
  });
});
