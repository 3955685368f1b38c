import { Outbox, type AuditEventDocument } from '@scimbridge/store';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { client, GROUP, newUser, patchOp, startHarness, type Harness } from './harness.js';

/**
 * Crash consistency of every write path (issue 11): the api "dies" at each database call of the path in turn —
 * that call and every later one of the process fail — then the outbox relay runs once. Whatever the point of
 * death, the stored state and the audit log agree: a visible change has exactly one event, an event describes
 * a change that happened, and nothing is left pending.
 */

const STORE = new Set(['users', 'groups', 'memberships', 'audit_events']);
const CALLS = new Set([
  'find',
  'findOne',
  'findOneAndUpdate',
  'insertOne',
  'insertMany',
  'replaceOne',
  'updateOne',
  'updateMany',
  'deleteOne',
  'deleteMany',
  'countDocuments',
]);

class Crash extends Error {
  constructor() {
    super('injected crash: the process died here');
  }
}

/** The connection as a process that dies at its `failAt`-th store call: that call and all after it throw. */
function dyingConnection(connection: Connection, failAt: number) {
  const state = { calls: 0, dead: false };
  const wrapCollection = (collection: object) =>
    new Proxy(collection, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        if (!CALLS.has(String(property))) return value.bind(target);
        return (...args: unknown[]) => {
          state.calls += 1;
          if (state.dead || state.calls >= failAt) {
            state.dead = true;
            throw new Crash();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const proxy = new Proxy(connection, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property === 'collection')
        return (name: string, ...rest: unknown[]) => {
          const collection = (target.collection as (...a: unknown[]) => object)(name, ...rest);
          return STORE.has(name) ? wrapCollection(collection) : collection;
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { connection: proxy, state };
}

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ jobs: null });
});
afterAll(async () => {
  await h?.close();
});

async function dyingApp(
  failAt: number,
): Promise<{ app: FastifyInstance; state: { calls: number; dead: boolean } }> {
  const { connection, state } = dyingConnection(h.connection, failAt);
  const app = await buildApp({
    registry: new Registry(),
    readiness: [],
    logLevel: 'silent',
    connection,
    redis: h.redis,
    jobs: null,
    broadcastRelayMs: 3_600_000,
  });
  return { app, state };
}

const events = (orgId: string, resourceId: string): Promise<AuditEventDocument[]> =>
  h.connection
    .collection<AuditEventDocument>('audit_events')
    .find({ orgId, resourceId })
    .sort({ _id: 1 })
    .toArray();

interface Scenario {
  name: string;
  /** Builds the state before the write with the healthy api; returns what `write` and `check` need. */
  setup(api: ReturnType<typeof client>): Promise<Record<string, string>>;
  /** The write under test, through the dying api. */
  write(api: ReturnType<typeof client>, ids: Record<string, string>): Promise<unknown>;
  /** After the relay: whether the change happened, and the events it must then have (exactly these). */
  check(
    ids: Record<string, string>,
    orgId: string,
  ): Promise<{ happened: boolean; action: string; resourceId: string }>;
}

const users = () => h.connection.collection('users');
const groups = () => h.connection.collection('groups');
const memberships = () => h.connection.collection('memberships');

let serial = 0;
const unique = (prefix: string) => `${prefix}-${(serial += 1)}-${Date.now().toString(36)}@example.com`;

const scenarios: Scenario[] = [
  {
    name: 'user create',
    setup: async () => ({ userName: unique('create') }),
    write: (api, ids) => api.post('/Users', newUser(ids.userName!)),
    async check(ids, orgId) {
      const doc = await users().findOne({ orgId, userNameKey: ids.userName!.toLowerCase() });
      return { happened: Boolean(doc), action: 'user.created', resourceId: String(doc?._id ?? 'none') };
    },
  },
  {
    name: 'user replace',
    async setup(api) {
      const created = await api.post('/Users', newUser(unique('put')));
      return { id: created.json().id, userName: created.json().userName };
    },
    write: (api, ids) => api.put(`/Users/${ids.id}`, newUser(ids.userName!, { displayName: 'Replaced' })),
    async check(ids) {
      const doc = await users().findOne({ _id: ids.id as never });
      return { happened: doc?.displayName === 'Replaced', action: 'user.updated', resourceId: ids.id! };
    },
  },
  {
    name: 'user patch (deactivate)',
    async setup(api) {
      const created = await api.post('/Users', newUser(unique('patch')));
      return { id: created.json().id };
    },
    write: (api, ids) =>
      api.patch(`/Users/${ids.id}`, patchOp({ op: 'replace', path: 'active', value: false })),
    async check(ids) {
      const doc = await users().findOne({ _id: ids.id as never });
      return { happened: doc?.active === false, action: 'user.deactivated', resourceId: ids.id! };
    },
  },
  {
    name: 'user delete (member of a group)',
    async setup(api) {
      const user = await api.post('/Users', newUser(unique('delete')));
      const group = await api.post('/Groups', {
        schemas: [GROUP],
        displayName: unique('g-del'),
        members: [{ value: user.json().id }],
      });
      return { id: user.json().id, groupId: group.json().id };
    },
    write: (api, ids) => api.delete(`/Users/${ids.id}`),
    async check(ids) {
      const doc = await users().findOne({ _id: ids.id as never });
      const happened = Boolean((doc?.scim as { deletedAt?: unknown } | undefined)?.deletedAt);
      const rows = await memberships().countDocuments({ memberId: ids.id });
      // The deletion's effect: the deleted user is in no group, and a user still visible is still a member.
      expect(rows).toBe(happened ? 0 : 1);
      return { happened, action: 'user.deleted', resourceId: ids.id! };
    },
  },
  {
    name: 'group create with a member',
    async setup(api) {
      const user = await api.post('/Users', newUser(unique('gc')));
      return { userId: user.json().id, displayName: unique('g-create') };
    },
    write: (api, ids) =>
      api.post('/Groups', {
        schemas: [GROUP],
        displayName: ids.displayName,
        members: [{ value: ids.userId }],
      }),
    async check(ids, orgId) {
      const doc = await groups().findOne({ orgId, displayNameKey: ids.displayName!.toLowerCase() });
      if (doc) expect(await memberships().countDocuments({ groupId: doc._id })).toBe(1);
      return { happened: Boolean(doc), action: 'group.created', resourceId: String(doc?._id ?? 'none') };
    },
  },
  {
    name: 'group replace (rename and members)',
    async setup(api) {
      const a = await api.post('/Users', newUser(unique('gr-a')));
      const b = await api.post('/Users', newUser(unique('gr-b')));
      const group = await api.post('/Groups', {
        schemas: [GROUP],
        displayName: unique('g-put'),
        members: [{ value: a.json().id }],
      });
      return { id: group.json().id, a: a.json().id, b: b.json().id, renamed: unique('g-put-renamed') };
    },
    write: (api, ids) =>
      api.put(`/Groups/${ids.id}`, {
        schemas: [GROUP],
        displayName: ids.renamed,
        members: [{ value: ids.b }],
      }),
    async check(ids) {
      const doc = await groups().findOne({ _id: ids.id as never });
      const happened = doc?.displayName === ids.renamed;
      const members = (await memberships().find({ groupId: ids.id }).toArray()).map((m) => m.memberId);
      expect(members).toEqual(happened ? [ids.b] : [ids.a]);
      return { happened, action: 'group.updated', resourceId: ids.id! };
    },
  },
  {
    name: 'group member add (PATCH)',
    async setup(api) {
      const user = await api.post('/Users', newUser(unique('gm')));
      const group = await api.post('/Groups', { schemas: [GROUP], displayName: unique('g-patch') });
      return { id: group.json().id, userId: user.json().id, version: String(group.json().meta.version) };
    },
    write: (api, ids) =>
      api.patch(`/Groups/${ids.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: ids.userId }] })),
    async check(ids) {
      const happened = (await memberships().countDocuments({ groupId: ids.id, memberId: ids.userId })) === 1;
      const doc = await groups().findOne({ _id: ids.id as never });
      // The group's version moved on exactly when its members changed.
      expect(doc?.meta.version).toBe(happened ? 2 : 1);
      return { happened, action: 'group.members.changed', resourceId: ids.id! };
    },
  },
  {
    name: 'group member remove (PATCH)',
    async setup(api) {
      const user = await api.post('/Users', newUser(unique('gmr')));
      const group = await api.post('/Groups', {
        schemas: [GROUP],
        displayName: unique('g-remove'),
        members: [{ value: user.json().id }],
      });
      return { id: group.json().id, userId: user.json().id };
    },
    write: (api, ids) =>
      api.patch(`/Groups/${ids.id}`, patchOp({ op: 'remove', path: `members[value eq "${ids.userId}"]` })),
    async check(ids) {
      const happened = (await memberships().countDocuments({ groupId: ids.id, memberId: ids.userId })) === 0;
      return { happened, action: 'group.members.changed', resourceId: ids.id! };
    },
  },
  {
    name: 'group delete',
    async setup(api) {
      const user = await api.post('/Users', newUser(unique('gd')));
      const group = await api.post('/Groups', {
        schemas: [GROUP],
        displayName: unique('g-delete'),
        members: [{ value: user.json().id }],
      });
      return { id: group.json().id };
    },
    write: (api, ids) => api.delete(`/Groups/${ids.id}`),
    async check(ids) {
      const doc = await groups().findOne({ _id: ids.id as never });
      const rows = await memberships().countDocuments({ groupId: ids.id });
      expect(rows).toBe(doc ? 1 : 0);
      return { happened: !doc, action: 'group.deleted', resourceId: ids.id! };
    },
  },
];

describe('crash consistency: the api dies at each database call of a write path in turn', () => {
  for (const scenario of scenarios) {
    it(scenario.name, { timeout: 120_000 }, async () => {
      const { orgId, token } = await h.organisation({ defaultGroup: 'Everyone' });
      const healthy = client(h.app, token);
      const outbox = new Outbox(h.connection);
      const points: string[] = [];
      for (let failAt = 1; ; failAt += 1) {
        const ids = await scenario.setup(healthy);
        const before = await h.connection.collection('audit_events').countDocuments({ orgId });
        const { app, state } = await dyingApp(failAt);
        let status: number | string;
        try {
          status = ((await scenario.write(client(app, token), ids)) as { statusCode: number }).statusCode;
        } catch (error) {
          status = (error as Error).message;
        } finally {
          await app.close();
        }
        // Recovery: the relay completes whatever the dead process left pending.
        await outbox.relayOnce({ minAgeMs: 0 });
        const result = await scenario.check(ids, orgId);
        const own = (await events(orgId, result.resourceId)).filter((e) => e.action === result.action);
        points.push(`${failAt}:${status}:${result.happened ? 'changed' : 'unchanged'}`);
        // A visible change has exactly one event; no event describes a change that did not happen.
        expect(own, `${scenario.name}, death at call ${failAt}`).toHaveLength(result.happened ? 1 : 0);
        if (result.happened) expect(own[0]!.dispatchedAt).toBeNull();
        // Nothing is left pending, and the death added no other event.
        for (const name of ['users', 'groups'])
          expect(
            await h.connection.collection(name).countDocuments({ orgId, 'outbox.0': { $exists: true } }),
          ).toBe(0);
        const after = await h.connection.collection('audit_events').countDocuments({ orgId });
        expect(after - before).toBe(result.happened ? 1 : 0);
        // The request got past every call: each await of the path has been a point of death.
        if (!state.dead) {
          expect(result.happened, `${scenario.name} without a crash`).toBe(true);
          break;
        }
      }
      expect(points.length, points.join(' ')).toBeGreaterThan(2);
    });
  }
});
