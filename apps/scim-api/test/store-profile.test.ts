import { FERRETDB_PROFILE, MONGODB_PROFILE } from '@scimbridge/store';
import type { mongo } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, newUser, startHarness, type Harness } from './harness.js';

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
});
