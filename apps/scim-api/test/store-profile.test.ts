import { FERRETDB_PROFILE, MONGODB_PROFILE } from '@scimbridge/store';
import { branchesOf, commandShapes, shapeText, type QueryShape } from '@scimbridge/telemetry';
import type { mongo } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, client, newUser, patchOp, startHarness, type Harness } from './harness.js';

/** Collections sharded by hashed `orgId` (docs/mongodb.md): every query on them must pin the organisation. */
const QUERIES = new Set(['find', 'findAndModify', 'update', 'delete', 'count', 'distinct', 'aggregate']);
const ORGANISATION_SCOPED = new Set(['users', 'groups', 'memberships', 'audit_events', 'applied_effects']);

/** The shapes of the commands that would ask every shard of a cluster sharded by hashed `orgId`. */
function untargeted(commands: mongo.CommandStartedEvent[]): string[] {
  return commands
    .flatMap((c) => commandShapes(c.commandName, c.command as Record<string, unknown>, 'scim-api'))
    .filter((s: QueryShape) => ORGANISATION_SCOPED.has(s.collection) && QUERIES.has(s.operation))
    .filter((s) => branchesOf(s.filter).some((branch) => branch.get('orgId') !== 'eq'))
    .map((s) => shapeText(s));
}

// The store profile decides query shapes (docs/mongodb.md). The suites run on the embedded FerretDB, so the
// MongoDB profile is checked on the commands it sends, not on its answers ($elemMatch is missing there).
describe('store profile', () => {
  let detected: Harness;
  let mongodb: Harness;
  beforeAll(async () => {
    detected = await startHarness();
    mongodb = await startHarness({ storeProfile: MONGODB_PROFILE });
  });
  afterAll(async () => {
    await detected.close();
    await mongodb.close();
  });

  async function commandsOf(harness: Harness, run: () => Promise<unknown>) {
    const seen: mongo.CommandStartedEvent[] = [];
    const listener = (event: mongo.CommandStartedEvent) => seen.push(event);
    const driver = harness.connection.getClient();
    driver.on('commandStarted', listener);
    try {
      await run();
    } finally {
      driver.off('commandStarted', listener);
    }
    return seen;
  }

  it('/readyz names the detected profile and its note', async () => {
    const ready = await detected.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({
      status: 'ok',
      store: { server: 'ferretdb', source: 'buildInfo', note: FERRETDB_PROFILE.note },
    });
    const forced = await mongodb.app.inject({ method: 'GET', url: '/readyz' });
    expect(forced.json()).toMatchObject({ store: { server: 'mongodb' } });
  });

  it('on FerretDB: value filters are supersets narrowed in memory (capped) and cursors are refused for them', async () => {
    const { token } = await detected.organisation();
    const scim = client(detected.app, token);
    expect((await scim.post('/Users', newUser('a@x.example'))).statusCode).toBe(201);
    expect((await scim.post('/Users', newUser('b@y.example'))).statusCode).toBe(201);
    const filter = encodeURIComponent('emails[type eq "work" and value co "@x"]');
    const commands = await commandsOf(detected, async () => {
      const page = await scim.get(`/Users?filter=${filter}`);
      expect(page.json()).toMatchObject({ totalResults: 1, Resources: [{ userName: 'a@x.example' }] });
    });
    const find = commands.find((c) => c.commandName === 'find' && c.command.find === 'users');
    expect(JSON.stringify(find?.command.filter)).not.toContain('$elemMatch');
    expect(find?.command.limit).toBe(10_001);
    const cursor = await scim.get(`/Users?filter=${filter}&cursor`);
    expect(cursor.statusCode).toBe(400);
  });

  it('on MongoDB: value filters are exact with $elemMatch, paged by the database, and lookups carry orgId first', async () => {
    const { token, orgId } = await mongodb.organisation();
    const scim = client(mongodb.app, token);
    const created = await scim.post('/Users', newUser('c@x.example'));
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    const filter = encodeURIComponent('emails[type eq "work" and value co "@x"]');
    // FerretDB v1 refuses $elemMatch: only the command is checked here, the answer on a real MongoDB.
    const commands = await commandsOf(mongodb, () => scim.get(`/Users?filter=${filter}&count=5`));
    const find = commands.find((c) => c.commandName === 'find' && c.command.find === 'users');
    expect(JSON.stringify(find?.command.filter)).toContain('"$elemMatch"');
    expect(find?.command.limit).toBe(5);
    const reads = await commandsOf(mongodb, async () => {
      expect((await scim.get(`/Users/${id}`)).statusCode).toBe(200);
    });
    const byId = reads.find((c) => c.commandName === 'find' && c.command.find === 'users');
    expect(byId?.command.filter).toEqual({ orgId, _id: id });
    expect(Object.keys(byId?.command.filter as object)[0]).toBe('orgId');
  });

  // What an IdP does over a user's and a group's life, under the MongoDB profile (on FerretDB: the same commands,
  // answered slowly). Its shapes are also what the query-shape audit checks the FerretDB profile's lookups by `_id`
  // against (docs/query-shapes.md "Store profiles"), so this test keeps every path by id covered.
  it('on MongoDB: a whole IdP lifecycle sends no query on an organisation-scoped collection without orgId', async () => {
    const { token, orgId } = await mongodb.organisation({ plan: { scimIncluded: true, userLimit: 3 } });
    const scim = client(mongodb.app, token);
    const commands = await commandsOf(mongodb, async () => {
      const user = (await scim.post('/Users', newUser('life@x.example'))).json<{ id: string }>();
      const other = (await scim.post('/Users', newUser('other@x.example'))).json<{ id: string }>();
      expect((await scim.get(`/Users/${user.id}`)).statusCode).toBe(200);
      const lookup = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "LIFE@x.example"')}`);
      expect(lookup.json()).toMatchObject({ totalResults: 1 });
      const prefix = await scim.get(`/Users?filter=${encodeURIComponent('userName sw "LIFE"')}`);
      expect(prefix.json()).toMatchObject({ totalResults: 1, Resources: [{ id: user.id }] });
      const put = await scim.put(`/Users/${user.id}`, newUser('life@x.example', { displayName: 'Life' }));
      expect(put.statusCode).toBe(200);
      for (const active of [false, true]) {
        const patched = await scim.patch(
          `/Users/${user.id}`,
          patchOp({ op: 'replace', path: 'active', value: active }),
        );
        expect(patched.json()).toMatchObject({ active });
      }
      const group = (
        await scim.post('/Groups', { schemas: [GROUP], displayName: 'Life', members: [{ value: user.id }] })
      ).json<{ id: string }>();
      expect(
        (
          await scim.patch(
            `/Groups/${group.id}`,
            patchOp({ op: 'add', path: 'members', value: [{ value: other.id }] }),
          )
        ).statusCode,
      ).toBe(200);
      expect(
        (
          await scim.patch(
            `/Groups/${group.id}`,
            patchOp({ op: 'remove', path: `members[value eq "${user.id}"]` }),
          )
        ).statusCode,
      ).toBe(200);
      expect((await scim.get(`/Groups/${group.id}`)).json()).toMatchObject({
        members: [{ value: other.id }],
      });
      // A group's PUT is a version-conditioned replacement, like a user's.
      const renamed = await scim.put(`/Groups/${group.id}`, {
        schemas: [GROUP],
        displayName: 'Life renamed',
        members: [{ value: other.id }],
      });
      expect(renamed.json()).toMatchObject({ displayName: 'Life renamed', members: [{ value: other.id }] });
      expect((await scim.delete(`/Users/${other.id}`)).statusCode).toBe(204);
      expect((await scim.get(`/Users/${other.id}`)).statusCode).toBe(404);
      // A create with the deleted userName revives the account.
      expect((await scim.post('/Users', newUser('other@x.example'))).json()).toMatchObject({ id: other.id });
      expect((await scim.delete(`/Groups/${group.id}`)).statusCode).toBe(204);
      expect((await scim.get(`/Groups/${group.id}`)).statusCode).toBe(404);
    });
    expect(untargeted(commands)).toEqual([]);
    const byId = commands.filter(
      (c) =>
        ['update', 'delete'].includes(c.commandName) &&
        ['users', 'groups'].includes(String(c.command[c.commandName])),
    );
    // The outbox completions (an update per change, the delete of a deleted group) are among them.
    expect(byId.length).toBeGreaterThan(8);
    // The plan's user limit: counted on `{orgId, active}`, at most up to the limit.
    const count = commands.find((c) => c.commandName === 'aggregate' && c.command.aggregate === 'users')
      ?.command.pipeline as Record<string, unknown>[];
    expect(count).toEqual([
      { $match: { orgId, 'scim.managed': true, 'scim.deletedAt': null, active: { $in: [true, null] } } },
      { $limit: 3 },
      { $group: { _id: 1, n: { $sum: 1 } } },
    ]);
    // `sw` on the keyed userName: an anchored, case-sensitive prefix of the lower-cased key.
    const sw = commands.find(
      (c) => c.commandName === 'find' && JSON.stringify(c.command.filter).includes('$regex'),
    );
    expect((sw?.command.filter as Record<string, unknown> | undefined)?.userNameKey).toEqual({
      $regex: '^life',
    });
  });

  it('on FerretDB: the same lookups by id filter on `_id` alone, the one filter the server serves from an index', async () => {
    const { token } = await detected.organisation();
    const scim = client(detected.app, token);
    const id = (await scim.post('/Users', newUser('f@x.example'))).json<{ id: string }>().id;
    const commands = await commandsOf(detected, async () => {
      expect((await scim.get(`/Users/${id}`)).statusCode).toBe(200);
      expect(
        (await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })))
          .statusCode,
      ).toBe(200);
    });
    const read = commands.find((c) => c.commandName === 'find' && c.command.find === 'users');
    expect(read?.command.filter).toEqual({ _id: id });
    // The outbox completion: the entry's `$pull` once the event is stored.
    const completion = commands
      .filter((c) => c.commandName === 'update' && c.command.update === 'users')
      .map((c) => (c.command.updates as { q: unknown; u: Record<string, unknown> }[])[0]!)
      .find((u) => '$pull' in u.u);
    expect(completion?.q).toEqual({ _id: id });
  });
});
